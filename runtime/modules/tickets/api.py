"""What other modules may use of the service desk: open requests, follow them, apply them.

Modules that open tickets (finance, profile) import this file only, never the desk's
internals, so the desk can change inside without touching them.
"""

from __future__ import annotations

from blinker import Namespace
from sqlalchemy import select

from ...extensions import db
from ...models import User
from .contact import submit_request
from .models import OPEN, Ticket
from .service import division, open_ticket, request_type, staff_division_ids

__all__ = ["ApplyRefused", "apply_requested", "division", "open_requests", "open_ticket",
           "request_type", "staff_division_ids", "submit_request"]

signals = Namespace()
apply_requested = signals.signal("ticket-apply-requested")
"""Staff apply what a ticket asks for. Sender: the ticket's origin (e.g. "profile"); keyword
arguments: ticket, client, by. The module that opened such tickets connects a receiver for
its origin (Manifest.handlers) that applies the change (the caller commits), or raises
ApplyRefused with a message for the staff member."""


class ApplyRefused(ValueError):
    """A ticket's request that cannot be applied; the message is for the staff member."""


def open_requests(client: User, origin: str) -> list[Ticket]:
    """The client's open tickets of one origin, newest first (so they do not ask twice)."""
    return db.session.scalars(select(Ticket).where(
        Ticket.client_id == client.id, Ticket.origin == origin,
        Ticket.status.in_(OPEN)).order_by(Ticket.created_at.desc())).all()
