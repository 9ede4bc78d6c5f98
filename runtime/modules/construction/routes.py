from __future__ import annotations

from datetime import date
from itertools import groupby

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
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import DateField, IntegerField, MultipleFileField, TextAreaField
from wtforms.validators import DataRequired, NumberRange, Optional

from ... import pagecache, ratelimit, richtext, storage, uploads
from ...erp.models import Development
from ...erp.scope import scope_of
from ...extensions import db
from ...inputs import PortalForm, whole_number
from ...staff import staff_required
from . import bp
from .models import ConstructionPhoto, ConstructionUpdate

DEFAULT_PHASES = ("Fundação", "Estrutura", "Alvenaria", "Instalações", "Acabamento")
PHASE_ROWS = 8


def _history() -> int:
    return current_app.extensions["portal"]["modules"]["construction"]["history"]


def _developments() -> list[Development]:
    scope = scope_of(current_user)
    query = select(Development).order_by(Development.name)
    if not scope.everything:
        if not scope.development_ids:
            return []
        query = query.where(Development.id.in_(scope.development_ids))
    return db.session.scalars(query).all()


@bp.get("/construction")
@login_required
def index():
    developments = _developments()
    if len(developments) == 1:
        return redirect(url_for("construction.development", development_id=developments[0].id))
    return render_template("construction/index.html", developments=developments)


def _visible_updates(development_id: int) -> list[ConstructionUpdate]:
    """The latest `history` updates, newest first, with their photos (two queries)."""
    limit = None if current_user.is_staff else _history()
    query = (select(ConstructionUpdate).options(selectinload(ConstructionUpdate.photos))
             .where(ConstructionUpdate.development_id == development_id)
             .order_by(ConstructionUpdate.reported_on.desc(), ConstructionUpdate.id.desc()))
    return db.session.scalars(query.limit(limit) if limit else query).all()


@bp.get("/construction/<int:development_id>")
@login_required
def development(development_id: int):
    if not scope_of(current_user).development(development_id):
        abort(404)
    dev = db.get_or_404(Development, development_id)
    # the updates and photos: the same for every client of the development (staff see all)
    body = pagecache.fragment("construction.development",
                              lambda: (development_id, current_user.is_staff),
                              lambda: _development_body(development_id))
    return render_template("construction/development.html", development=dev, body=body,
                           others=len(_developments()) > 1)


def _development_body(development_id: int) -> str:
    updates = _visible_updates(development_id)
    photos = [(u.reported_on, p) for u in updates for p in u.photos]
    by_month = [(key, [p for _, p in group]) for key, group in
                groupby(photos, key=lambda item: date(item[0].year, item[0].month, 1))]
    return render_template("construction/_development_body.html", updates=updates,
                           latest=updates[0] if updates else None, by_month=by_month)


@bp.get("/construction/photos/<int:photo_id>/<any(thumb, full):size>")
@login_required
def photo(photo_id: int, size: str):
    found = db.session.execute(
        select(ConstructionPhoto, ConstructionUpdate.development_id)
        .join(ConstructionUpdate).where(ConstructionPhoto.id == photo_id)).first()
    if found is None or not scope_of(current_user).development(found[1]):
        abort(404)
    picture = found[0]
    if not current_user.is_staff and picture.update_id not in {
            u.id for u in _visible_updates(found[1])}:
        abort(404)  # older updates are not shown to clients
    name = picture.thumbnail if size == "thumb" else picture.image
    response = storage.serve("construction", name, mimetype=picture.mimetype, max_age=3600)
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


# -- staff -------------------------------------------------------------------------------

class UpdateForm(PortalForm):
    reported_on = DateField(_l("Date"), validators=[DataRequired()])
    overall = IntegerField(_l("Overall progress (%)"),
                           validators=[DataRequired(), NumberRange(min=0, max=100)])
    text = TextAreaField(_l("What happened"), validators=[Optional()])
    videos = TextAreaField(_l("YouTube videos (one address per line)"), validators=[Optional()])
    photos = MultipleFileField(_l("Photos"), description=_l(
        "JPEG, PNG or WebP; choose several at once. Location data is removed."))


def _phases_from(form) -> tuple[list[dict], list[str]]:
    phases, errors = [], []
    for i in range(PHASE_ROWS):
        name = request.form.get(f"phase_name_{i}", "").strip()[:60]
        value = request.form.get(f"phase_percent_{i}", "").strip()
        if not name and not value:
            continue
        percent = whole_number(value, 100, minimum=0)
        if not name or percent is None:
            errors.append(_("Each phase needs a name and a percentage from 0 to 100."))
            continue
        phases.append({"name": name, "percent": percent})
    return phases, errors


def _videos_from(text: str) -> tuple[list[str], list[str]]:
    videos, errors = [], []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        embed = richtext.youtube_embed_url(line)
        if embed is None:
            errors.append(_("Not a YouTube video address: %(url)s", url=line.strip()))
        else:
            videos.append(embed)
    return videos, errors


@bp.route("/staff/developments/<int:development_id>/updates/new", methods=["GET", "POST"])
@ratelimit.limited("upload")
@staff_required
def staff_new_update(development_id: int):
    dev = db.get_or_404(Development, development_id)
    previous = db.session.scalar(select(ConstructionUpdate).where(
        ConstructionUpdate.development_id == development_id)
        .order_by(ConstructionUpdate.reported_on.desc()).limit(1))
    form = UpdateForm()
    if request.method == "GET":
        form.reported_on.data = date.today()
        form.overall.data = previous.overall if previous else 0
    phases = previous.phases if previous else [{"name": n, "percent": 0} for n in DEFAULT_PHASES]
    errors: list[str] = []
    if form.validate_on_submit():
        phases, errors = _phases_from(form)
        videos, video_errors = _videos_from(form.videos.data)
        errors += video_errors
        stored = []
        if not errors:
            try:
                stored = [uploads.save_photo(f, "construction")
                          for f in request.files.getlist("photos") if f and f.filename]
            except uploads.UploadError as exc:
                errors.append(str(exc))
        if not errors:
            update = ConstructionUpdate(development_id=dev.id, reported_on=form.reported_on.data,
                                        overall=form.overall.data, phases=phases,
                                        text=(form.text.data or "").strip(), videos=videos,
                                        author_id=current_user.id)
            update.photos = [ConstructionPhoto(image=s.image, thumbnail=s.thumbnail,
                                               mimetype=s.mimetype) for s in stored]
            db.session.add(update)
            db.session.commit()
            flash(_("Construction update published with %(n)d photo(s).", n=len(stored)),
                  "success")
            return redirect(url_for("property.staff_development", development_id=dev.id))
    status = 400 if request.method == "POST" else 200
    rows = (phases + [{"name": "", "percent": ""}] * PHASE_ROWS)[:PHASE_ROWS]
    return render_template("construction/staff_update.html", form=form, development=dev,
                           rows=rows, errors=errors), status
