"""Who may see what: every property query goes through the logged-in user's scope.

A client sees the contracts they are a party to (any role), those contracts'
units and the units' developments. A building manager (syndic) sees only
development-level content of the developments assigned to them: no unit, no
contract. Staff see everything.

A client may also manage developments (one account, two portals): in the building
manager's view (`session[VIEW_KEY]`, set by the switch and the login tab) their scope is
a syndic's, with no unit or contract; in the buyer's view it is a buyer's.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, has_request_context, session
from sqlalchemy import bindparam, literal, null, select, union_all

from ..extensions import db
from ..models import User
from .models import Contract, ContractParty, SyndicDevelopment, Unit

# the session key holding the portal a client who also manages developments is in
VIEW_KEY = "portal_view"


@dataclass(frozen=True)
class Scope:
    development_ids: frozenset[int]
    unit_ids: frozenset[int]
    contract_ids: frozenset[int]
    everything: bool = False
    managed_ids: frozenset[int] = frozenset()  # developments the user manages as syndic
    view: str = "buyer"  # "buyer" or "syndic": the client portal the user is in

    @property
    def syndic(self) -> bool:
        return self.view == "syndic"

    def development(self, development_id: int) -> bool:
        return self.everything or development_id in self.development_ids

    def unit(self, unit_id: int) -> bool:
        return self.everything or unit_id in self.unit_ids

    def contract(self, contract_id: int) -> bool:
        return self.everything or contract_id in self.contract_ids


# built once with a bound user id: a page pays for executing them, not for building them
_MANAGED = (select(SyndicDevelopment.development_id)
            .where(SyndicDevelopment.user_id == bindparam("scope_user")))
_CLIENT = union_all(
    select(Contract.id, Unit.id, Unit.development_id, literal(0))
    .join(ContractParty, ContractParty.contract_id == Contract.id)
    .join(Unit, Unit.id == Contract.unit_id)
    .where(ContractParty.user_id == bindparam("scope_user"), Contract.status != "cancelled"),
    select(null(), null(), SyndicDevelopment.development_id, literal(1))
    .where(SyndicDevelopment.user_id == bindparam("scope_user")))


def scope_of(user: User) -> Scope:
    """The scope of `user`, computed once per request (one query)."""
    cached = g.get("portal_scope")
    if cached is not None and cached[0] == user.id:
        return cached[1]
    if user.is_staff:
        scope = Scope(frozenset(), frozenset(), frozenset(), everything=True)
    elif user.role == "syndic":
        ids = frozenset(db.session.scalars(_MANAGED, {"scope_user": user.id}))
        scope = Scope(ids, frozenset(), frozenset(), managed_ids=ids, view="syndic")
    else:
        scope = _client_scope(user)
    g.portal_scope = (user.id, scope)
    return scope


def _client_scope(user: User) -> Scope:
    """A client's contracts and the developments they manage, in one statement."""
    rows = db.session.execute(_CLIENT, {"scope_user": user.id}).all()
    managed_ids = frozenset(r[2] for r in rows if r[3])
    if managed_ids and has_request_context() and session.get(VIEW_KEY) == "syndic":
        return Scope(managed_ids, frozenset(), frozenset(), managed_ids=managed_ids,
                     view="syndic")
    bought = [r for r in rows if not r[3]]
    return Scope(frozenset(r[2] for r in bought), frozenset(r[1] for r in bought),
                 frozenset(r[0] for r in bought), managed_ids=managed_ids)


def unit_placeholders(user) -> dict[str, str]:
    """{unit.code} and {contract.number} of the client's first contract, for finance links."""
    row = db.session.execute(
        select(Unit.code, Contract.number).join(Contract, Contract.unit_id == Unit.id)
        .join(ContractParty, ContractParty.contract_id == Contract.id)
        .where(ContractParty.user_id == user.id, Contract.status == "active")
        .order_by(Contract.signed_on.desc(), Contract.id).limit(1)).first()
    return {"{unit.code}": row[0], "{contract.number}": row[1]} if row else {}
