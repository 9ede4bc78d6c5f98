"""The staff desk: the queue by division, a ticket's page, the dashboard and exports."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import joinedload
from wtforms.fields.choices import SelectChoice

from ... import spreadsheet, uploads
from ...erp.models import CommonArea, Development, Unit
from ...extensions import db
from ...i18n import to_local, to_utc
from ...inputs import int_arg, page_arg
from ...models import User, utcnow
from ...staff import staff_required
from .. import handled
from . import api, place, service, service_bp, sla
from .client import send_attachment
from .forms import AssignForm, ExportForm, StaffMoveForm, StaffReplyForm
from .models import (
    OPEN,
    STATUSES,
    StaffDivision,
    Ticket,
    TicketAttachment,
)

PER_PAGE = 25


def _scope(query):
    """Limit a ticket query to the divisions the staff member may see."""
    allowed = service.staff_division_ids(current_user)
    return query if allowed is None else query.where(Ticket.division_id.in_(allowed))


def _divisions() -> list[dict]:
    allowed = service.staff_division_ids(current_user)
    return [d for g in current_app.extensions["portal"]["divisions"] for d in g["divisions"]
            if allowed is None or d["id"] in allowed]


@service_bp.get("/staff/tickets")
@staff_required
def staff_queue():
    now = utcnow()
    args = request.args
    query = _scope(select(Ticket).options(joinedload(Ticket.client), joinedload(Ticket.assignee),
                                          *place.loaded()))
    division = args.get("division", "")
    if division:
        query = query.where(Ticket.division_id == division)
    if args.get("development") == "none":
        query = query.where(Ticket.unit_id.is_(None), Ticket.common_area_id.is_(None))
    else:
        development = int_arg("development")
        if development is not None:
            query = query.where(_in_development(development))
    status = args.get("status", "open")
    if status == "open":
        query = query.where(Ticket.status.in_(OPEN))
    elif status in STATUSES:
        query = query.where(Ticket.status == status)
    if args.get("overdue"):
        query = query.where(Ticket.status.in_(OPEN), Ticket.sla_paused_since.is_(None),
                            Ticket.sla_due_at < now)
    assignee = args.get("assignee", "")
    if assignee == "me":
        query = query.where(Ticket.assignee_id == current_user.id)
    elif assignee == "none":
        query = query.where(Ticket.assignee_id.is_(None))
    text = args.get("q", "").strip()[:100]
    if text:
        like = f"%{text.lower()}%"
        query = query.join(User, User.id == Ticket.client_id).where(or_(
            Ticket.protocol.like(like), func.lower(Ticket.title).like(like),
            func.lower(Ticket.description).like(like), func.lower(User.name).like(like)))
    query = query.order_by(case((Ticket.sla_paused_since.is_(None), 0), else_=1),
                           Ticket.sla_due_at, Ticket.id)
    page = db.paginate(query, page=page_arg(PER_PAGE), per_page=PER_PAGE, error_out=False)
    return render_template("tickets/staff_queue.html", page=page, now=now, sla=sla,
                           divisions=_divisions(), label=service.staff_status_label,
                           statuses=STATUSES, args=args, division_names=_division_names(),
                           developments=_developments(),
                           query_args={k: v for k, v in args.items() if k != "page"})


def _in_development(development_id: int):
    """Tickets about a unit or a common area of one development."""
    return or_(Ticket.unit_id.in_(select(Unit.id).where(Unit.development_id == development_id)),
               Ticket.common_area_id.in_(select(CommonArea.id).where(
                   CommonArea.development_id == development_id)))


def _developments() -> list:
    """(id, name) of every development, for the queue's filter (none without an ERP)."""
    return db.session.execute(select(Development.id, Development.name)
                              .order_by(Development.name)).all()


def _division_names() -> dict[str, str]:
    return {d["id"]: d["label"] for g in current_app.extensions["portal"]["divisions"]
            for d in g["divisions"]}


def _staff_ticket(protocol: str) -> Ticket:
    ticket = db.session.scalar(_scope(select(Ticket).options(joinedload(Ticket.client),
                                                             *place.loaded())
                                      .where(Ticket.protocol == protocol)))
    if ticket is None:
        abort(404)
    return ticket


def _staff_page(ticket: Ticket, **forms):
    messages, events, files = service.records(ticket, internal=True)
    others = db.session.scalars(_scope(select(Ticket)).where(
        Ticket.client_id == ticket.client_id, Ticket.id != ticket.id)
        .order_by(Ticket.created_at.desc()).limit(10)).all()
    move = forms.pop("move_form", None) or StaffMoveForm()
    move.to.choices = [SelectChoice(s, service.staff_status_label(s))
                       for s in service.STAFF_MOVES[ticket.status]]
    assign = forms.pop("assign_form", None) or AssignForm(assignee=str(ticket.assignee_id or ""))
    team = service.staff_for_division(ticket.division_id)
    assign.assignee.choices = [SelectChoice("", _("Nobody")),
                               *(SelectChoice(str(u.id), u.name) for u in team)]
    status = 400 if request.method == "POST" else 200
    return render_template("tickets/staff_ticket.html", ticket=ticket, messages=messages,
                           events=events, files=files, others=others, now=utcnow(), sla=sla,
                           label=service.staff_status_label, move_form=move, assign_form=assign,
                           reply_form=forms.pop("reply_form", None) or StaffReplyForm(),
                           division_names=_division_names(),
                           can_apply=ticket.status in OPEN and applicable(ticket), **forms), status


@service_bp.get("/staff/tickets/<protocol>")
@staff_required
def staff_ticket(protocol: str):
    return _staff_page(_staff_ticket(protocol))


def _saved(ticket: Ticket, message: str):
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("service.staff_ticket", protocol=ticket.protocol))


@service_bp.post("/staff/tickets/<protocol>/reply")
@staff_required
def staff_reply(protocol: str):
    ticket = _staff_ticket(protocol)
    form = StaffReplyForm()
    if form.validate_on_submit():
        try:
            files = uploads.read(request.files.getlist("files"))
        except uploads.UploadError as exc:
            form.files.errors = [str(exc)]
        else:
            service.staff_reply(ticket, current_user, form.body.data, files,
                                internal=form.internal.data)
            return _saved(ticket, _("Internal note added.") if form.internal.data
                          else _("Reply sent to the client."))
    return _staff_page(ticket, reply_form=form)


@service_bp.post("/staff/tickets/<protocol>/move")
@staff_required
def staff_move(protocol: str):
    ticket = _staff_ticket(protocol)
    form = StaffMoveForm()
    form.to.choices = list(service.STAFF_MOVES[ticket.status])
    if form.validate_on_submit():
        try:
            service.staff_move(ticket, current_user, form.to.data, form.note.data)
        except service.TicketError as exc:
            form.note.errors = [str(exc)]
        else:
            return _saved(ticket, _("Status changed to: %(status)s",
                                    status=service.staff_status_label(ticket.status)))
    return _staff_page(ticket, move_form=form)


@service_bp.post("/staff/tickets/<protocol>/assign")
@staff_required
def staff_assign(protocol: str):
    ticket = _staff_ticket(protocol)
    form = AssignForm()
    team = service.staff_for_division(ticket.division_id)
    form.assignee.choices = ["", *(str(u.id) for u in team)]
    if form.validate_on_submit():
        chosen = next((u for u in team if str(u.id) == form.assignee.data), None)
        service.assign(ticket, current_user, chosen)
        return _saved(ticket, _("Assigned to %(name)s.", name=chosen.name) if chosen
                      else _("Nobody is assigned now."))
    return _staff_page(ticket, assign_form=form)


@service_bp.post("/staff/tickets/<protocol>/take")
@staff_required
def staff_take(protocol: str):
    ticket = _staff_ticket(protocol)
    service.assign(ticket, current_user, current_user)
    return _saved(ticket, _("Assigned to %(name)s.", name=current_user.name))


@service_bp.post("/staff/tickets/<protocol>/apply-change")
@staff_required
def staff_apply_change(protocol: str):
    """Apply what the client asked for (the module that opened the ticket does), then resolve."""
    ticket = _staff_ticket(protocol)
    if not (ticket.status in OPEN and applicable(ticket)):
        abort(400)
    try:  # e.g. the profile module records the change so that ERP imports keep it
        api.apply_requested.send(ticket.origin, ticket=ticket, by=current_user,
                                 client=db.session.get(User, ticket.client_id))
    except api.ApplyRefused as exc:
        flash(str(exc), "danger")
        return redirect(url_for("service.staff_ticket", protocol=ticket.protocol))
    service.staff_move(ticket, current_user, "resolved", _("Your data was updated."))
    return _saved(ticket, _("The client's data was updated."))


def applicable(ticket: Ticket) -> bool:
    """Whether a module this portal runs applies tickets of this one's origin."""
    return ticket.origin is not None and handled(api.apply_requested, ticket.origin)


@service_bp.get("/staff/tickets/<protocol>/files/<int:file_id>")
@staff_required
def staff_file(protocol: str, file_id: int):
    ticket = _staff_ticket(protocol)
    attachment = db.session.scalar(select(TicketAttachment).where(
        TicketAttachment.id == file_id, TicketAttachment.ticket_id == ticket.id))
    if attachment is None:
        abort(404)
    return send_attachment(attachment)


# -- dashboard and export ------------------------------------------------------------------

@service_bp.get("/staff/tickets/dashboard")
@staff_required
def staff_dashboard():
    now = utcnow()
    scoped = _scope(select(Ticket)).subquery()
    by = db.session.execute(select(scoped.c.division_id, scoped.c.status, func.count())
                            .group_by(scoped.c.division_id, scoped.c.status)).all()
    table: dict[str, dict[str, int]] = {}
    for division_id, status, count in by:
        table.setdefault(division_id, {})[status] = count
    by_development = _by_development(scoped)
    resolved = db.session.execute(select(
        func.count(),
        func.sum(case((scoped.c.resolved_at <= scoped.c.sla_due_at, 1), else_=0)),
        func.avg(scoped.c.rating),
        func.count(scoped.c.rating),
    ).where(scoped.c.resolved_at.is_not(None))).one()
    durations = db.session.execute(select(scoped.c.created_at, scoped.c.finished_at).where(
        scoped.c.finished_at.is_not(None))).all()
    average = (sum(((f - c) for c, f in durations), timedelta()) / len(durations)
               if durations else None)
    overdue = db.session.scalar(select(func.count()).select_from(scoped).where(
        scoped.c.status.in_(OPEN), scoped.c.sla_paused_since.is_(None),
        scoped.c.sla_due_at < now))
    total_resolved, in_time, avg_rating, ratings = resolved
    export = ExportForm(formdata=None, start=(to_local(now) - timedelta(days=30)).date(),
                        end=to_local(now).date())
    return render_template("tickets/staff_dashboard.html", table=table, statuses=STATUSES,
                           label=service.staff_status_label, division_names=_division_names(),
                           compliance=(in_time or 0) / total_resolved if total_resolved else None,
                           total_resolved=total_resolved, average=average, overdue=overdue,
                           avg_rating=avg_rating, ratings=ratings, export=export,
                           by_development=by_development)


def _by_development(scoped) -> list[tuple[int | None, str | None, dict[str, int]]]:
    """(id, name, {status: count}) per development, by name; tickets without a place last."""
    development_id = func.coalesce(Unit.development_id, CommonArea.development_id)
    rows = db.session.execute(
        select(Development.id, Development.name, scoped.c.status, func.count())
        .select_from(scoped)
        .outerjoin(Unit, Unit.id == scoped.c.unit_id)
        .outerjoin(CommonArea, CommonArea.id == scoped.c.common_area_id)
        .outerjoin(Development, Development.id == development_id)
        .group_by(Development.id, Development.name, scoped.c.status)).all()
    grouped: dict[int | None, tuple[str | None, dict[str, int]]] = {}
    for ident, name, status, count in rows:
        grouped.setdefault(ident, (name, {}))[1][status] = count
    return sorted(((i, n, c) for i, (n, c) in grouped.items()),
                  key=lambda row: (row[0] is None, (row[1] or "").casefold()))


@service_bp.get("/staff/tickets/export.csv")
@staff_required
def staff_export():
    form = ExportForm(request.args)
    if not form.validate() or form.start.data > form.end.data:
        flash(_("Choose a valid period to export."), "danger")
        return redirect(url_for("service.staff_dashboard"))
    start = to_utc(datetime.combine(form.start.data, time.min))
    end = to_utc(datetime.combine(form.end.data + timedelta(days=1), time.min))
    rows = db.session.scalars(_scope(select(Ticket).options(
        joinedload(Ticket.client), joinedload(Ticket.assignee), *place.loaded())).where(
        Ticket.created_at >= start, Ticket.created_at < end).order_by(Ticket.created_at)).all()
    names = _division_names()
    rows = ([t.protocol, _iso(t.created_at), names.get(t.division_id, t.division_id),
             t.title, *_place_cells(t), t.client.name, t.client.email or "",
             service.staff_status_label(t.status),
             t.assignee.name if t.assignee else "", _iso(t.sla_due_at), _iso(t.resolved_at),
             "" if (met := sla.met(t)) is None else (_("Yes") if met else _("No")),
             _iso(t.finished_at), t.rating or ""] for t in rows)
    return spreadsheet.download(f"tickets-{form.start.data}-{form.end.data}.csv",
                                _export_headers(), rows)


def _export_headers() -> list[str]:
    """The export's column names, in the tenant's language (staff open it in a spreadsheet)."""
    return [_("Protocol"), _("Opened at"), _("Division"), _("Request"), _("Development"),
            _("Place"), _("Client"),
            _("E-mail"), _("Status"), _("Assigned to"), _("Answer by"), _("Resolved at"),
            _("SLA met"), _("Finished at"), _("Rating")]


def _place_cells(ticket: Ticket) -> tuple[str, str]:
    """The development, and the tower and unit (or the common area) a ticket is about."""
    if ticket.unit is not None:
        unit = ticket.unit
        return unit.development.name, " · ".join(p for p in (unit.tower, unit.code) if p)
    if ticket.common_area is not None:
        area = ticket.common_area
        return area.development.name, _("Common area: %(name)s", name=area.name)
    return "", ""


def _iso(value: datetime | None) -> str:
    return to_local(value).isoformat(timespec="minutes") if value else ""


# -- division limits of staff members ----------------------------------------------------------

@service_bp.post("/staff/accounts/<int:user_id>/divisions")
@staff_required
def staff_divisions(user_id: int):
    if current_user.role != "admin":
        abort(403)
    member = db.get_or_404(User, user_id)
    if not member.is_staff:
        abort(400)
    known = set(_division_names())
    chosen = [d for d in request.form.getlist("divisions") if d in known]
    db.session.execute(StaffDivision.__table__.delete().where(StaffDivision.user_id == member.id))
    db.session.add_all(StaffDivision(user_id=member.id, division_id=d) for d in chosen)
    db.session.commit()
    flash(_("Divisions saved."), "success")
    return redirect(url_for("staff.client", user_id=member.id))
