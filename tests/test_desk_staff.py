"""The staff desk: queue, division limits, status changes, dashboard, export, outbox."""

from __future__ import annotations

import csv
import io
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event

from tests.conftest import add_user, is_session_lookup, login, outbox, submit
from tests.test_tickets import open_leak


@pytest.fixture
def desk(desk_app):
    add_user(desk_app, "client@example.com", name="Clara Client")
    add_user(desk_app, "staff@example.com", role="staff", name="Sam Staff")
    add_user(desk_app, "carla@example.com", role="staff", name="Carla Care")
    add_user(desk_app, "admin@example.com", role="admin", name="Ada Admin")
    return desk_app


def _limit(app, email, *divisions):
    from runtime.extensions import db
    from runtime.models import User
    from runtime.modules.tickets.models import StaffDivision

    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == email))
        db.session.add_all(StaffDivision(user_id=user.id, division_id=d) for d in divisions)
        db.session.commit()


def test_queue_is_sorted_by_sla_and_flags_overdue(desk):
    from runtime.extensions import db
    from runtime.models import utcnow
    from runtime.modules.tickets.models import Ticket

    client = login(desk, "client@example.com")
    first, second = open_leak(client), open_leak(client)
    with desk.app_context():
        late = db.session.scalar(db.select(Ticket).where(Ticket.protocol == second))
        late.sla_due_at = utcnow() - timedelta(hours=1)
        db.session.commit()
    staff = login(desk, "staff@example.com")
    html = staff.get("/staff/tickets").get_data(as_text=True)
    assert html.index(second) < html.index(first)  # the overdue one first
    assert "Overdue since" in html and "overdue" in html
    overdue = staff.get("/staff/tickets?overdue=1").get_data(as_text=True)
    assert second in overdue and first not in overdue
    assert first in staff.get("/staff/tickets?q=clara").get_data(as_text=True)


def test_staff_limited_to_divisions_cannot_reach_others(desk):
    client = login(desk, "client@example.com")
    leak = open_leak(client)
    question = submit(client, "/contact/care/question", {"description": "When?"})
    question = question.location.rsplit("/", 1)[1]
    _limit(desk, "carla@example.com", "care")
    carla = login(desk, "carla@example.com")
    queue = carla.get("/staff/tickets").get_data(as_text=True)
    assert question in queue and leak not in queue
    for path in (f"/staff/tickets/{leak}", f"/staff/tickets/{leak}/files/1"):
        assert carla.get(path).status_code == 404
    refused = submit(carla, f"/staff/tickets/{leak}/reply", {"body": "x"},
                     page=f"/staff/tickets/{question}")
    assert refused.status_code == 404
    # only the division's staff hear of new tickets there
    before = len(outbox(desk))
    open_leak(client)
    assert [m["To"] for m in outbox(desk)[before:]] == ["client@example.com",  # the receipt
                                                        "staff@example.com", "admin@example.com"]


def test_status_changes_follow_the_rules(desk):
    client = login(desk, "client@example.com")
    staff = login(desk, "staff@example.com")
    protocol = open_leak(client)
    page = f"/staff/tickets/{protocol}"
    no_note = submit(staff, f"{page}/move", {"to": "awaiting_feedback", "note": ""}, page=page)
    assert "Write a message to the client for this step." in no_note.get_data(as_text=True)
    forged = submit(staff, f"{page}/move", {"to": "finished"}, page=page)
    assert forged.status_code == 400  # staff cannot finish for the client
    submit(staff, f"{page}/take", {}, page=page)
    html = staff.get(page).get_data(as_text=True)
    assert "In progress" in html and "Sam Staff" in html
    assert html.count("portal-nav-link active") == 1  # only "Tickets" is highlighted
    submit(staff, f"{page}/move", {"to": "awaiting_feedback", "note": "Photo?"}, page=page)
    html = staff.get(page).get_data(as_text=True)
    assert "Awaiting feedback" in html and "Waiting for your reply" not in html


def test_dashboard_and_csv_export(desk):
    from runtime.extensions import db
    from runtime.models import User

    with desk.app_context():  # a name a spreadsheet would run as a formula
        db.session.scalar(db.select(User).where(User.email == "client@example.com")).name = \
            "=HYPERLINK(\"http://evil.example\")"
        db.session.commit()
    client = login(desk, "client@example.com")
    staff = login(desk, "staff@example.com")
    protocol = open_leak(client)
    page = f"/staff/tickets/{protocol}"
    submit(staff, f"{page}/move", {"to": "resolved", "note": "Fixed"}, page=page)
    submit(client, f"/tickets/{protocol}/approve", {}, page=f"/tickets/{protocol}")
    submit(client, f"/tickets/{protocol}/rate", {"rating": "5"}, page=f"/tickets/{protocol}")
    open_leak(client)
    html = staff.get("/staff/tickets/dashboard").get_data(as_text=True)
    assert "100%" in html and "5.0" in html and "Repairs" in html
    today = datetime.now().date()
    response = staff.get(f"/staff/tickets/export.csv?start={today - timedelta(days=1)}"
                         f"&end={today + timedelta(days=1)}")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 2
    done = next(r for r in rows if r["Protocol"] == protocol)
    assert (done["Status"], done["SLA met"], done["Rating"], done["Client"]) == (
        "Finished", "Yes", "5", "'=HYPERLINK(\"http://evil.example\")")
    bad = staff.get("/staff/tickets/export.csv?start=2026-05-02&end=2026-05-01")
    assert bad.status_code == 302


@pytest.fixture
def desk_pt(tmp_path):
    """The service-desk tenant in Brazilian Portuguese (SQLite: the subject is the language)."""
    import shutil

    from generator.build import build
    from tests.conftest import FIXTURES, make_app

    target = tmp_path / "tenants" / "desk"
    shutil.copytree(FIXTURES / "tenants" / "desk", target)
    tenant = target / "tenant.yaml"
    tenant.write_text(tenant.read_text().replace("locale: en", "locale: pt-BR"))
    app = make_app(build(str(tenant), tmp_path / "build").instance)
    add_user(app, "client@example.com", name="Clara Client")
    add_user(app, "staff@example.com", role="staff", name="Sam Staff")
    return app


def test_dashboard_and_export_speak_the_tenants_language(desk_pt):
    from runtime.extensions import db
    from runtime.modules.tickets.models import Ticket

    client = login(desk_pt, "client@example.com")
    staff = login(desk_pt, "staff@example.com")
    rated, waiting = open_leak(client), open_leak(client)
    for protocol, rating in ((rated, 5), (open_leak(client), 4)):
        page = f"/staff/tickets/{protocol}"
        submit(staff, f"{page}/move", {"to": "resolved", "note": "Feito"}, page=page)
        submit(client, f"/tickets/{protocol}/approve", {}, page=f"/tickets/{protocol}")
        submit(client, f"/tickets/{protocol}/rate", {"rating": str(rating)},
               page=f"/tickets/{protocol}")
    page = f"/staff/tickets/{waiting}"
    submit(staff, f"{page}/move", {"to": "awaiting_feedback", "note": "Foto?"}, page=page)
    html = staff.get("/staff/tickets/dashboard").get_data(as_text=True)
    assert '<div class="stat-value">4,5</div>' in html and "4.5" not in html
    today = datetime.now().date()
    response = staff.get(f"/staff/tickets/export.csv?start={today - timedelta(days=1)}"
                         f"&end={today + timedelta(days=1)}")
    text = response.get_data(as_text=True).lstrip("\ufeff")
    # a semicolon: what a spreadsheet set to Portuguese splits columns on
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert list(rows[0])[:3] == ["Protocolo", "Aberto em", "Divisão"]
    by_protocol = {r["Protocolo"]: r for r in rows}
    assert by_protocol[rated]["Situação"] == "Concluído"
    assert by_protocol[rated]["SLA cumprido"] == "Sim"
    assert by_protocol[waiting]["Situação"] == "Aguardando feedback"
    with desk_pt.app_context():
        assert all(r["Situação"] != t for r in rows for t in db.session.scalars(
            db.select(Ticket.status)))  # no raw status code left


def test_admin_limits_a_staff_member(desk):
    admin = login(desk, "admin@example.com")
    from runtime.extensions import db
    from runtime.models import User

    with desk.app_context():
        carla = db.session.scalar(db.select(User).where(User.email == "carla@example.com")).id
    page = f"/staff/clients/{carla}"
    assert 'name="divisions" value="care"' in admin.get(page).get_data(as_text=True)
    submit(admin, f"/staff/accounts/{carla}/divisions", {"divisions": ["care", "nope"]},
           page=page)
    from runtime.modules.tickets.models import StaffDivision

    with desk.app_context():
        assert db.session.scalars(db.select(StaffDivision.division_id)).all() == ["care"]
    staff = login(desk, "staff@example.com")
    assert submit(staff, f"/staff/accounts/{carla}/divisions", {"divisions": ["care"]},
                  page="/staff/").status_code == 403


def test_sql_statements_stay_bounded_with_10000_tickets(desk):
    from runtime.extensions import db
    from runtime.models import User, utcnow
    from runtime.modules.tickets.models import Ticket

    with desk.app_context():
        client_id = db.session.scalar(db.select(User.id).where(User.email ==
                                                                "client@example.com"))
        now = utcnow()
        rows = [{"protocol": f"2020-{i:06d}", "client_id": client_id, "division_id": "repairs",
                 "request_id": "leak", "title": "Leak", "description": "x", "answers": [],
                 "status": ("new", "in_progress", "finished", "awaiting_feedback")[i % 4],
                 "created_at": now, "updated_at": now - timedelta(seconds=i), "sla_hours": 72,
                 "sla_due_at": now + timedelta(hours=i % 90 - 10),
                 "finished_at": now if i % 4 == 2 else None} for i in range(10_000)]
        db.session.execute(db.insert(Ticket), rows)
        db.session.commit()
        engine = db.engine
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        if not is_session_lookup(statement):  # the session store: Redis in production
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        for who, pages in (("client@example.com", ["/tickets", "/tickets?filter=my_action",
                                                   "/tickets?q=leak"]),
                           ("staff@example.com", ["/staff/tickets", "/staff/tickets?overdue=1",
                                                  "/staff/tickets?status=all&page=3"])):
            client = login(desk, who)
            for page in pages:
                statements.clear()
                response = client.get(page)
                assert response.status_code == 200
                assert len(statements) <= 8, (page, len(statements), statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_concurrent_submissions_get_unique_protocols(desk):
    from runtime.extensions import db
    from runtime.modules.tickets.protocol import next_protocol

    results, errors = [], []

    def take():
        try:
            with desk.app_context():
                for _ in range(10):
                    results.append(next_protocol(2026))
                    db.session.commit()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 80 and len(set(results)) == 80
    assert sorted(results)[-1] == "2026-000080"
