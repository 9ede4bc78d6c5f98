"""A client's "My tickets": filters, the ticket page and what the client may do there."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import and_, func, or_, select

from ... import ratelimit, uploads
from ...extensions import db
from ...inputs import page_arg
from ...models import utcnow
from . import place, service, sla, stages, syndic, tickets_bp
from .forms import CancelForm, RateForm, RejectForm
from .models import FILTERS, Ticket, TicketAttachment, TicketMessage

PER_PAGE = 20


def _settings() -> dict:
    return current_app.extensions["portal"]["modules"]["tickets"]


def _listed(now):
    """The client's tickets that are still listed (finished ones fade out)."""
    query = select(Ticket).options(*place.loaded()).where(syndic.followed())
    since = service.visible_since(now)
    if since is not None:
        query = query.where(or_(Ticket.status != "finished", Ticket.finished_at >= since))
    return query


@tickets_bp.get("/tickets")
@login_required
def index():
    now = utcnow()
    filters = _settings()["filters"]
    current = request.args.get("filter", filters[0])
    if current not in filters:
        current = filters[0]
    text = request.args.get("q", "").strip()[:100]
    listed = _listed(now)
    if text:
        listed = listed.where(_matches(text))
    # one query counts every filter
    listed_rows = listed.subquery()
    by_status = dict(db.session.execute(
        select(listed_rows.c.status, func.count()).group_by(listed_rows.c.status)).all())
    counts = {name: sum(by_status.get(s, 0) for s in FILTERS[name]) for name in filters}
    query = listed.where(Ticket.status.in_(FILTERS[current])).order_by(Ticket.updated_at.desc(),
                                                                       Ticket.id.desc())
    page = db.paginate(query, page=page_arg(PER_PAGE), per_page=PER_PAGE, error_out=False,
                       count=False)
    page.total = counts[current]
    to_rate = []
    if _settings()["evaluation"]:
        to_rate = db.session.scalars(listed.where(Ticket.status == "finished",
                                                  Ticket.rating.is_(None))
                                     .order_by(Ticket.finished_at.desc()).limit(5)).all()
    return render_template("tickets/index.html", page=page, counts=counts, filters=filters,
                           current=current, q=text, to_rate=to_rate, now=now,
                           label=service.status_label, sla=sla,
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


def own_ticket(protocol: str) -> Ticket:
    """The logged-in client's ticket, or 404: another client's ticket does not exist here.

    In the building manager's portal: a common-area request of a development they manage
    (tickets/syndic.py), never another buyer's. One's own request opens in either portal,
    so the link in its e-mails works whichever portal one is in.
    """
    ticket = db.session.scalar(select(Ticket).options(*place.loaded()).where(
        Ticket.protocol == protocol, or_(syndic.followed(), Ticket.client_id == current_user.id)))
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
