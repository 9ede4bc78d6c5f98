"""Slots, bookings and their e-mails: the one place that takes and gives back a place.

A slot is a start time of an appointment type at a development, computed from the tenant
file (weekdays, hours, duration) minus the blocked dates; its taken places are counted in
a `scheduling_slots` row. A booking takes a place with one atomic UPDATE
(`booked = booked + 1 WHERE booked < capacity`): on PostgreSQL a second booking of the
last place waits for the first one's row lock, then finds the slot full; SQLite holds its
write lock for the whole statement. Capacity is never exceeded, whatever arrives at once.

Times are stored in UTC and shown and chosen in the tenant's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache

from flask import current_app, url_for
from flask_babel import force_locale, format_date, format_time
from flask_babel import gettext as _
from sqlalchemy import Select, bindparam, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ... import mail
from ...erp.models import Development
from ...extensions import db
from ...i18n import to_local, to_utc
from ...models import User, utcnow
from .models import ACTIVE, Appointment, BlockedDate, Slot

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class BookingError(ValueError):
    """A booking or change refused; the message is for the client."""


class SlotFull(BookingError):
    """The slot's last place was just taken."""


@dataclass(frozen=True)
class Kind:
    """An appointment type of the tenant file, its defaults filled from `hours`."""

    id: str
    label: str
    description: str
    duration: int  # minutes
    weekdays: tuple[int, ...]  # 0 = Monday
    start: time
    end: time
    capacity: int
    developments: tuple[str, ...]  # ERP ids of the developments offering it; () = all

    def offered_at(self, development: Development) -> bool:
        return not self.developments or development.external_id in self.developments

    def starts(self) -> list[time]:
        """The start times of one day's slots, in the tenant's zone."""
        out, minute = [], self.start.hour * 60 + self.start.minute
        last = self.end.hour * 60 + self.end.minute - self.duration
        while minute <= last:
            out.append(time(minute // 60, minute % 60))
            minute += self.duration
        return out


def settings() -> dict:
    return current_app.extensions["portal"]["modules"]["scheduling"]


def _clock(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def kinds() -> list[Kind]:
    conf = settings()
    hours = conf["hours"]
    out = []
    for item in conf["types"]:
        own = item.get("hours") or {}
        out.append(Kind(
            id=item["id"], label=item["label"], description=item.get("description", ""),
            duration=item["duration_minutes"],
            weekdays=tuple(WEEKDAYS.index(d) for d in own.get("weekdays", hours["weekdays"])),
            start=_clock(own.get("start", hours["start"])),
            end=_clock(own.get("end", hours["end"])),
            capacity=item.get("capacity", conf.get("capacity_per_slot", 1)),
            developments=tuple(item.get("developments", ()))))
    return out


def kind(type_id: str) -> Kind | None:
    return next((k for k in kinds() if k.id == type_id), None)


def label(type_id: str) -> str:
    """The type's label; a type removed from the tenant file keeps its id."""
    found = kind(type_id)
    return found.label if found else type_id


def change_limit() -> timedelta:
    return timedelta(hours=settings().get("change_limit_hours", 24))


def horizon() -> int:
    return settings().get("days_ahead", 30)


def zone_name() -> str:
    """The tenant's time zone as people say it ("Brasília Time"), in the page's language."""
    from babel.dates import get_timezone, get_timezone_name
    from flask_babel import get_locale

    from ...i18n import portal_timezone

    try:
        return get_timezone_name(get_timezone(portal_timezone()), locale=get_locale())
    except (LookupError, ValueError):
        return portal_timezone()


def today() -> date:
    return to_local(utcnow()).date()


def earliest(now: datetime | None = None) -> datetime:
    """The first start (UTC) a client may book: their changes stay possible until then."""
    return (now or utcnow()) + change_limit()


def can_change(appointment: Appointment, now: datetime | None = None) -> bool:
    """A client may reschedule or cancel until the limit before the start."""
    return appointment.status in ACTIVE and appointment.starts_at >= earliest(now)


# -- free slots --------------------------------------------------------------------------

@dataclass(frozen=True)
class Opening:
    starts_at: datetime  # UTC
    local: datetime  # the tenant's zone, naive
    free: int


@dataclass(frozen=True)
class Day:
    day: date
    openings: list[Opening]
    blocked: bool


def blocked_days(development_id: int, first: date, last: date) -> set[date]:
    return set(db.session.scalars(select(BlockedDate.day).where(
        BlockedDate.day.between(first, last),
        or_(BlockedDate.development_id.is_(None),
            BlockedDate.development_id == development_id))))


def week(k: Kind, development: Development, first: date, days: int = 7,
         now: datetime | None = None) -> list[Day]:
    """The days from `first` with their slots and free places (two statements)."""
    now = now or utcnow()
    last = first + timedelta(days=days - 1)
    closed = blocked_days(development.id, first, last)
    span = (to_utc(datetime.combine(first, time.min)),
            to_utc(datetime.combine(last + timedelta(days=1), time.min)))
    taken = dict(db.session.execute(select(Slot.starts_at, Slot.booked).where(
        Slot.type_id == k.id, Slot.development_id == development.id,
        Slot.starts_at >= span[0], Slot.starts_at < span[1])).all())
    limit, end = earliest(now), _last_bookable(now)
    out = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        openings = []
        if day.weekday() in k.weekdays and day not in closed and day <= end:
            for start in k.starts():
                local = datetime.combine(day, start)
                utc = to_utc(local)
                if utc >= limit:
                    openings.append(Opening(utc, local, max(k.capacity - taken.get(utc, 0), 0)))
        out.append(Day(day, openings, day in closed))
    return out


def _last_bookable(now: datetime) -> date:
    return to_local(now).date() + timedelta(days=horizon())


def check_opening(k: Kind, development: Development, local: datetime,
                  now: datetime | None = None) -> datetime:
    """The UTC start of a slot a client may book at `local` (tenant time), or BookingError."""
    now = now or utcnow()
    utc = to_utc(local)
    if (local.weekday() not in k.weekdays or local.time() not in k.starts()
            or local.date() > _last_bookable(now) or not k.offered_at(development)):
        raise BookingError(_("This time is not offered: choose one of the times listed."))
    if utc < earliest(now):
        raise BookingError(_("This time is too close: choose a time at least %(hours)d hours "
                             "from now.", hours=int(change_limit().total_seconds() // 3600)))
    if local.date() in blocked_days(development.id, local.date(), local.date()):
        raise BookingError(_("No appointments on this day: choose another day."))
    return utc


# -- taking and giving back a place ------------------------------------------------------

def _take(k: Kind, development_id: int, starts_at: datetime) -> None:
    """One place of the slot, or SlotFull: the counter row exists first, then one UPDATE."""
    values = {"type_id": k.id, "development_id": development_id, "starts_at": starts_at,
              "booked": 0}
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Slot)
    db.session.execute(insert.values(**values).on_conflict_do_nothing())
    result = db.session.execute(
        update(Slot).where(Slot.type_id == k.id, Slot.development_id == development_id,
                           Slot.starts_at == starts_at, Slot.booked < k.capacity)
        .values(booked=Slot.booked + 1).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise SlotFull(_("Someone has just taken the last place at this time: "
                         "please choose another."))


def _give_back(appointment: Appointment) -> None:
    db.session.execute(
        update(Slot).where(Slot.type_id == appointment.type_id,
                           Slot.development_id == appointment.development_id,
                           Slot.starts_at == appointment.starts_at, Slot.booked > 0)
        .values(booked=Slot.booked - 1).execution_options(synchronize_session=False))


def book(user: User, k: Kind, development: Development, unit_id: int | None,
         local: datetime, note: str = "") -> Appointment:
    """Book the slot at `local` for the client (the caller commits); BookingError."""
    starts_at = check_opening(k, development, local)
    _take(k, development.id, starts_at)
    now = utcnow()
    appointment = Appointment(user_id=user.id, development_id=development.id, unit_id=unit_id,
                              type_id=k.id, starts_at=starts_at,
                              ends_at=starts_at + timedelta(minutes=k.duration),
                              status="booked", note=note.strip(), sequence=0,
                              created_at=now, updated_at=now)
    appointment.user, appointment.development = user, development
    db.session.add(appointment)
    db.session.flush()
    notify(appointment, "booked")
    return appointment


def _claim_change(appointment: Appointment, client: bool) -> None:
    """Mark the appointment as being changed by this transaction (no double cancel)."""
    query = update(Appointment).where(Appointment.id == appointment.id,
                                      Appointment.status.in_(ACTIVE),
                                      Appointment.sequence == appointment.sequence)
    if client:
        query = query.where(Appointment.starts_at >= earliest())
    result = db.session.execute(query.values(sequence=appointment.sequence + 1)
                                .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise BookingError(_("This appointment can no longer be changed."))
    appointment.sequence += 1


def reschedule(appointment: Appointment, local: datetime) -> None:
    """Move a client's appointment to another slot of its type (the caller commits)."""
    k = kind(appointment.type_id)
    if k is None:
        raise BookingError(_("This appointment can no longer be changed."))
    starts_at = check_opening(k, appointment.development, local)
    if starts_at == appointment.starts_at:
        raise BookingError(_("This is already the time of your appointment."))
    _claim_change(appointment, client=True)
    _take(k, appointment.development_id, starts_at)
    _give_back(appointment)
    appointment.starts_at = starts_at
    appointment.ends_at = starts_at + timedelta(minutes=k.duration)
    appointment.status = "booked"  # staff confirm the new time again
    appointment.reminded_at = None
    appointment.updated_at = utcnow()
    notify(appointment, "rescheduled")


def cancel(appointment: Appointment, client: bool) -> None:
    """Cancel (by the client within the limit, or by staff); the place is free again."""
    _claim_change(appointment, client=client)
    _give_back(appointment)
    appointment.status = "cancelled"
    appointment.updated_at = utcnow()
    notify(appointment, "cancelled")


def set_status(appointment: Appointment, status: str) -> None:
    """Staff confirm, or mark done / no-show (the caller commits)."""
    appointment.status = status
    appointment.updated_at = utcnow()
    if status == "confirmed":
        appointment.sequence += 1
        notify(appointment, "confirmed")


# -- calendar file and e-mails -----------------------------------------------------------

def _ics_text(value: str) -> str:
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n"))


def _fold(line: str) -> str:
    """RFC 5545 lines of at most 75 octets, continued with a space."""
    data, out = line.encode(), []
    while len(data) > 75:
        cut = 75 if not out else 74
        while (data[cut] & 0xC0) == 0x80:  # never inside a UTF-8 character
            cut -= 1
        out.append(data[:cut].decode())
        data = data[cut:]
    out.append(data.decode())
    return "\r\n ".join(out)


def _stamp(value: datetime) -> str:
    return value.strftime("%Y%m%dT%H%M%SZ")


def ics(appointment: Appointment) -> bytes:
    """The appointment as an iCalendar event (cancelled ones too, so calendars update)."""
    portal = current_app.extensions["portal"]
    development = appointment.development
    where = ", ".join(p for p in (development.name, development.address, development.city) if p)
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0",
        f"PRODID:-//{_ics_text(portal['tenant']['name'])}//Portal//EN",
        "CALSCALE:GREGORIAN", "METHOD:PUBLISH", "BEGIN:VEVENT",
        f"UID:appointment-{appointment.id}@{portal['tenant']['id']}.portal",
        f"SEQUENCE:{appointment.sequence}",
        f"DTSTAMP:{_stamp(utcnow())}",
        f"DTSTART:{_stamp(appointment.starts_at)}",
        f"DTEND:{_stamp(appointment.ends_at)}",
        f"SUMMARY:{_ics_text(label(appointment.type_id) + ' · ' + portal['tenant']['name'])}",
        f"LOCATION:{_ics_text(where)}",
        "STATUS:" + ("CANCELLED" if appointment.status == "cancelled" else "CONFIRMED"),
    ]
    if appointment.note:
        lines.append(f"DESCRIPTION:{_ics_text(appointment.note)}")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return ("\r\n".join(_fold(line) for line in lines) + "\r\n").encode()


def when(appointment: Appointment) -> str:
    """'Tuesday, 3 March 2026, 09:00' in the tenant's zone and language."""
    local = to_local(appointment.starts_at)
    return f"{format_date(local.date(), 'full')}, {format_time(appointment.starts_at, 'short')}"


def _url(appointment: Appointment) -> str | None:
    try:
        return url_for("scheduling.show", appointment_id=appointment.id, _external=True)
    except RuntimeError:  # the worker has no request: the e-mail goes without a link
        return None


def notify(appointment: Appointment, event: str) -> None:
    """The client's e-mail about their appointment, the .ics attached."""
    client = appointment.user or db.session.get(User, appointment.user_id)
    if not client.email:
        return
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        name = label(appointment.type_id)
        subjects = {"booked": _("Appointment booked: %(type)s", type=name),
                    "rescheduled": _("Appointment moved: %(type)s", type=name),
                    "confirmed": _("Appointment confirmed: %(type)s", type=name),
                    "cancelled": _("Appointment cancelled: %(type)s", type=name),
                    "reminder": _("Tomorrow: %(type)s", type=name)}
        mail.queue(client.email, subjects[event], "scheduling/appointment",
                   attachments=(mail.Attachment("appointment.ics", ics(appointment),
                                                "text/calendar; method=PUBLISH"),),
                   event=event, appointment=appointment, recipient=client, type_label=name,
                   when=when(appointment), url=_url(appointment))


def remind(now: datetime | None = None) -> int:
    """Queue the reminder of each appointment of tomorrow (tenant's day), once each."""
    now = now or utcnow()
    tomorrow = to_local(now).date() + timedelta(days=1)
    first = to_utc(datetime.combine(tomorrow, time.min))
    last = to_utc(datetime.combine(tomorrow + timedelta(days=1), time.min))
    due = db.session.scalars(select(Appointment).where(
        Appointment.status.in_(ACTIVE), Appointment.reminded_at.is_(None),
        Appointment.starts_at >= first, Appointment.starts_at < last)).all()
    sent = 0
    for appointment in due:
        claimed = db.session.execute(update(Appointment).where(
            Appointment.id == appointment.id, Appointment.reminded_at.is_(None))
            .values(reminded_at=now).execution_options(synchronize_session=False))
        if claimed.rowcount == 1:  # another worker's pass did not take it first
            notify(appointment, "reminder")
            sent += 1
    db.session.commit()
    return sent


def on_outbox_pass(sender, now: datetime, **_kwargs) -> None:
    """The outbox worker's periodic pass: the day-before reminders."""
    remind(now)


@cache
def _upcoming(limit: int) -> Select:
    return (select(Appointment).where(Appointment.user_id == bindparam("user"),
                                      Appointment.status.in_(ACTIVE),
                                      Appointment.ends_at >= bindparam("now"))
            .order_by(Appointment.starts_at, Appointment.id).limit(limit))


def upcoming(user_id: int, now: datetime | None = None, limit: int = 50) -> list[Appointment]:
    """A user's next `limit` appointments still to happen. The statement is built once
    per limit: the home page's card runs it on every visit."""
    return db.session.scalars(_upcoming(limit),
                              {"user": user_id, "now": now or utcnow()}).all()


def day_bounds(first: date, days: int) -> tuple[datetime, datetime]:
    return (to_utc(datetime.combine(first, time.min)),
            to_utc(datetime.combine(first + timedelta(days=days), time.min)))

