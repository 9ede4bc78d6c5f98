"""A client's "My tickets": filters, the ticket page and what the client may do there."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import ColumnElement, Select, and_, bindparam, func, or_, select
from sqlalchemy.orm import aliased

from ... import ratelimit, uploads
from ...erp.models import CommonArea, Development, Unit
from ...extensions import db
from ...inputs import page_arg
from ...models import utcnow
from ...paging import paged, rows, rows_page
from . import place, service, sla, stages, syndic, tickets_bp
from .forms import CancelForm, RateForm, RejectForm
from .models import FILTERS, Ticket, TicketAttachment, TicketMessage

PER_PAGE = 20


def _settings() -> dict:
    return current_app.extensions["portal"]["modules"]["tickets"]


@dataclass(frozen=True)
class _Named:
    name: str


@dataclass(frozen=True)
class _ListedUnit:
    code: str
    tower: str | None
    development: _Named


@dataclass(frozen=True)
class _ListedArea:
    name: str
    development: _Named


@dataclass(frozen=True)
class Listed:
    """A ticket as "My tickets" lists it (tickets/_macros.html reads these names): rows of
    the columns shown, where ORM objects would load the description and answers too."""

    protocol: str
    title: str
    status: str
    created_at: datetime
    sla_due_at: datetime
    sla_paused_since: datetime | None
    resolved_at: datetime | None
    unit: _ListedUnit | None
    common_area: _ListedArea | None

    @classmethod
    def of(cls, row) -> Listed:
        unit = area = None
        if row.unit_id is not None:
            unit = _ListedUnit(row.unit_code, row.unit_tower, _Named(row.unit_development))
        elif row.common_area_id is not None:
            area = _ListedArea(row.area_name, _Named(row.area_development))
        return cls(row.protocol, row.title, row.status, row.created_at, row.sla_due_at,
                   row.sla_paused_since, row.resolved_at, unit, area)


_UNIT_DEVELOPMENT, _AREA_DEVELOPMENT = aliased(Development), aliased(Development)
_LISTED = (select(Ticket.protocol, Ticket.title, Ticket.status, Ticket.created_at,
                  Ticket.sla_due_at, Ticket.sla_paused_since, Ticket.resolved_at,
                  Ticket.unit_id, Ticket.common_area_id, Unit.code.label("unit_code"),
                  Unit.tower.label("unit_tower"),
                  _UNIT_DEVELOPMENT.name.label("unit_development"),
                  CommonArea.name.label("area_name"),
                  _AREA_DEVELOPMENT.name.label("area_development"))
           .outerjoin(Unit, Unit.id == Ticket.unit_id)
           .outerjoin(_UNIT_DEVELOPMENT, _UNIT_DEVELOPMENT.id == Unit.development_id)
           .outerjoin(CommonArea, CommonArea.id == Ticket.common_area_id)
           .outerjoin(_AREA_DEVELOPMENT, _AREA_DEVELOPMENT.id == CommonArea.development_id))


class Listing(NamedTuple):
    """The statements of "My tickets": counts per status, a page of rows, the ones to rate."""

    counts: Select
    rows: Select
    to_rate: Select


def _listing(view: str, fading: bool, search: ColumnElement[bool] | None = None) -> Listing:
    """The client's tickets that are still listed in portal `view` (tickets/syndic.py).

    `fading`: finished ones stop being listed after a while (parameter `since`). Parameters:
    those of syndic.following(), `since`, `statuses` (the filter's) and the page's.
    """
    where = [syndic.FOLLOWED[view]]
    if fading:
        where.append(or_(Ticket.status != "finished", Ticket.finished_at >= bindparam("since")))
    if search is not None:
        where.append(search)
    return Listing(
        counts=select(Ticket.status, func.count()).where(*where).group_by(Ticket.status),
        rows=paged(_LISTED.where(*where, Ticket.status.in_(bindparam("statuses", expanding=True)))
                   .order_by(Ticket.updated_at.desc(), Ticket.id.desc())),
        to_rate=select(Ticket.protocol).where(*where, Ticket.status == "finished",
                                              Ticket.rating.is_(None))
        .order_by(Ticket.finished_at.desc()).limit(5))


_LISTINGS = {(view, fading): _listing(view, fading)
             for view in syndic.FOLLOWED for fading in (False, True)}


@tickets_bp.get("/tickets")
@login_required
def index():
    now = utcnow()
    filters = _settings()["filters"]
    current = request.args.get("filter", filters[0])
    if current not in filters:
        current = filters[0]
    text = request.args.get("q", "").strip()[:100]
    view, params = syndic.following()
    since = service.visible_since(now)
    # a search is a statement of its own; the plain list's are built once
    listing = (_listing(view, since is not None, _matches(text)) if text
               else _LISTINGS[view, since is not None])
    params["since"] = since
    by_status = dict(rows(listing.counts, params))
    counts = {name: sum(by_status.get(s, 0) for s in FILTERS[name]) for name in filters}
    page = rows_page(page_arg(PER_PAGE), PER_PAGE, rows=listing.rows, total=counts[current],
                     params={**params, "statuses": list(FILTERS[current])})
    page.items = [Listed.of(row) for row in page.items]
    to_rate = []
    if _settings()["evaluation"]:
        to_rate = rows(listing.to_rate, params)
    return render_template("tickets/index.html", page=page, counts=counts, filters=filters,
                           current=current, q=text, to_rate=to_rate, now=now,
                           label=service.status_labels().__getitem__, sla=sla,
                           syndic_view=syndic.in_syndic_view())


def _matches(text: str):
    """Tickets whose protocol, title, description or public thread mentions `text`.

    Internal notes are staff-only and never match: a client could otherwise probe them.
    A subquery, so the search stays inside the page's one listing statement.
    """
    needle = text.lower()

    def has(column):  # "50%" or "a_b" are searched as typed, not as LIKE patterns
        return func.lower(column).contains(needle, autoescape=True)

    replies = select(TicketMessage.ticket_id).where(TicketMessage.internal.is_(False),
                                                    has(TicketMessage.body))
    return or_(has(Ticket.protocol), has(Ticket.title), has(Ticket.description),
               Ticket.id.in_(replies))


_OWN = {view: select(Ticket).options(*place.loaded()).where(
    Ticket.protocol == bindparam("protocol"),
    or_(followed, Ticket.client_id == bindparam("follower")))
    for view, followed in syndic.FOLLOWED.items()}


def own_ticket(protocol: str) -> Ticket:
    """The logged-in client's ticket, or 404: another client's ticket does not exist here.

    In the building manager's portal: a common-area request of a development they manage
    (tickets/syndic.py), never another buyer's. One's own request opens in either portal,
    so the link in its e-mails works whichever portal one is in.
    """
    view, params = syndic.following()
    ticket = db.session.scalar(_OWN[view], {**params, "protocol": protocol})
    if ticket is None:
        abort(404)
    return ticket


def _page(ticket: Ticket, **forms):
    messages, events, files = service.records(ticket, internal=False)
    handlers = {e.actor.name for e in events if e.actor and e.actor.is_staff}
    handling = (ticket.finished_at - ticket.created_at) if ticket.finished_at else None
    context = {"reply_form": stages.reply_form(ticket), "reject_form": RejectForm(),
               "cancel_form": CancelForm(), "rate_form": RateForm(), **forms}
    status = 400 if request.method == "POST" else 200
    return render_template("tickets/show.html", ticket=ticket, messages=messages, events=events,
                           files=files, handlers=sorted(handlers), handling=handling,
                           shown_answers=stages.client_answers(ticket),
                           label=service.status_label, now=utcnow(), sla=sla,
                           can_cancel=ticket.status in service.CLIENT_CAN_CANCEL,
                           evaluation=_settings()["evaluation"],
                           # building managers share requests: whose it is
                           opened_by=ticket.client if syndic.in_syndic_view() else None,
                           **context), status


@tickets_bp.get("/tickets/<protocol>")
@login_required
def show(protocol: str):
    return _page(own_ticket(protocol))


def _refused(ticket: Ticket, exc: Exception):
    """An action the ticket's state no longer allows (another tab, a stale page)."""
    flash(str(exc), "danger")
    return redirect(url_for("tickets.show", protocol=ticket.protocol))


def _done(ticket: Ticket, message: str):
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("tickets.show", protocol=ticket.protocol))


@tickets_bp.post("/tickets/<protocol>/reply")
@ratelimit.limited("write")
@login_required
def reply(protocol: str):
    ticket = own_ticket(protocol)
    form = stages.reply_form(ticket, posted=True)
    if form.validate_on_submit():
        try:
            used = db.session.scalar(select(func.coalesce(func.sum(TicketAttachment.size), 0))
                                     .where(TicketAttachment.ticket_id == ticket.id))
            files = uploads.read(request.files.getlist("files"), already=used)
            stages.client_fields_sent(ticket, form)  # before the reply moves the ticket on
            service.client_reply(ticket, current_user, form.body.data, files)
        except uploads.UploadError as exc:
            form.files.errors = [str(exc)]
        except service.TicketError as exc:
            return _refused(ticket, exc)
        else:
            return _done(ticket, _("Message sent."))
    return _page(ticket, reply_form=form)


@tickets_bp.post("/tickets/<protocol>/approve")
@login_required
def approve(protocol: str):
    ticket = own_ticket(protocol)  # CSRFProtect has checked the form's token already
    try:
        service.client_approve(ticket, current_user)
    except service.TicketError as exc:
        return _refused(ticket, exc)
    return _done(ticket, _("Thank you! The ticket is finished."))


def _form_action(ticket: Ticket, form, page_key: str, action, message: str):
    """Validate a client's form and run `action(form)`; a state error is flashed."""
    if form.validate_on_submit():
        try:
            action(form)
        except service.TicketError as exc:
            return _refused(ticket, exc)
        return _done(ticket, message)
    return _page(ticket, **{page_key: form})


@tickets_bp.post("/tickets/<protocol>/reject")
@login_required
def reject(protocol: str):
    ticket = own_ticket(protocol)
    return _form_action(ticket, RejectForm(), "reject_form",
                        lambda f: service.client_reject(ticket, current_user, f.reason.data),
                        _("We reopened the ticket and will get back to you."))


@tickets_bp.post("/tickets/<protocol>/cancel")
@login_required
def cancel(protocol: str):
    ticket = own_ticket(protocol)
    return _form_action(ticket, CancelForm(), "cancel_form",
                        lambda f: service.client_cancel(ticket, current_user, f.reason.data),
                        _("The ticket was cancelled."))


@tickets_bp.post("/tickets/<protocol>/rate")
@login_required
def rate(protocol: str):
    ticket = own_ticket(protocol)
    if not _settings()["evaluation"]:
        abort(404)
    return _form_action(ticket, RateForm(), "rate_form",
                        lambda f: service.rate(ticket, int(f.rating.data), f.comment.data),
                        _("Thank you for your rating!"))


def send_attachment(attachment: TicketAttachment):
    return uploads.send(service.FILES, attachment.stored_name, attachment.mimetype,
                        attachment.filename)


@tickets_bp.get("/tickets/<protocol>/files/<int:file_id>")
@login_required
def file(protocol: str, file_id: int):
    ticket = own_ticket(protocol)
    attachment = db.session.scalar(select(TicketAttachment).where(and_(
        TicketAttachment.id == file_id, TicketAttachment.ticket_id == ticket.id,
        TicketAttachment.internal.is_(False))))
    if attachment is None:
        abort(404)
    return send_attachment(attachment)
