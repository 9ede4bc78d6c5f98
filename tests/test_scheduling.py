"""Scheduling (modules.scheduling): free slots, booking, .ics e-mails, changes within the
limit, staff calendar and actions, blocked dates, reminders, capacity under concurrency."""

from __future__ import annotations

import re
import threading
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import event

from tests.conftest import add_user, csrf_token, is_session_lookup, login, make_app, outbox

SCHEDULING = """\
  scheduling:
    types:
      - { id: vistoria, label: Delivery inspection, duration_minutes: 60, capacity: 1 }
      - { id: visita, label: Construction visit, duration_minutes: 30,
          hours: { weekdays: [sat], start: "09:00", end: "11:00" }, developments: [OTHER] }
    hours: { weekdays: [mon, tue, wed, thu, fri, sat, sun], start: "08:00", end: "12:00" }
    capacity_per_slot: 2
    change_limit_hours: 24
    days_ahead: 30
"""


@pytest.fixture
def sched_instance(tenant_dir, tmp_path):
    from generator.build import build

    tenant = tenant_dir / "tenant.yaml"
    text = tenant.read_text(encoding="utf-8")
    text = text.replace("modules:\n", "modules:\n" + SCHEDULING)
    text = text.replace("menu:\n",
                        "menu:\n  - { label: Visits, icon: calendar-event, module: scheduling }\n")
    tenant.write_text(text, encoding="utf-8")
    return build(str(tenant), tmp_path / "build").instance


def _estate(app, clients=("maria@example.com", "joao@example.com")):
    """A development with one unit per client (each on its contract), and a staff member."""
    from runtime.erp.models import Contract, ContractParty, Development, Unit
    from runtime.extensions import db
    from runtime.models import User

    for email in clients:
        add_user(app, email, name=email.split("@")[0].title())
    add_user(app, "staff@example.com", role="staff", name="Sam Staff")
    with app.app_context():
        dev = Development(external_id="JAR", name="Jardins", address="Rua das Flores, 10",
                          city="São Paulo")
        db.session.add(dev)
        db.session.flush()
        for n, email in enumerate(clients):
            unit = Unit(external_id=f"U{n}", development_id=dev.id, code=f"10{n}")
            db.session.add(unit)
            db.session.flush()
            contract = Contract(external_id=f"C{n}", number=f"C-{n}", unit_id=unit.id)
            user = db.session.scalar(db.select(User).where(User.email == email))
            contract.parties.append(ContractParty(user_id=user.id, role="holder"))
            db.session.add(contract)
        db.session.commit()
        return dev.id


def _app(instance, url):
    app = make_app(instance, url)
    return app


@pytest.fixture(params=["sqlite", "postgresql"])
def sched(request, sched_instance):
    url = (f"sqlite:///{sched_instance / 'data' / 'portal.db'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres_url"))
    app = make_app(sched_instance, url)
    app.dev_id = _estate(app)
    yield app
    from runtime.extensions import db

    with app.app_context():
        db.engine.dispose()


def _local_day(app, days: int):
    from runtime.modules.scheduling import service

    with app.test_request_context():
        return service.today() + timedelta(days=days)


def _slot(app, days=3, hour=9) -> str:
    return datetime.combine(_local_day(app, days), time(hour)).strftime("%Y-%m-%dT%H:%M")


def _book(client, app, slot: str, note: str = "", type_id="vistoria"):
    page = client.get(f"/scheduling/book/{type_id}?week={slot[:10]}")
    assert page.status_code == 200
    return client.post(f"/scheduling/book/{type_id}",
                       data={"slot": slot, "note": note, "development": app.dev_id,
                             "csrf_token": csrf_token(page.get_data(as_text=True))})


def _appointment_id(response) -> int:
    return int(re.search(r"/scheduling/(\d+)$", response.headers["Location"]).group(1))


def test_a_client_books_a_free_time_and_gets_an_email_with_the_calendar_file(sched):
    maria = login(sched, "maria@example.com")
    index = maria.get("/scheduling").get_data(as_text=True)
    assert "Delivery inspection" in index
    assert "Construction visit" not in index  # offered at another development only
    slot = _slot(sched)
    picker = maria.get(f"/scheduling/book/vistoria?week={slot[:10]}").get_data(as_text=True)
    assert f'value="{slot}"' in picker and "Brasilia Time" in picker
    assert "<legend" in picker  # each day is a labelled group of radio buttons
    response = _book(maria, sched, slot, note="Bring the keys")
    assert response.status_code == 302
    shown = maria.get(response.headers["Location"]).get_data(as_text=True)
    assert "Delivery inspection" in shown and "Awaiting confirmation" in shown
    assert "Rua das Flores" in shown and "Bring the keys" in shown
    mails = [m for m in outbox(sched) if m["To"] == "maria@example.com"]
    assert mails[-1]["Subject"] == "Appointment booked: Delivery inspection"
    ics = next(p for p in mails[-1].iter_attachments() if p.get_filename() == "appointment.ics")
    assert ics.get_content_type() == "text/calendar"
    body = ics.get_content()
    body = body if isinstance(body, str) else body.decode()
    # 09:00 in São Paulo (UTC-3) is 12:00 UTC
    assert f"DTSTART:{slot[:10].replace('-', '')}T120000Z" in body
    assert "DTEND:" in body and "SUMMARY:Delivery inspection" in body
    download = maria.get(f"/scheduling/{_appointment_id(response)}/appointment.ics")
    assert download.mimetype == "text/calendar" and b"BEGIN:VEVENT" in download.data


def test_a_full_slot_is_shown_full_and_refused_with_a_message(sched):
    slot = _slot(sched)
    assert _book(login(sched, "maria@example.com"), sched, slot).status_code == 302
    joao = login(sched, "joao@example.com")
    picker = joao.get(f"/scheduling/book/vistoria?week={slot[:10]}").get_data(as_text=True)
    radio = re.search(rf'<input[^>]*value="{slot}"[^>]*>', picker).group(0)
    assert "disabled" in radio and "Full" in picker
    refused = _book(joao, sched, slot)
    assert refused.status_code == 409
    assert "last place" in refused.get_data(as_text=True)


@pytest.mark.parametrize("slot_of, message", [
    (lambda app: _slot(app, days=0, hour=23), "not offered"),
    (lambda app: _slot(app, days=3, hour=9)[:-2] + "15", "not offered"),
    (lambda app: _slot(app, days=3, hour=12), "not offered"),
    (lambda app: _slot(app, days=45), "not offered"),
    (lambda app: "tomorrow", "Choose one of the times listed"),
    (lambda app: "", "Choose a time"),
])
def test_times_outside_the_offer_are_refused_with_a_message(sched, slot_of, message):
    response = _book(login(sched, "maria@example.com"), sched, slot_of(sched))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_too_close_and_blocked_days_are_not_offered(sched):
    from runtime.erp.models import Development
    from runtime.extensions import db
    from runtime.i18n import to_utc
    from runtime.modules.scheduling import service
    from runtime.modules.scheduling.models import BlockedDate

    maria = login(sched, "maria@example.com")
    with sched.test_request_context():
        k, dev = service.kind("vistoria"), db.session.get(Development, sched.dev_id)
        local = datetime.combine(_local_day(sched, 3), time(9))
        with pytest.raises(service.BookingError, match="too close"):
            service.check_opening(k, dev, local, now=to_utc(local) - timedelta(hours=23))
        assert service.check_opening(k, dev, local, now=to_utc(local) - timedelta(hours=25)) \
            == to_utc(local)
    with sched.app_context():
        db.session.add(BlockedDate(day=_local_day(sched, 4), development_id=None,
                                   reason="Holiday"))
        db.session.commit()
    blocked = _slot(sched, days=4)
    picker = maria.get(f"/scheduling/book/vistoria?week={blocked[:10]}").get_data(as_text=True)
    assert f'value="{blocked}"' not in picker and "No appointments on this day" in picker
    response = _book(maria, sched, blocked)
    assert response.status_code == 422
    assert "No appointments on this day" in response.get_data(as_text=True)


def test_reschedule_and_cancel_free_the_place_and_email_the_new_calendar(sched):
    from runtime.extensions import db
    from runtime.modules.scheduling.models import Appointment, Slot

    maria = login(sched, "maria@example.com")
    first, second = _slot(sched, 3, 9), _slot(sched, 5, 10)
    appointment_id = _appointment_id(_book(maria, sched, first))
    page = maria.get(f"/scheduling/{appointment_id}/reschedule?week={second[:10]}")
    assert page.status_code == 200
    moved = maria.post(f"/scheduling/{appointment_id}/reschedule",
                       data={"slot": second,
                             "csrf_token": csrf_token(page.get_data(as_text=True))})
    assert moved.status_code == 302
    with sched.app_context():
        booked = dict(db.session.execute(db.select(Slot.starts_at, Slot.booked)).all())
        assert sorted(booked.values()) == [0, 1]
        assert db.session.get(Appointment, appointment_id).sequence == 1
    joao = login(sched, "joao@example.com")
    assert _book(joao, sched, first).status_code == 302  # the old time is free again
    shown = maria.get(f"/scheduling/{appointment_id}")
    cancel = maria.post(f"/scheduling/{appointment_id}/cancel",
                        data={"csrf_token": csrf_token(shown.get_data(as_text=True))})
    assert cancel.status_code == 302
    with sched.app_context():
        assert db.session.get(Appointment, appointment_id).status == "cancelled"
    subjects = [m["Subject"] for m in outbox(sched) if m["To"] == "maria@example.com"]
    assert subjects[-2:] == ["Appointment moved: Delivery inspection",
                             "Appointment cancelled: Delivery inspection"]
    assert "Past and cancelled" in maria.get("/scheduling").get_data(as_text=True)
    # João cannot see nor cancel Maria's appointment
    assert joao.get(f"/scheduling/{appointment_id}").status_code == 404


def test_changes_are_refused_past_the_limit(sched):
    from runtime.extensions import db
    from runtime.models import utcnow
    from runtime.modules.scheduling.models import Appointment

    maria = login(sched, "maria@example.com")
    appointment_id = _appointment_id(_book(maria, sched, _slot(sched)))
    with sched.app_context():
        appointment = db.session.get(Appointment, appointment_id)
        appointment.starts_at = utcnow() + timedelta(hours=5)
        appointment.ends_at = appointment.starts_at + timedelta(hours=1)
        db.session.commit()
    shown = maria.get(f"/scheduling/{appointment_id}").get_data(as_text=True)
    assert "Cancel this appointment" not in shown and "please contact us" in shown
    cancel = maria.post(f"/scheduling/{appointment_id}/cancel",
                        data={"csrf_token": csrf_token(shown)}, follow_redirects=True)
    assert "can no longer be changed" in cancel.get_data(as_text=True)
    with sched.app_context():
        assert db.session.get(Appointment, appointment_id).status == "booked"
    assert maria.get(f"/scheduling/{appointment_id}/reschedule").status_code == 302


def test_staff_calendar_confirm_technician_done_and_blocked_dates(sched):
    from runtime.extensions import db
    from runtime.modules.scheduling.models import Appointment

    slot = _slot(sched)
    appointment_id = _appointment_id(_book(login(sched, "maria@example.com"), sched, slot))
    staff = login(sched, "staff@example.com", kind="staff")
    for view in ("list", "day", "week"):
        page = staff.get(f"/staff/scheduling?view={view}&date={slot[:10]}")
        assert page.status_code == 200
        assert "Maria" in page.get_data(as_text=True), view
    assert "Maria" not in staff.get(
        f"/staff/scheduling?view=day&date={_local_day(sched, 2)}").get_data(as_text=True)
    url = f"/staff/scheduling/{appointment_id}"
    page = staff.get(url).get_data(as_text=True)
    token = csrf_token(page)
    assert staff.post(f"{url}/status", data={"s-status": "done", "s-csrf_token": token}
                      ).status_code == 422  # not from "booked"
    assert staff.post(f"{url}/status", data={"s-status": "confirmed", "csrf_token": token}
                      ).status_code == 302
    with sched.app_context():
        sam = db.session.scalar(db.select(db.text("id FROM users WHERE role='staff'")))
    assert staff.post(f"{url}/technician", data={"t-technician": sam, "csrf_token": token}
                      ).status_code == 302
    assert "Sam Staff" in login(sched, "maria@example.com").get(
        f"/scheduling/{appointment_id}").get_data(as_text=True)
    assert staff.post(f"{url}/status", data={"s-status": "no_show", "csrf_token": token}
                      ).status_code == 302
    with sched.app_context():
        appointment = db.session.get(Appointment, appointment_id)
        assert (appointment.status, appointment.technician_id) == ("no_show", sam)
    assert [m["Subject"] for m in outbox(sched) if m["To"] == "maria@example.com"][-1] \
        == "Appointment confirmed: Delivery inspection"
    # blocked dates
    blocked = staff.get("/staff/scheduling/blocked")
    day = _local_day(sched, 6)
    form = {"day": day.isoformat(), "development": 0, "reason": "Holiday",
            "csrf_token": csrf_token(blocked.get_data(as_text=True))}
    assert staff.post("/staff/scheduling/blocked", data=form).status_code == 302
    again = staff.post("/staff/scheduling/blocked", data=form)
    assert again.status_code == 422 and "already blocked" in again.get_data(as_text=True)
    bad = staff.post("/staff/scheduling/blocked", data={**form, "day": "31/02"})
    assert bad.status_code == 422
    assert "Holiday" in staff.get("/staff/scheduling/blocked").get_data(as_text=True)
    # clients cannot reach the staff screens
    assert login(sched, "joao@example.com").get("/staff/scheduling").status_code in (302, 403,
                                                                                     404)


def test_the_reminder_goes_once_the_day_before_from_the_outbox_pass(sched):
    from runtime.extensions import db
    from runtime.i18n import to_utc
    from runtime.modules.scheduling.models import Appointment

    maria = login(sched, "maria@example.com")
    appointment_id = _appointment_id(_book(maria, sched, _slot(sched, 3, 10)))
    outbox(sched)  # the booking e-mail
    with sched.app_context():
        appointment = db.session.get(Appointment, appointment_id)
        start = to_utc(datetime.combine(_local_day(sched, 1), time(10)))
        appointment.starts_at, appointment.ends_at = start, start + timedelta(hours=1)
        db.session.commit()
    first = [m["Subject"] for m in outbox(sched)]
    second = [m["Subject"] for m in outbox(sched)]
    reminders = [s for s in second if s == "Tomorrow: Delivery inspection"]
    assert first.count("Tomorrow: Delivery inspection") == 1 and len(reminders) == 1


def test_the_pending_popup_and_home_list_the_next_appointment(sched):
    maria = login(sched, "maria@example.com")
    _book(maria, sched, _slot(sched))
    again = login(sched, "maria@example.com")
    home = again.get("/").get_data(as_text=True)
    assert "Next appointment: Delivery inspection" in home
    from runtime.modules import parts

    with sched.test_request_context():
        from flask_login import login_user

        from runtime.extensions import db
        from runtime.models import User

        login_user(db.session.scalar(db.select(User).where(User.email == "maria@example.com")))
        pending = [p for p in parts("pending") if p.template == "scheduling/_pending.html"]
        assert pending and len(pending[0].data) == 1


# -- concurrency: the last place, booked from many requests at once (PostgreSQL) -----------

def test_concurrent_bookings_never_exceed_the_capacity_on_postgresql(sched_instance, request):
    from runtime.extensions import db
    from runtime.modules.scheduling.models import Appointment, Slot

    emails = [f"client{n}@example.com" for n in range(6)]
    app = make_app(sched_instance, request.getfixturevalue("postgres_url"))
    try:
        app.dev_id = _estate(app, emails)
        slot = _slot(app)
        clients = [login(app, e) for e in emails]
        tokens = [csrf_token(c.get(f"/scheduling/book/vistoria?week={slot[:10]}")
                             .get_data(as_text=True)) for c in clients]
        barrier, statuses, errors = threading.Barrier(len(clients)), [], []

        def press(client, token):
            try:
                barrier.wait()
                statuses.append(client.post("/scheduling/book/vistoria", data={
                    "slot": slot, "development": app.dev_id, "csrf_token": token}).status_code)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=press, args=pair)
                   for pair in zip(clients, tokens, strict=True)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert sorted(statuses) == [302] + [409] * 5  # capacity 1: one booking only
        with app.app_context():
            assert db.session.scalar(db.select(db.func.count(Appointment.id))) == 1
            assert db.session.scalar(db.select(Slot.booked)) == 1
    finally:
        with app.app_context():
            db.engine.dispose()


# -- 10,000 appointments: every page within 8 statements -----------------------------------

def test_pages_stay_within_8_statements_at_10000_appointments(sched):
    from runtime.extensions import db
    from runtime.models import User, utcnow
    from runtime.modules.scheduling.models import Appointment

    slot = _slot(sched)
    appointment_id = _appointment_id(_book(login(sched, "maria@example.com"), sched, slot))
    with sched.app_context():
        users = dict(db.session.execute(db.select(User.email, User.id)).all())
        now = utcnow()
        db.session.execute(db.insert(Appointment), [
            {"user_id": users["maria@example.com" if i % 2 else "joao@example.com"],
             "development_id": sched.dev_id, "type_id": "vistoria",
             "starts_at": now + timedelta(hours=i - 5000),
             "ends_at": now + timedelta(hours=i - 4999),
             "status": ("booked", "confirmed", "done", "cancelled")[i % 4], "note": "",
             "sequence": 0, "created_at": now, "updated_at": now} for i in range(10_000)])
        db.session.commit()
        engine = db.engine
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        if not is_session_lookup(statement):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        for who, kind, pages in (
                ("maria@example.com", "client",
                 ["/scheduling", f"/scheduling/{appointment_id}",
                  f"/scheduling/book/vistoria?week={slot[:10]}", "/"]),
                ("staff@example.com", "staff",
                 ["/staff/scheduling", "/staff/scheduling?page=150",
                  f"/staff/scheduling?view=day&date={slot[:10]}",
                  f"/staff/scheduling?view=week&date={slot[:10]}&status=booked",
                  f"/staff/scheduling/{appointment_id}", "/staff/scheduling/blocked"])):
            client = login(sched, who, kind=kind)
            for page in pages:
                statements.clear()
                response = client.get(page)
                assert response.status_code == 200, page
                assert len(statements) <= 8, (page, len(statements), statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)


# -- a request opened from a visit (the service desk's tenant) -----------------------------

def test_staff_open_a_request_for_the_client_from_a_visit(tmp_path):
    import shutil

    from generator.build import build
    from runtime.extensions import db
    from runtime.modules.scheduling.models import Appointment
    from tests.conftest import FIXTURES

    target = tmp_path / "tenants" / "desk"
    shutil.copytree(FIXTURES / "tenants" / "desk", target)
    tenant = target / "tenant.yaml"
    tenant.write_text(tenant.read_text(encoding="utf-8").replace(
        "modules:\n", "modules:\n" + SCHEDULING
        + "    ticket: { division: care, request: question }\n"), encoding="utf-8")
    app = make_app(build(str(tenant), tmp_path / "build").instance)
    app.dev_id = _estate(app)
    slot = _slot(app)
    appointment_id = _appointment_id(_book(login(app, "maria@example.com"), app, slot))
    staff = login(app, "staff@example.com", kind="staff")
    url = f"/staff/scheduling/{appointment_id}"
    page = staff.get(url).get_data(as_text=True)
    assert "Open a request from this visit" in page
    empty = staff.post(f"{url}/ticket", data={"k-description": "", "csrf_token": csrf_token(page)})
    assert empty.status_code == 422 and "Describe what needs to be done." in empty.get_data(
        as_text=True)
    opened = staff.post(f"{url}/ticket", data={"k-description": "Crack in the kitchen tiles",
                                               "csrf_token": csrf_token(page)})
    assert opened.status_code == 302 and "/staff/" in opened.headers["Location"]
    with app.app_context():
        from runtime.modules.tickets.models import Ticket

        appointment = db.session.get(Appointment, appointment_id)
        ticket = db.session.get(Ticket, appointment.ticket_id)
        assert (ticket.client_id, ticket.origin, ticket.unit_id) == (
            appointment.user_id, "scheduling", appointment.unit_id)
        assert "Crack in the kitchen tiles" in ticket.description
        assert "Delivery inspection" in ticket.description
    assert ticket.protocol in staff.get(url).get_data(as_text=True)
    # once opened, the form is gone and a second post is refused
    assert staff.post(f"{url}/ticket", data={"k-description": "again",
                                             "csrf_token": csrf_token(page)}).status_code == 404
    # the client sees the request in their tickets
    assert ticket.protocol in login(app, "maria@example.com").get("/tickets").get_data(
        as_text=True)


def test_portal_scheduling_remind_queues_tomorrows_reminders_once(sched_instance, runner):
    from cli import main
    from runtime.extensions import db
    from runtime.i18n import to_utc
    from runtime.models import OutboxMessage
    from runtime.modules.scheduling.models import Appointment

    app = make_app(sched_instance)
    app.dev_id = _estate(app)
    maria = login(app, "maria@example.com")
    appointment_id = _appointment_id(_book(maria, app, _slot(app, 3, 10)))
    with app.app_context():
        appointment = db.session.get(Appointment, appointment_id)
        start = to_utc(datetime.combine(_local_day(app, 1), time(9)))
        appointment.starts_at, appointment.ends_at = start, start + timedelta(hours=1)
        db.session.commit()
        db.engine.dispose()
    first = runner.invoke(main, ["scheduling", "remind", str(sched_instance)])
    assert first.exit_code == 0, first.output
    assert "1 reminder(s) queued" in first.output
    again = runner.invoke(main, ["scheduling", "remind", str(sched_instance)])
    assert "0 reminder(s) queued" in again.output
    with app.app_context():
        subjects = db.session.scalars(db.select(OutboxMessage.subject)).all()
        assert subjects.count("Tomorrow: Delivery inspection") == 1
