"""The audit log in the staff console: who did what to whose data (admins only)."""

from __future__ import annotations

from flask import abort, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from ..brdocs import digits
from ..erp.models import AuditEntry
from ..extensions import db
from ..inputs import int_arg, page_arg
from ..models import STAFF_ROLES, User
from . import bp, staff_required

PER_PAGE = 50
ACTIONS = {"view_as": _l("Started viewing the portal as"),
           "view_as_page": _l("Viewed as"),
           "view_as_end": _l("Stopped viewing the portal as"),
           "access_off": _l("Switched portal access off for"),
           "access_on": _l("Switched portal access on for"),
           "development_access_off": _l("Switched a development's portal access off"),
           "development_access_on": _l("Switched a development's portal access on"),
           "ticket_deleted": _l("Deleted a cancelled request of"),
           # content the company edits (FAQ entries, home banners): the detail names it
           "content_added": _l("Added content"),
           "content_edited": _l("Edited content"),
           "content_moved": _l("Moved content"),
           "content_hidden": _l("Hid content"),
           "content_shown": _l("Showed content again"),
           "content_deleted": _l("Deleted content")}


@bp.get("/audit")
@staff_required
def audit():
    """The log, newest first, filtered by who acted and on whose account."""
    if current_user.role != "admin":
        abort(403)
    actor = int_arg("actor")
    subject = request.args.get("subject", "").strip()
    query = (select(AuditEntry).options(joinedload(AuditEntry.actor))
             .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()))
    if actor is not None:
        query = query.where(AuditEntry.actor_id == actor)
    if subject:
        query = query.where(AuditEntry.subject_id.in_(_subjects(subject)))
    page = db.paginate(query, page=page_arg(PER_PAGE), per_page=PER_PAGE, error_out=False)
    names = _names({e.subject_id for e in page.items if e.subject_id})
    staff = db.session.scalars(select(User).where(User.role.in_(STAFF_ROLES))
                               .order_by(User.name)).all()
    return render_template("staff/audit.html", page=page, names=names, staff=staff,
                           actor=actor, subject=subject, actions=ACTIONS)


def _subjects(text: str):
    """Accounts whose name, e-mail or CPF/CNPJ contains `text`."""
    like = f"%{text.lower()}%"
    conditions = [func.lower(User.name).like(like), func.lower(User.email).like(like)]
    if digits(text):
        conditions.append(User.document.like(f"%{digits(text)}%"))
    return select(User.id).where(or_(*conditions))


def _names(ids: set[int]) -> dict[int, User]:
    """The subjects of one page, in one query."""
    if not ids:
        return {}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}
