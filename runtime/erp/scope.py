"""Who may see what: every property query goes through the logged-in user's scope.

A client sees the contracts they are a party to (any role), those contracts'
units and the units' developments. A building manager (syndic) sees only
development-level content of the developments assigned to them: no unit, no
contract. Staff see everything.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import g
from sqlalchemy import select

from ..extensions import db
from ..models import User
from .models import Contract, ContractParty, SyndicDevelopment, Unit


@dataclass(frozen=True)
class Scope:
    development_ids: frozenset[int]
    unit_ids: frozenset[int]
    contract_ids: frozenset[int]
    everything: bool = False

    def development(self, development_id: int) -> bool:
        return self.everything or development_id in self.development_ids

    def unit(self, unit_id: int) -> bool:
        return self.everything or unit_id in self.unit_ids

    def contract(self, contract_id: int) -> bool:
        return self.everything or contract_id in self.contract_ids


def scope_of(user: User) -> Scope:
    """The scope of `user`, computed once per request (one query)."""
    cached = g.get("portal_scope")
    if cached is not None and cached[0] == user.id:
        return cached[1]
    if user.is_staff:
        scope = Scope(frozenset(), frozenset(), frozenset(), everything=True)
    elif user.role == "syndic":
        ids = db.session.scalars(select(SyndicDevelopment.development_id)
                                 .where(SyndicDevelopment.user_id == user.id)).all()
        scope = Scope(frozenset(ids), frozenset(), frozenset())
    else:
        rows = db.session.execute(
            select(Contract.id, Unit.id, Unit.development_id)
            .join(ContractParty, ContractParty.contract_id == Contract.id)
            .join(Unit, Unit.id == Contract.unit_id)
            .where(ContractParty.user_id == user.id, Contract.status != "cancelled")).all()
        scope = Scope(frozenset(r[2] for r in rows), frozenset(r[1] for r in rows),
                      frozenset(r[0] for r in rows))
    g.portal_scope = (user.id, scope)
    return scope


def unit_placeholders(user) -> dict[str, str]:
    """{unit.code} and {contract.number} of the client's first contract, for finance links."""
    row = db.session.execute(
        select(Unit.code, Contract.number).join(Contract, Contract.unit_id == Unit.id)
        .join(ContractParty, ContractParty.contract_id == Contract.id)
        .where(ContractParty.user_id == user.id, Contract.status == "active")
        .order_by(Contract.signed_on.desc(), Contract.id).limit(1)).first()
    return {"{unit.code}": row[0], "{contract.number}": row[1]} if row else {}
