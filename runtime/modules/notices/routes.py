from __future__ import annotations

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select

from ... import richtext, uploads
from ...extensions import db
from ...i18n import to_local, to_utc
from ...inputs import page_arg
from ...models import utcnow
from ...staff import staff_required
from . import bp
from .forms import NoticeForm
from .models import Notice, visible_now

THUMB_MAX_BYTES = 5 * 1024 * 1024


def _settings() -> dict:
    return current_app.extensions["portal"]["modules"]["notices"]


@bp.get("/notices")
@login_required
def index():
    per_page = _settings()["per_page"]
    page = db.paginate(visible_now(), page=page_arg(per_page), per_page=per_page,
                       error_out=False, count=True)
    return render_template("notices/index.html", page=page, timeline=_settings()["timeline"])


def _visible_or_404(notice_id: int) -> Notice:
    notice = db.session.scalar(visible_now().where(Notice.id == notice_id))
    if notice is None:
        abort(404)
    return notice


@bp.get("/notices/<int:notice_id>")
@login_required
def show(notice_id: int):
    notice = (db.get_or_404(Notice, notice_id) if current_user.is_staff
              else _visible_or_404(notice_id))
    return render_template("notices/show.html", notice=notice)


@bp.get("/notices/<int:notice_id>/thumbnail")
@login_required
def thumbnail(notice_id: int):
    notice = (db.get_or_404(Notice, notice_id) if current_user.is_staff
              else _visible_or_404(notice_id))
    if not notice.thumbnail:
        abort(404)
    response = send_from_directory(uploads.upload_dir("notices"), notice.thumbnail,
                                   max_age=3600)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


# -- staff ---------------------------------------------------------------------------------

@bp.get("/staff/notices")
@staff_required
def staff_list():
    query = select(Notice).order_by(Notice.publish_from.desc(), Notice.id.desc())
    text = request.args.get("q", "").strip()
    if text:
        like = f"%{text.lower()}%"
        query = query.where(or_(func.lower(Notice.title).like(like),
                                func.lower(Notice.summary).like(like)))
    page = db.paginate(query, page=page_arg(20), per_page=20, error_out=False)
    return render_template("notices/staff_list.html", page=page, q=text, now=utcnow())


@bp.route("/staff/notices/new", methods=["GET", "POST"])
@staff_required
def staff_new():
    notice = Notice(active=True)
    form = NoticeForm()
    if request.method == "GET":
        form.publish_from.data = to_local(utcnow()).replace(second=0, microsecond=0)
    return _edit(notice, form, is_new=True)


@bp.route("/staff/notices/<int:notice_id>/edit", methods=["GET", "POST"])
@staff_required
def staff_edit(notice_id: int):
    notice = db.get_or_404(Notice, notice_id)
    form = NoticeForm(obj=None)
    if request.method == "GET":
        form.title.data, form.summary.data = notice.title, notice.summary
        form.content.data = notice.content_html
        form.publish_from.data = to_local(notice.publish_from)
        form.publish_until.data = to_local(notice.publish_until)
        form.active.data = notice.active
    return _edit(notice, form, is_new=False)


def _edit(notice: Notice, form: NoticeForm, *, is_new: bool):
    if form.validate_on_submit():
        upload = request.files.get(form.thumbnail.name)
        try:
            stored = (uploads.save_image(upload, "notices", max_bytes=THUMB_MAX_BYTES)
                      if upload and upload.filename else None)
        except uploads.UploadError as exc:
            form.thumbnail.errors = [str(exc)]
        else:
            _apply(notice, form, stored)
            if is_new:
                notice.author_id = current_user.id
                db.session.add(notice)
            db.session.commit()
            flash(_("Notice saved."), "success")
            return redirect(url_for("notices.staff_list"))
    status = 400 if request.method == "POST" else 200
    return render_template("notices/staff_form.html", form=form, notice=notice,
                           is_new=is_new), status


def _apply(notice: Notice, form: NoticeForm, stored) -> None:
    notice.title = form.title.data.strip()
    notice.summary = form.summary.data.strip()
    notice.content_html = richtext.clean(form.content.data or "")
    notice.publish_from = to_utc(form.publish_from.data)
    notice.publish_until = to_utc(form.publish_until.data)
    notice.active = form.active.data
    if stored is not None or form.remove_thumbnail.data:
        uploads.remove("notices", notice.thumbnail)
        notice.thumbnail = stored.name if stored else None


@bp.post("/staff/notices/<int:notice_id>/toggle")
@staff_required
def staff_toggle(notice_id: int):
    notice = db.get_or_404(Notice, notice_id)
    notice.active = not notice.active
    db.session.commit()
    flash(_("Notice activated.") if notice.active else _("Notice deactivated."), "success")
    return redirect(url_for("notices.staff_list"))
