"""Whether a client may use the portal: a switch per account and one per development.

Staff switch a client's access off (with a reason) in the console, or a whole
development's: then every buyer and syndic whose every development is off is refused at
login, with a message to contact the company, and their open sessions end at once.
A client linked to no development depends on their own switch alone. Staff accounts are
never refused here (deactivating an account is the switch for them).
"""

from __future__ import annotations

from sqlalchemy import case, func, select, union

from .erp.models import (
    AuditEntry,
    Contract,
    ContractParty,
    Development,
    SyndicDevelopment,
    Unit,
)
from .extensions import db
from .models import User
from .sessions import end_sessions


def _linked(user_ids):
    """(user id, development id) of buyers (non-cancelled contracts) and syndics."""
    buyers = (select(ContractParty.user_id.label("user_id"),
                     Unit.development_id.label("development_id"))
              .join(Contract, Contract.id == ContractParty.contract_id)
              .join(Unit, Unit.id == Contract.unit_id)
              .where(ContractParty.user_id.in_(user_ids), Contract.status != "cancelled"))
    syndics = (select(SyndicDevelopment.user_id, SyndicDevelopment.development_id)
               .where(SyndicDevelopment.user_id.in_(user_ids)))
    return union(buyers, syndics).subquery()


def blocked_by_developments(user_ids) -> set[int]:
    """Those of `user_ids` (a list or a subquery) linked to developments, all switched off."""
    linked = _linked(user_ids)
    rows = db.session.execute(
        select(linked.c.user_id,
               func.sum(case((Development.portal_access.is_(True), 1), else_=0)))
        .join(Development, Development.id == linked.c.development_id)
        .group_by(linked.c.user_id)).all()
    return {user_id for user_id, on in rows if not on}


def refused(user: User) -> bool:
    """Whether `user` may not use the portal now (their switch, or their developments')."""
    if user.is_staff:
        return False
    return not user.portal_access or user.id in blocked_by_developments([user.id])


def audit(actor: User, action: str, subject: User | None, detail: str | None) -> None:
    """One entry of the staff console's audit log (the caller commits)."""
    db.session.add(AuditEntry(actor_id=actor.id, action=action,
                              subject_id=subject.id if subject else None,
                              detail=(detail or None) and detail[:300]))


def switch_client(user: User, on: bool, note: str | None, actor: User) -> None:
    """Switch one client's access; off ends their sessions everywhere (commits)."""
    user.portal_access = on
    user.access_note = None if on else note
    audit(actor, "access_on" if on else "access_off", user, note)
    db.session.commit()
    if not on:
        end_sessions(user.id)


def switch_development(development: Development, on: bool, note: str | None,
                       actor: User) -> int:
    """Switch a development's access; off ends the sessions of those it now blocks (commits).

    Returns how many accounts lost their access.
    """
    development.portal_access = on
    development.access_note = None if on else note
    detail = development.name + (f": {note}" if note else "")
    audit(actor, "development_access_on" if on else "development_access_off", None, detail)
    db.session.commit()
    if on:
        return 0
    members = _linked(select(User.id).where(User.role.in_(("client", "syndic"))))
    concerned = select(members.c.user_id).where(members.c.development_id == development.id)
    blocked = blocked_by_developments(concerned)
    for user_id in blocked:
        end_sessions(user_id)
    return len(blocked)


def development_members(development_id: int) -> int:
    """How many accounts (buyers and syndics) are linked to a development."""
    linked = _linked(select(User.id))
    return db.session.scalar(select(func.count(func.distinct(linked.c.user_id)))
                             .where(linked.c.development_id == development_id)) or 0
