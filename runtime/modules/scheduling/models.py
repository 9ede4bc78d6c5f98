"""Appointments of the scheduling module, the slot counters that cap them, blocked dates."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ...erp.models import Development, Unit
from ...extensions import db
from ...models import User, utcnow

ACTIVE = ("booked", "confirmed")  # appointments that hold a place of their slot
STATUSES = ("booked", "confirmed", "done", "no_show", "cancelled")


class Slot(db.Model):
    """How many places of one slot (type, development, start) are taken.

    A booking takes a place with one atomic UPDATE (`booked < capacity` in its WHERE):
    two clients asking for the last place at the same moment cannot both get it.
    """

    __tablename__ = "scheduling_slots"
    __table_args__ = (UniqueConstraint("type_id", "development_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    type_id: Mapped[str] = mapped_column(String(64))
    development_id: Mapped[int] = mapped_column(
        ForeignKey("developments.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime]  # UTC
    booked: Mapped[int] = mapped_column(default=0)


class Appointment(db.Model):
    """A client's visit or inspection in one slot."""

    __tablename__ = "appointments"
    __table_args__ = (Index("ix_appointments_starts_at_status", "starts_at", "status"),
                      Index("ix_appointments_user_id_starts_at", "user_id", "starts_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    development_id: Mapped[int] = mapped_column(
        ForeignKey("developments.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"))
    type_id: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime]  # UTC
    ends_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(10), default="booked")
    note: Mapped[str] = mapped_column(Text, default="")
    technician_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"))
    sequence: Mapped[int] = mapped_column(default=0)  # the .ics SEQUENCE: +1 on each change
    reminded_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    technician: Mapped[User | None] = relationship(foreign_keys=[technician_id])
    development: Mapped[Development] = relationship()
    unit: Mapped[Unit | None] = relationship()


class BlockedDate(db.Model):
    """A day without slots (a holiday), for every development or one."""

    __tablename__ = "scheduling_blocked_dates"
    __table_args__ = (UniqueConstraint("day", "development_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(index=True)
    development_id: Mapped[int | None] = mapped_column(
        ForeignKey("developments.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    development: Mapped[Development | None] = relationship()
