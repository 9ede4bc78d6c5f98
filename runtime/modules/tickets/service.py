"""What happens to a ticket: opening, status changes, messages, rating, assignment.

Every change writes its stage-history event and queues its e-mails in the same
transaction; callers commit, and the outbox worker delivers them (runtime/mail.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import current_app, g, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from sqlalchemy import Select, bindparam, or_, select

from ... import mail, uploads
from ...extensions import db
from ...models import User, utcnow
from . import sla
from .models import OPEN, StaffDivision, Ticket, TicketAttachment, TicketEvent, TicketMessage
from .protocol import next_protocol

# status -> statuses staff may move a ticket to
STAFF_MOVES = {
    "new": ("in_progress", "awaiting_feedback", "resolved", "cancelled"),
    "in_progress": ("awaiting_feedback", "resolved", "cancelled"),
    "awaiting_feedback": ("in_progress", "resolved", "cancelled"),
    "feedback_returned": ("in_progress", "awaiting_feedback", "resolved", "cancelled"),
    "resolved": ("in_progress",),
    "finished": (),
    "cancelled": (),
}
FILES = "tickets"  # the upload folder of attachments (runtime/uploads.py)
CLIENT_CAN_CANCEL = ("new", "awaiting_feedback")
NEEDS_NOTE = ("awaiting_feedback", "resolved", "cancelled")


class TicketError(ValueError):
    """An action the ticket's state does not allow; the message is for the user."""


def division(division_id: str) -> dict | None:
    for group in current_app.extensions["portal"]["divisions"]:
        for d in group["divisions"]:
            if d["id"] == division_id:
                return d
    return None


def request_type(division_id: str, request_id: str) -> dict | None:
    d = division(division_id)
    for r in (d or {}).get("requests", []):
        if r["id"] == request_id:
            return r
    return None


def _translated(name: str, labels: Callable[[], dict[str, str]]) -> dict[str, str]:
    """`labels()` translated once per language of the app: a list shows a status per
    ticket, and each one used to translate all seven."""
    cache = current_app.extensions.setdefault("tickets_status_labels", {})
    key = (name, str(get_locale()))
    if key not in cache:
        cache[key] = labels()
    return cache[key]


def staff_status_labels() -> dict[str, str]:
    """Status names for staff: neutral, not addressed to the client."""
    return _translated("staff", lambda: {
        "new": _("New"), "in_progress": _("In progress"),
        "awaiting_feedback": _("Awaiting feedback"), "feedback_returned": _("Feedback returned"),
        "resolved": _("Resolved"), "finished": _("Finished"), "cancelled": _("Cancelled"),
    })


def staff_status_label(status: str) -> str:
    return staff_status_labels()[status]


def status_labels() -> dict[str, str]:
    """Status names as clients read them: whose move it is."""
    return _translated("client", lambda: {
        "new": _("New"), "in_progress": _("In progress"),
        "awaiting_feedback": _("Waiting for your reply"),
        "feedback_returned": _("Reply sent"), "resolved": _("Resolved: please confirm"),
        "finished": _("Finished"), "cancelled": _("Cancelled"),
    })


def status_label(status: str) -> str:
    return status_labels()[status]


def _move(ticket: Ticket, to: str, actor: User | None, note: str | None, now: datetime) -> None:
    event = TicketEvent(ticket_id=ticket.id, actor_id=actor.id if actor else None,
                        from_status=ticket.status, to_status=to, note=note, at=now)
    db.session.add(event)
    sla.on_status(ticket, to, now)
    ticket.status = to
    if to == "resolved":
        ticket.resolved_at = now
    elif to == "in_progress" and ticket.resolved_at:  # reopened: not resolved any more
        ticket.resolved_at = None
    if to == "finished":
        ticket.finished_at = now
    if to == "cancelled":
        ticket.cancelled_at = now


def _attach(ticket: Ticket, files: list, author: User, *, message: TicketMessage | None = None,
            field_id: str | None = None, internal: bool = False) -> None:
    for incoming in files:
        stored, filename = uploads.store(incoming, FILES)
        db.session.add(TicketAttachment(
            ticket_id=ticket.id, message_id=message.id if message else None, field_id=field_id,
            filename=filename, stored_name=stored, mimetype=incoming.mimetype,
            size=len(incoming.data), internal=internal, uploaded_by_id=author.id))


def open_ticket(client: User, division_id: str, request_id: str, *, description: str,
                answers: list[dict], files: dict[str, list], origin: str | None = None,
                now: datetime | None = None, unit_id: int | None = None,
                common_area_id: int | None = None) -> Ticket:
    """Create a ticket with its protocol and SLA; queue the client's receipt and the staff's
    notice. The place (a unit or a common area) is the caller's to check: tickets/place.py."""
    now = now or utcnow()
    d, r = division(division_id), request_type(division_id, request_id)
    ticket = Ticket(protocol=next_protocol(now.year), client_id=client.id,
                    division_id=division_id, request_id=request_id, title=r["label"],
                    description=description.strip(), answers=answers, origin=origin,
                    status="new", created_at=now, updated_at=now, unit_id=unit_id,
                    common_area_id=common_area_id)
    sla.start(ticket, d["sla_hours"], now)
    db.session.add(ticket)
    db.session.flush()
    db.session.add(TicketEvent(ticket_id=ticket.id, actor_id=client.id, to_status="new", at=now))
    for field_id, incoming in files.items():
        _attach(ticket, incoming, client, field_id=field_id)
    _notify_client(ticket, "received")
    _notify_staff(ticket, "new_ticket")
    return ticket


def client_reply(ticket: Ticket, client: User, body: str, files: list) -> None:
    if ticket.status in ("finished", "cancelled"):
        raise TicketError(_("This ticket is closed; open a new request."))
    now = utcnow()
    message = TicketMessage(ticket_id=ticket.id, author_id=client.id, body=body.strip(),
                            created_at=now)
    db.session.add(message)
    db.session.flush()
    _attach(ticket, files, client, message=message)
    if ticket.status == "awaiting_feedback":  # the client answered: the clock runs again
        _move(ticket, "feedback_returned", client, None, now)
    ticket.updated_at = now
    _notify_staff(ticket, "client_reply", body=body)


def client_approve(ticket: Ticket, client: User) -> None:
    if ticket.status != "resolved":
        raise TicketError(_("Only a resolved ticket can be approved."))
    _move(ticket, "finished", client, None, utcnow())


def client_reject(ticket: Ticket, client: User, reason: str) -> None:
    if ticket.status != "resolved":
        raise TicketError(_("Only a resolved ticket can be rejected."))
    now = utcnow()
    db.session.add(TicketMessage(ticket_id=ticket.id, author_id=client.id, body=reason.strip(),
                                 created_at=now))
    _move(ticket, "in_progress", client, reason.strip(), now)
    _notify_staff(ticket, "client_reply", body=reason)


def client_cancel(ticket: Ticket, client: User, reason: str | None) -> None:
    if ticket.status not in CLIENT_CAN_CANCEL:
        raise TicketError(_("This ticket can no longer be cancelled."))
    _move(ticket, "cancelled", client, (reason or "").strip() or None, utcnow())


def rate(ticket: Ticket, rating: int, comment: str | None) -> None:
    if ticket.status != "finished":
        raise TicketError(_("Only a finished ticket can be rated."))
    if ticket.rating is not None:
        raise TicketError(_("This ticket has been rated already."))
    ticket.rating, ticket.rating_comment, ticket.rated_at = rating, comment or None, utcnow()


def staff_reply(ticket: Ticket, staff: User, body: str, files: list, *, internal: bool) -> None:
    now = utcnow()
    message = TicketMessage(ticket_id=ticket.id, author_id=staff.id, body=body.strip(),
                            internal=internal, created_at=now)
    db.session.add(message)
    db.session.flush()
    _attach(ticket, files, staff, message=message, internal=internal)
    if ticket.status == "new" and not internal:
        _move(ticket, "in_progress", staff, None, now)
    if ticket.assignee_id is None:
        ticket.assignee_id = staff.id
    ticket.updated_at = now
    if not internal:
        _notify_client(ticket, "staff_reply", body=body)


def staff_move(ticket: Ticket, staff: User, to: str, note: str | None) -> None:
    if to not in STAFF_MOVES[ticket.status]:
        raise TicketError(_("A ticket that is %(status)s cannot become %(to)s.",
                            status=staff_status_label(ticket.status),
                            to=staff_status_label(to)))
    from .stages import refuse_leaving  # stages reads service's request types

    refuse_leaving(ticket, to)
    note = (note or "").strip() or None
    if to in NEEDS_NOTE and not note:
        raise TicketError(_("Write a message to the client for this step."))
    now = utcnow()
    if note:
        db.session.add(TicketMessage(ticket_id=ticket.id, author_id=staff.id, body=note,
                                     created_at=now))
    _move(ticket, to, staff, note, now)
    if ticket.assignee_id is None:
        ticket.assignee_id = staff.id
    ticket.updated_at = now
    template = "feedback_request" if to == "awaiting_feedback" else "status_change"
    _notify_client(ticket, template, body=note)


def assign(ticket: Ticket, staff: User, assignee: User | None) -> None:
    ticket.assignee_id = assignee.id if assignee else None
    if assignee and ticket.status == "new":
        _move(ticket, "in_progress", staff, None, utcnow())


def _records(internal: bool) -> tuple[Select, Select, Select]:
    messages = select(TicketMessage).where(TicketMessage.ticket_id == bindparam("ticket"))
    files = select(TicketAttachment).where(TicketAttachment.ticket_id == bindparam("ticket"))
    if not internal:
        messages = messages.where(TicketMessage.internal.is_(False))
        files = files.where(TicketAttachment.internal.is_(False))
    events = select(TicketEvent).where(TicketEvent.ticket_id == bindparam("ticket"))
    return (messages.order_by(TicketMessage.created_at, TicketMessage.id),
            events.order_by(TicketEvent.at, TicketEvent.id), files.order_by(TicketAttachment.id))


# built once for each reader: a ticket's page executes them
_RECORDS = {internal: _records(internal) for internal in (False, True)}


def records(ticket: Ticket, *, internal: bool) -> tuple[list, list, list]:
    """Messages, stage history and attachments of a ticket, oldest first.

    Clients never get internal notes nor internal attachments (internal=False).
    """
    params = {"ticket": ticket.id}
    return tuple(db.session.scalars(query, params).all() for query in _RECORDS[internal])


# -- who sees what ---------------------------------------------------------------------------

def staff_division_ids(user: User) -> set[str] | None:
    """The divisions a staff member is limited to; None means all of them.

    Read once per request: a ticket's page scopes the ticket and the client's others."""
    cached = g.get("staff_divisions")
    if cached is not None and cached[0] == user.id:
        return cached[1]
    rows = db.session.scalars(select(StaffDivision.division_id)
                              .where(StaffDivision.user_id == user.id)).all()
    g.staff_divisions = (user.id, set(rows) or None)
    return g.staff_divisions[1]


def staff_for_division(division_id: str) -> list[User]:
    limited = select(StaffDivision.user_id)
    allowed = select(StaffDivision.user_id).where(StaffDivision.division_id == division_id)
    return db.session.scalars(select(User).where(
        User.role.in_(("staff", "admin")), User.active.is_(True),
        or_(User.id.in_(allowed), User.id.not_in(limited)))).all()


# -- e-mail ----------------------------------------------------------------------------------

def _ticket_url(ticket: Ticket, staff: bool) -> str | None:
    endpoint = "service.staff_ticket" if staff else "tickets.show"
    if endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, protocol=ticket.protocol, _external=True)


def _subject(ticket: Ticket, text: str) -> str:
    return f"[{ticket.protocol}] {text}"


def _notify_client(ticket: Ticket, template: str, body: str | None = None) -> None:
    client = ticket.client or db.session.get(User, ticket.client_id)
    if not client.email:
        return
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        subjects = {"received": _("We received your request"),
                    "staff_reply": _("New reply to your request"),
                    "feedback_request": _("We need your reply"),
                    "status_change": _("Your request is now: %(status)s",
                                       status=status_label(ticket.status))}
        mail.queue(client.email, _subject(ticket, subjects[template]), f"tickets/{template}",
                   ticket=ticket, body=body, url=_ticket_url(ticket, staff=False),
                   status=status_label(ticket.status), recipient=client)


def _notify_staff(ticket: Ticket, template: str, body: str | None = None) -> None:
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        subject = (_("New request: %(title)s", title=ticket.title) if template == "new_ticket"
                   else _("The client replied"))
        for member in staff_for_division(ticket.division_id):
            mail.queue(member.email, _subject(ticket, subject), f"tickets/{template}",
                       ticket=ticket, body=body, url=_ticket_url(ticket, staff=True),
                       recipient=member, client=ticket.client or
                       db.session.get(User, ticket.client_id))


def visible_since(now: datetime):
    """Finished tickets stop being listed this long after they finished (None: always)."""
    from datetime import timedelta

    days = current_app.extensions["portal"]["features"]["finished_ticket_visibility_days"]
    return now - timedelta(days=days) if days else None


def is_open(ticket: Ticket) -> bool:
    return ticket.status in OPEN
