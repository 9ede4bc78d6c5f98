"""What scheduling adds to other screens (the pending-actions pop-up, the home page) and
its demo content."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask_login import current_user
from sqlalchemy import select

from ...extensions import db
from ...i18n import to_utc
from ...models import User, utcnow
from . import service
from .models import Appointment


def pending(user=None):
    """The client's next appointments (at most 3), or None."""
    user = user or current_user
    rows = service.upcoming(user.id, limit=3)
    return [(a, service.label(a.type_id)) for a in rows] or None


def home_card():
    """The next appointment on the home page (None: the menu entry is enough)."""
    found = service.upcoming(current_user.id, limit=1)
    if not found:
        return None
    appointment = found[0]
    return {"appointment": appointment, "label": service.label(appointment.type_id)}


def seed(demo) -> None:
    """Appointments of the demo's clients, a holiday, a technician (once)."""
    if db.session.scalar(select(Appointment.id).limit(1)) is not None:
        return
    from ...erp.models import Development, Unit

    kinds = service.kinds()
    developments = {d.id: d for d in db.session.scalars(select(Development))}
    clients = [u for u in demo.users.values() if u.role == "client"]
    staff = db.session.scalar(select(User).where(User.role.in_(("staff", "admin")))
                              .order_by(User.id).limit(1))
    from ...erp.scope import scope_of as _client_scope

    today = service.today()
    # two appointments per client, of different types, over the next days
    for index, client in enumerate(clients[:4]):
        scope = _client_scope(client)
        offered = [(k, developments[d]) for d in sorted(scope.development_ids)
                   for k in kinds if k.offered_at(developments[d])]
        for n in range(min(2, len(offered))):
            k, development = offered[(index + n) % len(offered)]
            day = today + timedelta(days=3 + index + 2 * n)
            while day.weekday() not in k.weekdays:
                day += timedelta(days=1)
            local = datetime.combine(day, k.starts()[(index + n) % len(k.starts())])
            try:
                unit_id = db.session.scalar(select(Unit.id).where(
                    Unit.id.in_(scope.unit_ids or [0]), Unit.development_id == development.id)
                    .order_by(Unit.code).limit(1))
                appointment = service.book(client, k, development, unit_id, local,
                                           "Gostaria de ver a área de lazer."
                                           if index == 0 and n == 0 else "")
            except service.BookingError:
                continue
            if (index + n) % 2 == 0:
                appointment.status = "confirmed"
                appointment.technician_id = staff.id if staff else None
    # a past visit, done
    if clients:
        scope = _client_scope(clients[0])
        offered = [(k, developments[d]) for d in sorted(scope.development_ids)
                   for k in kinds if k.offered_at(developments[d])]
        if offered:
            k, development = offered[0]
            start = to_utc(datetime.combine(today - timedelta(days=10), time(10)))
            db.session.add(Appointment(user_id=clients[0].id, development_id=development.id,
                                       type_id=k.id, starts_at=start,
                                       ends_at=start + timedelta(minutes=k.duration),
                                       status="done", note="", sequence=0,
                                       technician_id=staff.id if staff else None,
                                       reminded_at=utcnow(), created_at=start - timedelta(days=5),
                                       updated_at=start))
    from .models import BlockedDate

    holiday = today + timedelta(days=12)
    db.session.add(BlockedDate(day=holiday, development_id=None, reason="Feriado (demo)"))
    db.session.commit()
