"""The busiest client pages run statements built once and read only what they show, and
still show what the ORM path showed: "My tickets" rows, its pages and counts."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import event

from tests.conftest import add_user, is_session_lookup, login


@pytest.fixture
def desk(desk_app):
    add_user(desk_app, "client@example.com", name="Clara Client")
    add_user(desk_app, "other@example.com", name="Otto Other")
    return desk_app


def _tickets(app, email: str, count: int, **values) -> None:
    from runtime.extensions import db
    from runtime.models import User, utcnow
    from runtime.modules.tickets.models import Ticket

    with app.app_context():
        client_id = db.session.scalar(db.select(User.id).where(User.email == email))
        now = utcnow()
        start = db.session.scalar(db.select(db.func.count(Ticket.id)))
        db.session.execute(db.insert(Ticket), [
            {"protocol": f"2020-{start + i:06d}", "client_id": client_id,
             "division_id": "repairs", "request_id": "leak", "title": f"Leak {i}",
             "description": "SECRET-DESCRIPTION", "status": ("new", "awaiting_feedback")[i % 2],
             "answers": [{"id": "room", "label": "Room", "type": "text", "value": "SECRET"}],
             "created_at": now, "updated_at": now - timedelta(minutes=i), "sla_hours": 72,
             "sla_due_at": now + timedelta(hours=72), **values} for i in range(count)])
        db.session.commit()


def _statements(app):
    from runtime.extensions import db

    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        if not is_session_lookup(statement):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    return engine, statements, count


def test_my_tickets_pages_counts_and_columns(desk):
    _tickets(desk, "client@example.com", 25)
    _tickets(desk, "other@example.com", 5)
    client = login(desk, "client@example.com")
    engine, statements, count = _statements(desk)
    try:
        first = client.get("/tickets").get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    listed = " ".join(statements).lower()
    # the rows shown, never the description or the answers (nor the other client's)
    assert "tickets.description" not in listed and "tickets.answers" not in listed
    assert "SECRET" not in first
    shown = re.findall(r'href="/tickets/(2020-\d+)"', first)
    assert shown == [f"2020-{i:06d}" for i in range(20)]  # newest change first, 20 a page
    assert re.search(r"All <span[^>]*>25</span>", first)
    assert re.search(r"Waiting for me <span[^>]*>12</span>", first)
    assert "Waiting for your reply" in first and "Leak 1<" in first
    second = client.get("/tickets?page=2").get_data(as_text=True)
    assert re.findall(r'href="/tickets/(2020-\d+)"', second) == [
        f"2020-{i:06d}" for i in range(20, 25)]
    mine = client.get("/tickets?filter=my_action").get_data(as_text=True)
    assert re.findall(r'href="/tickets/(2020-\d+)"', mine) == [
        f"2020-{i:06d}" for i in range(1, 25, 2)]
    assert client.get("/tickets?page=9").status_code == 200  # past the end: empty
    assert client.get("/tickets/2020-000025").status_code == 404  # the other client's


def test_my_tickets_search_rating_and_fading(desk):
    from runtime.models import utcnow

    now = utcnow()
    _tickets(desk, "client@example.com", 3)  # 2020-000000 to 2
    _tickets(desk, "client@example.com", 2, status="finished", finished_at=now)  # 3 and 4
    # finished 40 days ago: the tenant lists finished tickets for 30 days
    _tickets(desk, "client@example.com", 1, status="finished",
             finished_at=now - timedelta(days=40))  # 5
    client = login(desk, "client@example.com")
    found = client.get("/tickets?q=leak%201").get_data(as_text=True)
    assert sorted(re.findall(r'href="/tickets/(2020-\d+)"', found)) == [
        "2020-000001", "2020-000004"]
    plain = client.get("/tickets").get_data(as_text=True)  # the statements built once
    assert sorted(re.findall(r'href="/tickets/(2020-\d+)"', plain)) == [
        f"2020-{i:06d}" for i in range(5)]
    assert sorted(re.findall(r'href="/tickets/(2020-\d+)#rate"', plain)) == [
        "2020-000003", "2020-000004"]
    assert re.search(r"Finished <span[^>]*>2</span>", plain)
