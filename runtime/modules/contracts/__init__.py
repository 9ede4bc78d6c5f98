"""Contracts: every active contract of the client, with its unit and parties."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from ...erp.models import Contract, ContractParty, Unit
from ...erp.scope import scope_of
from ...extensions import db
from .. import Manifest, enabled

bp = Blueprint("contracts", __name__, template_folder="templates")


@bp.get("/contracts")
@login_required
def index():
    ids = scope_of(current_user).contract_ids
    contracts = db.session.scalars(
        select(Contract).options(joinedload(Contract.unit).joinedload(Unit.development),
                                 selectinload(Contract.parties).joinedload(ContractParty.user))
        .where(Contract.id.in_(ids), Contract.status == "active")
        .order_by(Contract.signed_on.desc(), Contract.id)).unique().all() if ids else []
    # each contract links to its instalments when the finance module runs
    return render_template("contracts/index.html", contracts=contracts,
                           instalments=enabled("finance"))


manifest = Manifest("contracts", bp, "contracts.index", requires=("property",))
