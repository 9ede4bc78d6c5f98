"""Home banners in the staff console: administrators add, edit, order, schedule and hide them.

Every change goes to the audit log. A banner of the tenant file that is edited here keeps
this content through later builds (runtime/filecontent.py); until an image is uploaded it
shows the file's image, with the build's smaller copies.
"""

from __future__ import annotations

import io

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from PIL import Image
from sqlalchemy import func, select

from .. import access, storage, uploads
from ..banners import (
    KIND,
    Banner,
    file_banners,
    make_copies,
    remove_image,
    slide,
    synced,
    today,
)
from ..extensions import db
from ..models import utcnow
from . import admin_required, bp
from .forms import BannerForm, ButtonForm

IMAGE_MAX_BYTES = 5 * 1024 * 1024
IMAGE_MAX_SIDE = 1920  # the widest copy a banner needs (a wide screen at 1x, a laptop at 2x)
LISTED = (select(Banner).where(Banner.deleted_at.is_(None))
          .order_by(Banner.position, Banner.id))


def _audit(action: str, banner: Banner) -> None:
    access.audit(current_user, action, None, _("Banner: %(text)s", text=banner.alt))


def _banner(banner_id: int) -> Banner:
    synced()
    banner = db.session.get(Banner, banner_id)
    if banner is None or banner.deleted_at is not None:
        abort(404)
    return banner


def _status(banner: Banner, day) -> str:
    if banner.hidden:
        return "hidden"
    if banner.starts_on and banner.starts_on > day:
        return "scheduled"
    if banner.ends_on and banner.ends_on < day:
        return "ended"
    return "shown"


@bp.get("/banners")
@admin_required
def banners():
    synced()  # the first read after a build applies the tenant file's banners
    rows = db.session.scalars(LISTED).all()
    files, day = file_banners(), today()
    listed = [(b, slide(b, files), _status(b, day)) for b in rows]
    return render_template("staff/banners.html", banners=listed, in_file=set(files),
                           form=ButtonForm())


def _store(form: BannerForm) -> tuple[str, int, int] | None:
    """The uploaded image, checked and stored: (name, width, height); None when none was sent
    or it was refused (the reason is then on the field)."""
    sent = form.image.data
    if not sent or not sent.filename:
        return None
    try:
        stored = uploads.save_image(sent, KIND, max_bytes=IMAGE_MAX_BYTES,
                                    max_side=IMAGE_MAX_SIDE)
    except uploads.UploadError as exc:
        form.image.errors = [*form.image.errors, str(exc)]
        return None
    with Image.open(io.BytesIO(storage.read(KIND, stored.name))) as img:
        width, height = img.size
    make_copies(stored.name, width)
    return stored.name, width, height


def _edit(banner: Banner, form: BannerForm, *, is_new: bool):
    if form.validate_on_submit():
        stored = _store(form)
        if is_new and stored is None and not form.image.errors:
            form.image.errors = [_("Choose the banner's image.")]
        if not form.image.errors:
            replaced = _apply(banner, form, stored)
            if is_new:
                last = db.session.scalar(select(func.max(Banner.position)))
                banner.position = 0 if last is None else last + 1
                db.session.add(banner)
            _audit("content_added" if is_new else "content_edited", banner)
            db.session.commit()
            remove_image(*replaced)  # once no row names it
            flash(_("Banner saved."), "success")
            return redirect(url_for("staff.banners"))
    status = 400 if request.method == "POST" else 200
    preview = None if is_new else slide(banner, file_banners())
    return render_template("staff/banner_form.html", form=form, banner=banner, is_new=is_new,
                           preview=preview), status


def _apply(banner: Banner, form: BannerForm,
           stored: tuple[str, int, int] | None) -> tuple[str | None, int | None]:
    """Apply the form; returns the stored image (name, width) it replaces, to remove after
    the commit."""
    replaced: tuple[str | None, int | None] = (None, None)
    banner.alt = form.alt.data
    banner.link = form.link.data or None
    banner.starts_on = form.starts_on.data
    banner.ends_on = form.ends_on.data
    if stored is not None or (form.file_image.data and banner.from_file):
        replaced = (banner.image, banner.width)
        banner.image, banner.width, banner.height = stored or (None, None, None)
    banner.edited_by(current_user)
    return replaced


@bp.route("/banners/new", methods=["GET", "POST"])
@admin_required
def banner_new():
    synced()  # the file's banners first: a new one goes after them
    return _edit(Banner(), BannerForm(), is_new=True)


@bp.route("/banners/<int:banner_id>", methods=["GET", "POST"])
@admin_required
def banner_edit(banner_id: int):
    banner = _banner(banner_id)
    form = BannerForm(obj=banner) if request.method == "GET" else BannerForm()
    return _edit(banner, form, is_new=False)


def _acted(banner_id: int) -> Banner:
    """The banner a list button acts on, after its CSRF check (a forged post is refused)."""
    banner = _banner(banner_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    return banner


@bp.post("/banners/<int:banner_id>/move/<direction>")
@admin_required
def banner_move(banner_id: int, direction: str):
    if direction not in ("up", "down"):
        abort(404)
    banner = _acted(banner_id)
    rows = db.session.scalars(LISTED).all()
    i = rows.index(banner)
    j = i - 1 if direction == "up" else i + 1
    if 0 <= j < len(rows):
        rows[i], rows[j] = rows[j], rows[i]
        for position, row in enumerate(rows):
            row.position = position
        _audit("content_moved", banner)
        db.session.commit()
    return redirect(url_for("staff.banners") + f"#banner-{banner.id}")


@bp.post("/banners/<int:banner_id>/visibility")
@admin_required
def banner_visibility(banner_id: int):
    banner = _acted(banner_id)
    banner.hidden = not banner.hidden
    _audit("content_hidden" if banner.hidden else "content_shown", banner)
    db.session.commit()
    flash(_("The banner is hidden from clients.") if banner.hidden
          else _("The banner is shown to clients again."), "success")
    return redirect(url_for("staff.banners") + f"#banner-{banner.id}")


@bp.route("/banners/<int:banner_id>/delete", methods=["GET", "POST"])
@admin_required
def banner_delete(banner_id: int):
    """Confirm, then delete; a banner of the tenant file stays deleted through rebuilds."""
    banner = _banner(banner_id)
    form = ButtonForm()
    if form.validate_on_submit():
        _audit("content_deleted", banner)
        stored = (banner.image, banner.width)
        if banner.from_file:
            banner.deleted_at = utcnow()
            banner.image = banner.width = banner.height = None
        else:
            db.session.delete(banner)
        db.session.commit()
        remove_image(*stored)  # once the row no longer names it
        flash(_("Banner deleted."), "success")
        return redirect(url_for("staff.banners"))
    status = 400 if request.method == "POST" else 200
    return render_template("staff/banner_delete.html", form=form, banner=banner,
                           preview=slide(banner, file_banners())), status
