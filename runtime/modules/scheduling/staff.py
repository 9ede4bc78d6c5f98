"""Scheduling in the staff console: list, day and week calendars, an appointment's
actions (confirm, done, no-show, cancel, technician, a request from the visit) and the
blocked dates."""

from __future__ import annotations

from datetime import date, timedelta

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ...erp.models import Development
from ...extensions import db
from ...i18n import to_local
from ...inputs import page_arg
from ...models import STAFF_ROLES, User
from ...staff import staff_required
from ..tickets import api as desk
from . import bp, service
from .forms import BlockForm, ConfirmForm, StatusForm, TechnicianForm, TicketForm
from .models import ACTIVE, STATUSES, Appointment, BlockedDate

PER_PAGE = 25
VIEWS = ("list", "day", "week")


def status_labels() -> dict[str, str]:
    return {"booked": _("Awaiting confirmation"), "confirmed": _("Confirmed"),
            "done": _("Done"), "no_show": _("No-show"), "cancelled": _("Cancelled")}


# what staff may move an appointment to, from each status
MOVES = {"booked": ("confirmed", "cancelled"), "confirmed": ("done", "no_show", "cancelled"),
         "done": ("confirmed",), "no_show": ("confirmed",), "cancelled": ()}
MOVE_LABELS = {"confirmed": _l("Confirm"), "done": _l("Mark as done"),
               "no_show": _l("Mark as no-show"), "cancelled": _l("Cancel the appointment")}


def _date_arg() -> date:
    try:
        return date.fromisoformat(request.args.get("date", ""))
    except ValueError:
        return service.today()


@bp.get("/staff/scheduling")
@staff_required
def staff_index():
    view = request.args.get("view") if request.args.get("view") in VIEWS else "list"
    status = request.args.get("status") if request.args.get("status") in STATUSES else None
    type_id = request.args.get("type") or None
    day = _date_arg()
    query = (select(Appointment).options(joinedload(Appointment.user),
                                         joinedload(Appointment.development),
                                         joinedload(Appointment.technician)))
    if status:
        query = query.where(Appointment.status == status)
    if type_id:
        query = query.where(Appointment.type_id == type_id)
    context = {"view": view, "status": status, "type_id": type_id, "day": day,
               "kinds": service.kinds(), "labels": status_labels(), "label": service.label,
               "to_local": to_local, "timedelta": timedelta, "today": service.today()}
    if view == "list":
        query = query.where(Appointment.starts_at >= service.day_bounds(day, 1)[0]) \
            .order_by(Appointment.starts_at, Appointment.id)
        context["page"] = db.paginate(query, page=page_arg(PER_PAGE), per_page=PER_PAGE,
                                      error_out=False)
    else:
        first = day - timedelta(days=day.weekday()) if view == "week" else day
        days = 7 if view == "week" else 1
        start, end = service.day_bounds(first, days)
        rows = db.session.scalars(query.where(Appointment.starts_at >= start,
                                              Appointment.starts_at < end)
                                  .order_by(Appointment.starts_at, Appointment.id)
                                  .limit(500)).all()
        by_day = {first + timedelta(days=i): [] for i in range(days)}
        for row in rows:
            by_day.setdefault(to_local(row.starts_at).date(), []).append(row)
        context.update(first=first, by_day=by_day, step=days)
    return render_template("scheduling/staff_index.html", **context)


def _appointment(appointment_id: int) -> Appointment:
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None:
        abort(404)
    return appointment


def _technicians() -> list[User]:
    return list(db.session.scalars(select(User).where(User.role.in_(STAFF_ROLES),
                                                      User.active.is_(True))
                                   .order_by(User.name)))


def _ticket_ref() -> dict | None:
    ref = service.settings().get("ticket")
    if ref and "service.staff_ticket" in current_app.view_functions:
        return ref
    return None


def _forms(appointment: Appointment, **given):
    status = given.get("status_form") or StatusForm(prefix="s")
    status.status.choices = [(s, str(MOVE_LABELS[s])) for s in MOVES[appointment.status]]
    tech = given.get("tech_form") or TechnicianForm(prefix="t", technician=(
        appointment.technician_id or 0))
    tech.technician.choices = [(0, _("Nobody yet"))] + [(u.id, u.name) for u in _technicians()]
    ticket = given.get("ticket_form") or TicketForm(prefix="k")
    return {"status_form": status, "tech_form": tech, "ticket_form": ticket}


def _render(appointment: Appointment, status=200, **given):
    ticket = None
    if appointment.ticket_id and "service.staff_ticket" in current_app.view_functions:
        ticket = db.session.get(desk.Ticket, appointment.ticket_id)
    return render_template("scheduling/staff_show.html", appointment=appointment,
                           labels=status_labels(), label=service.label, moves=MOVES,
                           move_labels=MOVE_LABELS, ticket_ref=_ticket_ref(), ticket=ticket,
                           **_forms(appointment, **given)), status


@bp.get("/staff/scheduling/<int:appointment_id>")
@staff_required
def staff_show(appointment_id: int):
    return _render(_appointment(appointment_id))


@bp.post("/staff/scheduling/<int:appointment_id>/status")
@staff_required
def staff_status(appointment_id: int):
    appointment = _appointment(appointment_id)
    form = StatusForm(prefix="s")
    form.status.choices = [(s, str(MOVE_LABELS[s])) for s in MOVES[appointment.status]]
    if not form.validate_on_submit():
        return _render(appointment, 422, status_form=form)
    if form.status.data == "cancelled":
        try:
            service.cancel(appointment, client=False)
        except service.BookingError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
            return redirect(url_for(".staff_show", appointment_id=appointment_id))
    elif form.status.data == "confirmed" and appointment.status not in ACTIVE:
        # back from done / no-show (a mistake corrected): the place was never given back,
        # and the client already had the confirmation
        appointment.status = "confirmed"
    else:
        service.set_status(appointment, form.status.data)
    db.session.commit()
    flash(_("Status changed to: %(status)s", status=status_labels()[appointment.status]),
          "success")
    return redirect(url_for(".staff_show", appointment_id=appointment_id))


@bp.post("/staff/scheduling/<int:appointment_id>/technician")
@staff_required
def staff_technician(appointment_id: int):
    appointment = _appointment(appointment_id)
    form = TechnicianForm(prefix="t")
    form.technician.choices = [(0, _("Nobody yet"))] + [(u.id, u.name)
                                                        for u in _technicians()]
    if not form.validate_on_submit():
        return _render(appointment, 422, tech_form=form)
    appointment.technician_id = form.technician.data or None
    db.session.commit()
    flash(_("Technician saved."), "success")
    return redirect(url_for(".staff_show", appointment_id=appointment_id))


@bp.post("/staff/scheduling/<int:appointment_id>/ticket")
@staff_required
def staff_ticket(appointment_id: int):
    appointment = _appointment(appointment_id)
    ref = _ticket_ref()
    if ref is None or appointment.ticket_id:
        abort(404)
    form = TicketForm(prefix="k")
    if not form.validate_on_submit():
        return _render(appointment, 422, ticket_form=form)
    heading = _("From the appointment “%(type)s” of %(when)s",
                type=service.label(appointment.type_id), when=service.when(appointment))
    ticket = desk.open_ticket(appointment.user, ref["division"], ref["request"],
                              description=f"{heading}\n\n{form.description.data}", answers=[],
                              files={}, origin="scheduling", unit_id=appointment.unit_id)
    appointment.ticket_id = ticket.id
    db.session.commit()
    flash(_("Request %(protocol)s opened for the client.", protocol=ticket.protocol),
          "success")
    return redirect(url_for("service.staff_ticket", protocol=ticket.protocol))


# -- blocked dates ---------------------------------------------------------------------------

def _block_form(form: BlockForm | None = None) -> BlockForm:
    form = form or BlockForm()
    form.development.choices = [(0, _("Every development"))] + [
        (d.id, d.name) for d in db.session.scalars(select(Development)
                                                   .order_by(Development.name))]
    return form


@bp.route("/staff/scheduling/blocked", methods=["GET", "POST"])
@staff_required
def staff_blocked():
    form = _block_form()
    status = 200
    if form.validate_on_submit():
        development_id = form.development.data or None
        duplicate = db.session.scalar(select(BlockedDate.id).where(
            BlockedDate.day == form.day.data, BlockedDate.development_id.is_(None)
            if development_id is None else BlockedDate.development_id == development_id))
        if duplicate:
            form.day.errors.append(_("This date is already blocked."))
        else:
            db.session.add(BlockedDate(day=form.day.data, development_id=development_id,
                                       reason=(form.reason.data or "").strip()))
            try:
                db.session.commit()
            except IntegrityError:
                db.session.rollback()
                form.day.errors.append(_("This date is already blocked."))
            else:
                flash(_("No appointments can be booked on %(day)s any more; appointments "
                        "already booked stay: cancel them one by one if needed.",
                        day=form.day.data.strftime("%d/%m/%Y")), "success")
                return redirect(url_for(".staff_blocked"))
        status = 422
    elif form.is_submitted():
        status = 422
    rows = db.session.scalars(select(BlockedDate).options(joinedload(BlockedDate.development))
                              .where(BlockedDate.day >= service.today())
                              .order_by(BlockedDate.day).limit(200)).all()
    return render_template("scheduling/staff_blocked.html", form=form, rows=rows,
                           delete_form=ConfirmForm()), status


@bp.post("/staff/scheduling/blocked/<int:block_id>/delete")
@staff_required
def staff_unblock(block_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    row = db.session.get(BlockedDate, block_id)
    if row is None:
        abort(404)
    db.session.delete(row)
    db.session.commit()
    flash(_("The date is open for appointments again."), "success")
    return redirect(url_for(".staff_blocked"))
