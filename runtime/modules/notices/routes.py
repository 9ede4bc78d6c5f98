from __future__ import annotations

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from ... import pagecache, richtext, storage, uploads
from ...erp.models import Development
from ...extensions import db
from ...i18n import to_local, to_utc
from ...inputs import page_arg
from ...models import utcnow
from ...paging import rows_page
from ...staff import staff_required
from . import bp
from .forms import NoticeForm
from .mailing import emailed, sync_email
from .models import Notice, audience, visible_to

THUMB_MAX_BYTES = 5 * 1024 * 1024


def _settings() -> dict:
    return current_app.extensions["portal"]["modules"]["notices"]


@bp.get("/notices")
@login_required
def index():
    per_page = _settings()["per_page"]
    number = page_arg(per_page)
    # the list: the same for everyone of the reader's audience, so kept once for them all
    listing = pagecache.fragment(
        "notices.index", lambda: (audience(current_user), request.query_string),
        lambda: _listing(number, per_page))
    return render_template("notices/index.html", listing=listing)


def _listing(number: int, per_page: int) -> str:
    rows, params = visible_to(current_user, "page")
    count = visible_to(current_user, "count")[0]  # the same parameters
    page = rows_page(number, per_page, rows=rows, counting=count, params=params)
    return render_template("notices/_list.html", page=page, timeline=_settings()["timeline"])


def _visible_or_404(notice_id: int) -> Notice:
    query, params = visible_to(current_user, "one", every_tie=True)
    notice = db.session.scalar(query, {**params, "notice_id": notice_id})
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
    response = storage.serve("notices", notice.thumbnail, max_age=3600)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


# -- staff ---------------------------------------------------------------------------------

@bp.get("/staff/notices")
@staff_required
def staff_list():
    query = (select(Notice).options(selectinload(Notice.developments))
             .order_by(Notice.publish_from.desc(), Notice.id.desc()))
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
        form.roles.data = notice.roles
        form.developments.data = [d.id for d in notice.developments]
        form.send_email.data = notice.send_email
    return _edit(notice, form, is_new=False)


def _edit(notice: Notice, form: NoticeForm, *, is_new: bool):
    developments = db.session.scalars(select(Development).order_by(Development.name)).all()
    form.developments.choices = [SelectChoice(d.id, d.name) for d in developments]
    if form.validate_on_submit():
        upload = request.files.get(form.thumbnail.name)
        try:
            stored = (uploads.save_image(upload, "notices", max_bytes=THUMB_MAX_BYTES)
                      if upload and upload.filename else None)
        except uploads.UploadError as exc:
            form.thumbnail.errors = [str(exc)]
        else:
            _apply(notice, form, stored, developments)
            if is_new:
                notice.author_id = current_user.id
                db.session.add(notice)
            db.session.flush()
            queued = sync_email(notice)
            db.session.commit()
            flash(_("Notice saved."), "success")
            if queued:
                flash(ngettext("An e-mail to %(num)d client is queued.",
                               "E-mails to %(num)d clients are queued.", queued), "info")
            return redirect(url_for("notices.staff_list"))
    status = 400 if request.method == "POST" else 200
    sent = 0 if is_new else emailed(notice.id)
    if sent:  # in the box's own description, so a screen reader reads it with the box
        form.send_email.description = " ".join((str(form.send_email.description), ngettext(
            "Already e-mailed to %(num)d client: only clients not yet e-mailed will receive it.",
            "Already e-mailed to %(num)d clients: only clients not yet e-mailed will receive it.",
            sent)))
    return render_template("notices/staff_form.html", form=form, notice=notice,
                           is_new=is_new, has_developments=bool(developments)), status


def _apply(notice: Notice, form: NoticeForm, stored, developments: list[Development]) -> None:
    notice.title = form.title.data.strip()
    notice.summary = form.summary.data.strip()
    notice.content_html = richtext.clean(form.content.data or "")
    notice.publish_from = to_utc(form.publish_from.data)
    notice.publish_until = to_utc(form.publish_until.data)
    notice.active = form.active.data
    notice.for_buyers = "buyers" in form.roles.data
    notice.for_syndics = "syndics" in form.roles.data
    chosen = set(form.developments.data)  # only listed ids pass the form's choices
    notice.developments = [d for d in developments if d.id in chosen]
    notice.all_developments = not chosen
    notice.send_email = form.send_email.data
    if stored is not None or form.remove_thumbnail.data:
        uploads.remove("notices", notice.thumbnail)
        notice.thumbnail = stored.name if stored else None


@bp.post("/staff/notices/<int:notice_id>/toggle")
@staff_required
def staff_toggle(notice_id: int):
    notice = db.get_or_404(Notice, notice_id)
    notice.active = not notice.active
    queued = sync_email(notice)
    db.session.commit()
    flash(_("Notice activated.") if notice.active else _("Notice deactivated."), "success")
    if queued:
        flash(ngettext("An e-mail to %(num)d client is queued.",
                       "E-mails to %(num)d clients are queued.", queued), "info")
    return redirect(url_for("notices.staff_list"))
