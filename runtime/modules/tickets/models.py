"""Tickets: one request's life, with its messages, stage history and attachments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship
from sqlalchemy.orm.util import identity_key

from ...erp.models import CommonArea, Unit
from ...extensions import db
from ...models import User, utcnow
from ...pagecache import EVERYONE, user_key

STATUSES = ("new", "in_progress", "awaiting_feedback", "feedback_returned", "resolved",
            "finished", "cancelled")
# What each client filter means (TOTVS "Cliente On Line"): whose move it is.
FILTERS = {
    "all": STATUSES,
    "my_action": ("awaiting_feedback", "resolved"),
    "awaiting_company": ("new", "in_progress", "feedback_returned"),
    "finished": ("finished",),
    "cancelled": ("cancelled",),
}
OPEN = ("new", "in_progress", "awaiting_feedback", "feedback_returned")


class Ticket(db.Model):
    __tablename__ = "tickets"
    __table_args__ = (
        # "My tickets": its page in the order shown, and the finished ones to rate (the
        # status counts use its first two columns)
        Index("ix_tickets_client_updated", "client_id", "updated_at", "id"),
        Index("ix_tickets_client_status_finished", "client_id", "status", "finished_at"),
        Index("ix_tickets_division_status", "division_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    protocol: Mapped[str] = mapped_column(String(20), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    division_id: Mapped[str] = mapped_column(String(63))
    request_id: Mapped[str] = mapped_column(String(63))
    title: Mapped[str] = mapped_column(String(200))  # the request type's label when opened
    description: Mapped[str] = mapped_column(Text, default="")
    answers: Mapped[list] = mapped_column(JSON, default=list)  # [{id, label, type, value}]
    origin: Mapped[str | None] = mapped_column(String(30))  # finance item, profile change
    status: Mapped[str] = mapped_column(String(20), default="new", index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    sla_hours: Mapped[float]
    sla_due_at: Mapped[datetime] = mapped_column(index=True)
    sla_paused_since: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None] = mapped_column(index=True)
    cancelled_at: Mapped[datetime | None]
    rating: Mapped[int | None]
    rating_comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[datetime | None]
    # the place the request is about (a request type's `location`): one or neither
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    common_area_id: Mapped[int | None] = mapped_column(ForeignKey("common_areas.id"),
                                                       index=True)

    # loaded where a screen shows them (joinedload in the staff queue and export)
    client: Mapped[User] = relationship(foreign_keys=[client_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    unit: Mapped[Unit | None] = relationship()
    common_area: Mapped[CommonArea | None] = relationship()

    def page_cache_scope(self) -> tuple[str, ...]:
        """The cached pages a change of it touches (runtime/pagecache.py): its client's;
        a building manager's request is shared by every manager of the building."""
        from .syndic import ORIGIN  # syndic.py imports this module

        return (EVERYONE,) if self.origin == ORIGIN else (user_key(self.client_id),)


def _ticket_scope(row) -> tuple[str, ...]:
    """A message, event or attachment touches its ticket's pages. The ticket is in the
    session whenever a screen wrote one; when it is not, every page is safe."""
    session = object_session(row)
    ticket = session.identity_map.get(identity_key(Ticket, row.ticket_id)) if session else None
    return ticket.page_cache_scope() if ticket is not None else (EVERYONE,)


class TicketMessage(db.Model):
    __tablename__ = "ticket_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                           index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    internal: Mapped[bool] = mapped_column(default=False)  # staff notes: never shown to clients
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[User | None] = relationship(lazy="joined")

    page_cache_scope = _ticket_scope


class TicketEvent(db.Model):
    """The stage history: every status change, with who and when."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                           index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)

    actor: Mapped[User | None] = relationship(lazy="joined")

    page_cache_scope = _ticket_scope


class TicketAttachment(db.Model):
    __tablename__ = "ticket_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                           index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_messages.id"))
    field_id: Mapped[str | None] = mapped_column(String(63))
    filename: Mapped[str] = mapped_column(String(200))  # as the user named it, for downloads
    stored_name: Mapped[str] = mapped_column(String(100))
    mimetype: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    internal: Mapped[bool] = mapped_column(default=False)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    page_cache_scope = _ticket_scope


class ProtocolCounter(db.Model):
    """The last protocol number given in a year; incremented under a row lock."""

    __tablename__ = "protocol_counters"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(default=0)

    page_cache_scope = ()  # shown on no page


class StaffDivision(db.Model):
    """Limits a staff member to some divisions; none listed means all of them."""

    __tablename__ = "staff_divisions"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    division_id: Mapped[str] = mapped_column(String(63), primary_key=True)
