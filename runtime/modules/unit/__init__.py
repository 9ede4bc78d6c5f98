"""My unit: the unit, its development, the delivery forecast and the people on the contract."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from ... import storage
from ...erp.models import Contract, ContractParty, Development, Unit
from ...erp.scope import scope_of
from ...extensions import db
from ...inputs import int_arg
from .. import Manifest, parts

bp = Blueprint("unit", __name__, template_folder="templates")


def client_units() -> list[Unit]:
    """The units the logged-in client holds a contract on, with their developments."""
    ids = scope_of(current_user).unit_ids
    if not ids:
        return []
    return db.session.scalars(select(Unit).join(Unit.development)
                              .options(joinedload(Unit.development))
                              .where(Unit.id.in_(ids)).order_by(Development.name, Unit.code)).all()


@bp.get("/unit")
@login_required
def index():
    units = client_units()
    if not units:
        return render_template("unit/none.html")
    chosen = int_arg("unit")
    unit = next((u for u in units if u.id == chosen), None) if chosen else units[0]
    if unit is None:
        abort(404)
    contracts = db.session.scalars(
        select(Contract).options(selectinload(Contract.parties).joinedload(ContractParty.user))
        .where(Contract.unit_id == unit.id, Contract.id.in_(scope_of(current_user).contract_ids))
    ).unique().all()
    parties = [p for c in contracts for p in c.parties]
    return render_template("unit/index.html", unit=unit, units=units, contracts=contracts,
                           parties=parties, description=Markup(unit.development.description_html),
                           sections=parts("unit.sections", unit=unit),
                           forecast=current_app.extensions["portal"]["features"][
                               "delivery_forecast"])


@bp.get("/developments/<int:development_id>/photo")
@login_required
def development_photo(development_id: int):
    if not scope_of(current_user).development(development_id):
        abort(404)
    development = db.get_or_404(Development, development_id)
    if not development.photo:
        abort(404)
    response = storage.serve("developments", development.photo, max_age=3600)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


# a development's photo is shown to its building managers too (it checks the scope)
manifest = Manifest("unit", bp, "unit.index", requires=("property",),
                    shared_endpoints=("unit.development_photo",))
