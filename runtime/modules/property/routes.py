from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from sqlalchemy import func, select
from wtforms import BooleanField, DateField, TextAreaField
from wtforms.validators import Optional

from ... import richtext, uploads
from ...erp.models import Development, SyndicDevelopment, Unit
from ...extensions import db
from ...inputs import PortalForm, whole_number
from ...models import User
from ...staff import staff_required
from .. import parts
from . import bp


class DevelopmentForm(PortalForm):
    delivery_forecast = DateField(_l("Expected delivery"), validators=[Optional()])
    description = TextAreaField(_l("Description"))
    photo = FileField(_l("Photo"), description=_l("JPEG, PNG or WebP; shown on My unit."))
    remove_photo = BooleanField(_l("Remove the current photo"))


@bp.get("/staff/developments")
@staff_required
def staff_developments():
    rows = db.session.execute(
        select(Development, func.count(Unit.id)).outerjoin(Unit)
        .group_by(Development.id).order_by(Development.name)).all()
    return render_template("property/staff_developments.html", rows=rows)


@bp.route("/staff/developments/<int:development_id>", methods=["GET", "POST"])
@staff_required
def staff_development(development_id: int):
    dev = db.get_or_404(Development, development_id)
    form = DevelopmentForm()
    if request.method == "GET":
        form.delivery_forecast.data = dev.delivery_forecast
        form.description.data = dev.description_html
    if form.validate_on_submit():
        upload = request.files.get("photo")
        try:
            stored = (uploads.save_image(upload, "developments", max_side=1600)
                      if upload and upload.filename else None)
        except uploads.UploadError as exc:
            form.photo.errors = [str(exc)]
        else:
            dev.delivery_forecast = form.delivery_forecast.data
            dev.description_html = richtext.clean(form.description.data or "")
            if stored is not None or form.remove_photo.data:
                uploads.remove("developments", dev.photo)
                dev.photo = stored.name if stored else None
            db.session.commit()
            flash(_("Development saved."), "success")
            return redirect(url_for("property.staff_development", development_id=dev.id))
    status = 400 if request.method == "POST" else 200
    return render_template("property/staff_development.html", form=form, development=dev,
                           panels=parts("staff.development", development=dev),
                           today=date.today()), status


@bp.post("/staff/accounts/<int:user_id>/developments")
@staff_required
def staff_syndic_developments(user_id: int):
    """Choose the developments a building manager (syndic) looks after."""
    member = db.get_or_404(User, user_id)
    if member.role not in ("client", "syndic"):  # a buyer may manage a building too
        abort(400)
    known = set(db.session.scalars(select(Development.id)))
    chosen = {whole_number(d) for d in request.form.getlist("developments")} & known
    db.session.execute(SyndicDevelopment.__table__.delete().where(
        SyndicDevelopment.user_id == member.id))
    db.session.add_all(SyndicDevelopment(user_id=member.id, development_id=d) for d in chosen)
    db.session.commit()
    flash(_("Developments saved."), "success")
    return redirect(url_for("staff.client", user_id=member.id))
