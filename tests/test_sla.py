"""SLA arithmetic with a fixed clock: hours to resolve, paused while waiting on the client."""

from __future__ import annotations

from datetime import datetime, timedelta

from runtime.modules.tickets import sla
from runtime.modules.tickets.models import Ticket

T0 = datetime(2026, 3, 2, 9, 0)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def test_due_is_opening_plus_the_division_hours():
    ticket = Ticket(status="new")
    sla.start(ticket, 48, T0)
    assert ticket.sla_due_at == T0 + hours(48)
    assert not sla.is_overdue(ticket, T0 + hours(47))
    assert sla.is_overdue(ticket, T0 + hours(48, ) + timedelta(seconds=1))


def test_waiting_for_the_client_pauses_the_clock():
    ticket = Ticket(status="in_progress")
    sla.start(ticket, 24, T0)
    sla.on_status(ticket, "awaiting_feedback", T0 + hours(10))  # 14 h left
    ticket.status = "awaiting_feedback"
    assert not sla.is_overdue(ticket, T0 + hours(100))  # never overdue while paused
    assert sla.due_at(ticket, T0 + hours(30)) == T0 + hours(30 + 14)
    sla.on_status(ticket, "feedback_returned", T0 + hours(40))  # the client answered
    ticket.status = "feedback_returned"
    assert ticket.sla_due_at == T0 + hours(40 + 14)
    assert not sla.is_overdue(ticket, T0 + hours(53))
    assert sla.is_overdue(ticket, T0 + hours(55))


def test_several_pauses_add_up():
    ticket = Ticket(status="in_progress")
    sla.start(ticket, 8, T0)
    for start, end in ((1, 3), (4, 10)):  # 2 h + 6 h paused
        sla.on_status(ticket, "awaiting_feedback", T0 + hours(start))
        sla.on_status(ticket, "in_progress", T0 + hours(end))
    assert ticket.sla_due_at == T0 + hours(16)


def test_pausing_twice_does_not_lose_time():
    ticket = Ticket(status="in_progress")
    sla.start(ticket, 8, T0)
    sla.on_status(ticket, "awaiting_feedback", T0 + hours(2))
    sla.on_status(ticket, "awaiting_feedback", T0 + hours(5))  # asked again: still paused since 2
    sla.on_status(ticket, "in_progress", T0 + hours(6))
    assert ticket.sla_due_at == T0 + hours(12)


def test_met_compares_resolution_with_the_due_time():
    ticket = Ticket(status="resolved")
    sla.start(ticket, 4, T0)
    ticket.resolved_at = T0 + hours(4)
    assert sla.met(ticket) is True
    ticket.resolved_at = T0 + hours(4.5)
    assert sla.met(ticket) is False
    ticket.resolved_at = None
    assert sla.met(ticket) is None
    assert not sla.is_overdue(Ticket(status="finished", sla_due_at=T0,
                                     sla_paused_since=None), T0 + hours(9))
