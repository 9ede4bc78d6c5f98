"""SLA arithmetic: hours to resolve, with the clock paused while waiting on the client.

`sla_due_at` is the due time while the clock runs; pausing records when, and resuming
pushes the due time by the paused span.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from .models import Ticket

PAUSED = ("awaiting_feedback",)
STOPPED = ("resolved", "finished", "cancelled")


def start(ticket: Ticket, hours: float, now: datetime) -> None:
    ticket.sla_hours = hours
    ticket.sla_due_at = now + timedelta(hours=hours)
    ticket.sla_paused_since = None


def on_status(ticket: Ticket, new_status: str, now: datetime) -> None:
    """Pause, resume or leave the clock as the status changes."""
    paused = ticket.sla_paused_since is not None
    if new_status in PAUSED and not paused:
        ticket.sla_paused_since = now
    elif new_status not in PAUSED and paused:
        ticket.sla_due_at += now - ticket.sla_paused_since
        ticket.sla_paused_since = None


def due_at(ticket: Ticket, now: datetime) -> datetime:
    """The due time as of `now` (a paused clock keeps pushing it)."""
    if ticket.sla_paused_since is not None:
        return ticket.sla_due_at + (now - ticket.sla_paused_since)
    return ticket.sla_due_at


def is_overdue(ticket: Ticket, now: datetime) -> bool:
    if ticket.status in STOPPED or ticket.sla_paused_since is not None:
        return False
    return ticket.sla_due_at < now


def met(ticket: Ticket) -> bool | None:
    """Whether the ticket was resolved in time (None while it is not resolved)."""
    if ticket.resolved_at is None:
        return None
    return ticket.resolved_at <= ticket.sla_due_at
