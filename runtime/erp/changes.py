"""Customer data changed in the portal, kept across ERP imports until the ERP has it.

Without this, the next import would put back the ERP's older value over a change staff
applied in the portal. Each change is recorded per field. While it is pending, the
importer keeps the portal's value and `portal export changes` lists it for the ERP.
An import settles it: "in_erp" when the ERP's value equals the portal's, "superseded"
when the ERP brings a value the portal never had since the change (the ERP changed the
field itself, later than the portal knew it, so the ERP's value is the newer one).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, fields
from datetime import datetime

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload

from ..extensions import db
from ..models import User, utcnow

FIELDS = ("name", "document", "email", "phone", "address")  # the ERP's customer columns


class PortalChange(db.Model):
    __tablename__ = "portal_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    field: Mapped[str] = mapped_column(String(20))
    old_value: Mapped[str | None] = mapped_column(String(300))
    new_value: Mapped[str | None] = mapped_column(String(300))
    applied_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    settled_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(12))  # in_erp, superseded

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    by: Mapped[User | None] = relationship(foreign_keys=[by_id])


def record(user: User, values: dict[str, str | None], by: User | None) -> list[str]:
    """Set `values` on a customer, recording each ERP field that changes (caller commits).

    Returns the names of the fields that changed.
    """
    changed = []
    for field, new in values.items():
        old = getattr(user, field)
        if new == old:
            continue
        setattr(user, field, new)
        changed.append(field)
        if field in FIELDS and not user.is_staff:  # staff accounts are not ERP customers
            db.session.add(PortalChange(user_id=user.id, field=field, old_value=old,
                                        new_value=new, by_id=by.id if by else None))
    return changed


def pending_by_field() -> dict[tuple[int, str], list[PortalChange]]:
    """Unsettled changes by (customer, field), oldest first (one query)."""
    found: dict[tuple[int, str], list[PortalChange]] = {}
    for change in db.session.scalars(select(PortalChange).where(
            PortalChange.settled_at.is_(None)).order_by(PortalChange.applied_at,
                                                        PortalChange.id)):
        found.setdefault((change.user_id, change.field), []).append(change)
    return found


def reconcile(changes: list[PortalChange], erp_value: str | None) -> bool:
    """Settle what the ERP's value answers; True when the portal's value is to be kept."""
    chain = [changes[0].old_value, *(c.new_value for c in changes)]
    if erp_value not in chain:
        _settle(changes, "superseded")
        return False
    # the ERP has caught up to the change that set erp_value, and to every earlier one
    reached = max(i for i, value in enumerate(chain) if value == erp_value)
    _settle(changes[:reached], "in_erp")
    return reached < len(changes)


def _settle(changes: list[PortalChange], outcome: str) -> None:
    now = utcnow()
    for change in changes:
        change.settled_at, change.outcome = now, outcome


@dataclass(frozen=True)
class Exported:
    customer_id: str
    field: str
    old: str
    new: str
    changed_at: str  # ISO 8601, UTC
    changed_by: str


def export(since: datetime | None = None) -> list[Exported]:
    """Pending changes of ERP customers, oldest first, as the ERP needs them."""
    query = (select(PortalChange, User.erp_id).join(User, User.id == PortalChange.user_id)
             .where(PortalChange.settled_at.is_(None), User.erp_id.is_not(None))
             .order_by(PortalChange.applied_at, PortalChange.id)
             .options(selectinload(PortalChange.by)))
    if since is not None:
        query = query.where(PortalChange.applied_at >= since)
    return [Exported(erp_id, c.field, c.old_value or "", c.new_value or "",
                     c.applied_at.isoformat(timespec="seconds") + "Z",
                     (c.by.email or c.by.name) if c.by else "")
            for c, erp_id in db.session.execute(query)]


def to_json(rows: list[Exported]) -> str:
    return json.dumps([asdict(r) for r in rows], ensure_ascii=False, indent=2) + "\n"


def to_csv(rows: list[Exported]) -> str:
    """CSV with a header; a cell a spreadsheet would run as a formula starts with '."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([f.name for f in fields(Exported)])
    writer.writerows([_cell(value) for value in asdict(r).values()] for r in rows)
    return out.getvalue()


def _cell(value: str) -> str:
    # what the customer typed reaches the ERP's operators, who may open it in a spreadsheet
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
