"""The client's screens: their appointments, booking in a week of free slots, changes."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ...erp.models import Development, Unit
from ...erp.scope import scope_of
from ...extensions import db
from ...models import utcnow
from . import bp, service
from .forms import ConfirmForm, SlotForm
from .models import ACTIVE, Appointment


def _developments() -> list[Development]:
    """The client's developments (their units'), by name; none for staff."""
    scope = scope_of(current_user)
    ids = scope.development_ids
    if scope.everything or not ids:  # staff book nothing for themselves
        return []
    return list(db.session.scalars(select(Development).where(Development.id.in_(ids))
                                   .order_by(Development.name)))


def _week_start(default: date) -> date:
    """The ?week= asked for (a date), never before today nor past the last bookable day."""
    try:
        asked = date.fromisoformat(request.args.get("week", ""))
    except ValueError:
        asked = default
    last = service.today() + timedelta(days=service.horizon())
    return min(max(asked, service.today()), last)


@bp.get("/scheduling")
@login_required
def index():
    now = utcnow()
    upcoming = service.upcoming(current_user.id, now, limit=50)
    past = db.session.scalars(
        select(Appointment).where(Appointment.user_id == current_user.id,
                                  ~Appointment.id.in_([a.id for a in upcoming] or [0]))
        .order_by(Appointment.starts_at.desc()).limit(20)).all()
    developments = _developments()
    offers = [(k, [d for d in developments if k.offered_at(d)]) for k in service.kinds()]
    return render_template("scheduling/index.html", upcoming=upcoming, past=past,
                           offers=[o for o in offers if o[1]], has_units=bool(developments),
                           label=service.label, can_change=service.can_change)


def _picker(k, development, developments, form, appointment=None, status=200):
    first = _week_start(service.today())
    days = service.week(k, development, first)
    earlier = first - timedelta(days=7) if first > service.today() else None
    later = first + timedelta(days=7)
    if later > service.today() + timedelta(days=service.horizon()):
        later = None
    return render_template("scheduling/book.html", kind=k, development=development,
                           developments=developments, days=days, form=form,
                           appointment=appointment, earlier=earlier, later=later,
                           first=first, label=service.label, zone=service.zone_name()), status


@bp.route("/scheduling/book/<type_id>", methods=["GET", "POST"])
@login_required
def book(type_id: str):
    k = service.kind(type_id)
    if k is None:
        abort(404)
    developments = [d for d in _developments() if k.offered_at(d)]
    if not developments:
        abort(404)
    wanted = request.values.get("development", type=int)
    development = next((d for d in developments if d.id == wanted), developments[0])
    form = SlotForm()
    if form.validate_on_submit():
        unit_id = db.session.scalar(select(Unit.id).where(
            Unit.id.in_(scope_of(current_user).unit_ids or [0]),
            Unit.development_id == development.id).order_by(Unit.code).limit(1))
        try:
            appointment = service.book(current_user, k, development, unit_id,
                                       form.slot.local, form.note.data or "")
            db.session.commit()
        except service.BookingError as exc:
            db.session.rollback()
            form.slot.errors.append(str(exc))
            return _picker(k, development, developments, form,
                           status=409 if isinstance(exc, service.SlotFull) else 422)
        flash(_("Your appointment is booked. We sent you an e-mail with the details."),
              "success")
        return redirect(url_for(".show", appointment_id=appointment.id))
    return _picker(k, development, developments, form,
                   status=422 if form.is_submitted() else 200)


def _own(appointment_id: int) -> Appointment:
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None or appointment.user_id != current_user.id:
        abort(404)
    return appointment


@bp.get("/scheduling/<int:appointment_id>")
@login_required
def show(appointment_id: int):
    appointment = _own(appointment_id)
    return render_template("scheduling/show.html", appointment=appointment,
                           label=service.label, can_change=service.can_change(appointment),
                           limit_hours=int(service.change_limit().total_seconds() // 3600),
                           form=ConfirmForm(), active=ACTIVE)


@bp.route("/scheduling/<int:appointment_id>/reschedule", methods=["GET", "POST"])
@login_required
def reschedule(appointment_id: int):
    appointment = _own(appointment_id)
    k = service.kind(appointment.type_id)
    if k is None or not service.can_change(appointment):
        flash(_("This appointment can no longer be changed here: please contact us."),
              "warning")
        return redirect(url_for(".show", appointment_id=appointment.id))
    form = SlotForm()
    if form.validate_on_submit():
        try:
            service.reschedule(appointment, form.slot.local)
            db.session.commit()
        except service.BookingError as exc:
            db.session.rollback()
            appointment = _own(appointment_id)
            form.slot.errors.append(str(exc))
            return _picker(k, appointment.development, [appointment.development], form,
                           appointment, status=409 if isinstance(exc, service.SlotFull)
                           else 422)
        flash(_("Your appointment was moved. We sent you an e-mail with the new time."),
              "success")
        return redirect(url_for(".show", appointment_id=appointment.id))
    return _picker(k, appointment.development, [appointment.development], form, appointment,
                   status=422 if form.is_submitted() else 200)


@bp.post("/scheduling/<int:appointment_id>/cancel")
@login_required
def cancel(appointment_id: int):
    appointment = _own(appointment_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        service.cancel(appointment, client=True)
        db.session.commit()
    except service.BookingError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
        return redirect(url_for(".show", appointment_id=appointment_id))
    flash(_("Your appointment was cancelled."), "success")
    return redirect(url_for(".index"))


@bp.get("/scheduling/<int:appointment_id>/appointment.ics")
@login_required
def calendar_file(appointment_id: int):
    appointment = _own(appointment_id)
    return Response(service.ics(appointment), mimetype="text/calendar",
                    headers={"Content-Disposition": "attachment; filename=appointment.ics"})
