"""An administrator deletes a cancelled request for good (TOTVS): its thread, history and files.

Only `cancelled` tickets, only administrators, after a confirmation page; the audit log
keeps who deleted which protocol of which client. Files leave storage once the deletion
is committed, so a failed commit never loses a file of a ticket that still exists.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import delete, func, select

from ... import access, uploads
from ...extensions import db
from ...inputs import PortalForm
from ...staff import staff_required
from . import service, service_bp
from .models import Ticket, TicketAttachment, TicketEvent, TicketMessage
from .staff import _staff_ticket


class DeleteForm(PortalForm):
    """The confirmation: a button, its CSRF token."""


def may_delete(ticket: Ticket) -> bool:
    return current_user.role == "admin" and ticket.status == "cancelled"


def _refuse(ticket: Ticket):
    """Not an admin, or a ticket that is not cancelled: say so on the ticket's page."""
    if current_user.role != "admin":
        message, code = _("Only administrators delete requests."), 403
    else:
        message, code = _("Only a cancelled request can be deleted."), 400
    if request.method == "GET":
        return render_template("errors/error.html", code=code, message=message), code
    flash(message, "danger")
    return redirect(url_for("service.staff_ticket", protocol=ticket.protocol))


@service_bp.route("/staff/tickets/<protocol>/delete", methods=["GET", "POST"])
@staff_required
def staff_delete(protocol: str):
    """Confirm, then delete a cancelled ticket with everything it holds."""
    ticket = _staff_ticket(protocol)
    if not may_delete(ticket):
        return _refuse(ticket)
    form = DeleteForm()
    if form.validate_on_submit():
        stored = _delete(ticket)
        for name in stored:
            uploads.remove(service.FILES, name)
        flash(_("Request %(protocol)s was deleted.", protocol=protocol), "success")
        return redirect(url_for("service.staff_queue", status="cancelled"))
    counts = db.session.execute(select(
        select(func.count()).where(TicketMessage.ticket_id == ticket.id).scalar_subquery(),
        select(func.count()).where(TicketAttachment.ticket_id == ticket.id).scalar_subquery(),
    )).one()
    status = 400 if request.method == "POST" else 200
    return render_template("tickets/staff_delete.html", ticket=ticket, form=form,
                           messages=counts[0], files=counts[1]), status


def _delete(ticket: Ticket) -> list[str]:
    """Delete the ticket's rows and record it (committed); return its stored file names."""
    stored = list(db.session.scalars(select(TicketAttachment.stored_name)
                                     .where(TicketAttachment.ticket_id == ticket.id)))
    detail = f"{ticket.protocol} · {ticket.title}"
    if stored:
        detail += " · " + _("%(num)d file(s)", num=len(stored))
    access.audit(current_user, "ticket_deleted", ticket.client, detail)
    for model in (TicketAttachment, TicketMessage, TicketEvent):
        db.session.execute(delete(model).where(model.ticket_id == ticket.id))
    db.session.delete(ticket)
    db.session.commit()
    return stored
