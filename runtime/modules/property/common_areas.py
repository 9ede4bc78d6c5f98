"""Common areas of a development in the staff console: add, rename, deactivate.

The ERP import brings most of them (`common_areas`); staff add what the ERP does not
know. An area is never deleted: requests may name it, so it is deactivated instead and
no longer offered in request forms.
"""

from __future__ import annotations

import secrets

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from ...erp.models import CommonArea, Development
from ...extensions import db
from ...inputs import PortalForm
from ...staff import staff_required
from . import bp

STAFF_PREFIX = "portal-"  # external ids of areas staff added (the ERP never sent them)


class AreaForm(PortalForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)],
                       description=_l("As residents call it, e.g. Pool or Party room."))


class EditAreaForm(PortalForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    active = BooleanField(_l("Offered to clients"))


def from_erp(area: CommonArea) -> bool:
    return not area.external_id.startswith(STAFF_PREFIX)


def _unique_name(development: Development, area: CommonArea | None):
    """A validator: no two areas of one development share a name (in any case)."""
    def check(form, field):
        query = select(CommonArea.id).where(
            CommonArea.development_id == development.id,
            func.lower(CommonArea.name) == (field.data or "").strip().lower())
        if area is not None:
            query = query.where(CommonArea.id != area.id)
        if db.session.scalar(query.limit(1)) is not None:
            raise ValidationError(_l("This development already has a common area with "
                                     "this name."))
    return check


def _edit_form(area: CommonArea, development: Development, formdata=None) -> EditAreaForm:
    form = EditAreaForm(formdata=formdata, prefix=f"area-{area.id}", name=area.name,
                        active=area.active)
    form.name.validators = [*form.name.validators, _unique_name(development, area)]
    return form


def panel(development: Development) -> dict:
    """For the development's page: how many areas there are, and the link to manage them."""
    counts = dict(db.session.execute(
        select(CommonArea.active, func.count()).where(
            CommonArea.development_id == development.id).group_by(CommonArea.active)).all())
    return {"active": counts.get(True, 0), "inactive": counts.get(False, 0)}


def _page(development: Development, add: AreaForm | None = None,
          edited: tuple[int, EditAreaForm] | None = None):
    areas = db.session.scalars(select(CommonArea).where(
        CommonArea.development_id == development.id)
        .order_by(CommonArea.active.desc(), CommonArea.name)).all()
    forms = {a.id: (edited[1] if edited and edited[0] == a.id else _edit_form(a, development))
             for a in areas}
    status = 400 if request.method == "POST" else 200
    return render_template("property/staff_common_areas.html", development=development,
                           areas=areas, forms=forms, add_form=add or AreaForm(formdata=None),
                           from_erp=from_erp), status


@bp.get("/staff/developments/<int:development_id>/common-areas")
@staff_required
def staff_common_areas(development_id: int):
    return _page(db.get_or_404(Development, development_id))


@bp.post("/staff/developments/<int:development_id>/common-areas")
@staff_required
def staff_add_common_area(development_id: int):
    development = db.get_or_404(Development, development_id)
    form = AreaForm()
    form.name.validators = [*form.name.validators, _unique_name(development, None)]
    if not form.validate_on_submit():
        return _page(development, add=form)
    name = form.name.data.strip()
    db.session.add(CommonArea(development_id=development.id, name=name, active=True,
                              external_id=STAFF_PREFIX + secrets.token_hex(6)))
    db.session.commit()
    flash(_("Common area %(name)s added.", name=name), "success")
    return redirect(url_for("property.staff_common_areas", development_id=development.id))


@bp.post("/staff/developments/<int:development_id>/common-areas/<int:area_id>")
@staff_required
def staff_edit_common_area(development_id: int, area_id: int):
    development = db.get_or_404(Development, development_id)
    area = db.session.get(CommonArea, area_id)
    if area is None or area.development_id != development.id:
        abort(404)
    form = _edit_form(area, development, formdata=request.form)
    if not form.validate_on_submit():
        return _page(development, edited=(area.id, form))
    area.name, area.active = form.name.data.strip(), form.active.data
    db.session.commit()
    flash(_("Common area %(name)s saved.", name=area.name) if area.active else
          _("Common area %(name)s is no longer offered in request forms.", name=area.name),
          "success")
    return redirect(url_for("property.staff_common_areas", development_id=development.id))
