"""Sessions that can be ended, and a login lockout that holds under concurrency.

Each test runs with the session store and counters in the database (SQLite and
PostgreSQL) and in Redis.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import (
    PASSWORD,
    AuthActions,
    add_user,
    login,
    mail_link,
    make_app,
    outbox,
    redis_config,
    submit,
)


@pytest.fixture(params=["sqlite", "postgresql", "redis"])
def store_app(request, built_instance):
    """The app with its sessions in the database (SQLite or PostgreSQL) or in Redis."""
    from runtime.extensions import db

    config = {}
    url = None
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
    elif request.param == "redis":
        config = redis_config(request.getfixturevalue("redis_url"))
    application = make_app(built_instance, url, **config)
    yield application
    with application.app_context():
        db.engine.dispose()


def _cookie(client, app) -> str:
    return client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value


def _copy(app, cookie: str):
    """Another browser holding a copy of the session cookie."""
    thief = app.test_client()
    thief.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
    return thief


def test_a_copied_cookie_stops_working_at_logout(store_app):
    add_user(store_app)
    client = login(store_app, "maria@example.com")
    thief = _copy(store_app, _cookie(client, store_app))
    assert thief.get("/").status_code == 200  # the copy works while the session lives
    AuthActions(client).logout()
    assert thief.get("/").status_code == 302
    assert "/login" in thief.get("/").location


def test_the_cookie_holds_only_an_id(store_app):
    add_user(store_app)
    client = login(store_app, "maria@example.com")
    cookie = _cookie(client, store_app)
    assert "." not in cookie and len(cookie) >= 40  # random id, no signed data inside


def test_login_gives_a_new_session_id(store_app):
    add_user(store_app)
    client = store_app.test_client()
    client.get("/login")
    before = _cookie(client, store_app)
    assert AuthActions(client).login().status_code == 302
    after = _cookie(client, store_app)
    assert after != before
    # an id planted before login (fixation) is not the logged-in session
    assert _copy(store_app, before).get("/").status_code == 302


def test_a_password_reset_ends_every_other_session(store_app):
    add_user(store_app)
    laptop = login(store_app, "maria@example.com")
    thief = _copy(store_app, _cookie(laptop, store_app))
    phone = store_app.test_client()
    submit(phone, "/forgot", {"identifier": "maria@example.com"})
    link = mail_link(outbox(store_app)[-1])
    response = submit(phone, link, {"password": "brand-new-pass", "confirm": "brand-new-pass"})
    assert response.status_code == 302
    assert phone.get("/").status_code == 200  # the one who reset is logged in
    assert laptop.get("/").status_code == 302
    assert thief.get("/").status_code == 302


def test_deactivation_and_an_admins_end_all_end_the_sessions(store_app):
    maria = add_user(store_app)
    add_user(store_app, "admin@example.com", role="admin", name="Ana Admin")
    client = login(store_app, "maria@example.com")
    admin = login(store_app, "admin@example.com")
    page = f"/staff/clients/{maria}"
    response = submit(admin, f"{page}/end-sessions", {}, page=page, follow_redirects=True)
    assert "1 session ended." in response.get_data(as_text=True)
    assert client.get("/").status_code == 302

    client = login(store_app, "maria@example.com")
    submit(admin, f"{page}/toggle", {}, page=page)
    assert client.get("/").status_code == 302
    assert AuthActions(client).login().status_code == 401  # and cannot log in again


def test_only_an_admin_ends_someone_elses_sessions(store_app):
    maria = add_user(store_app)
    add_user(store_app, "staff@example.com", role="staff", name="Sam Staff")
    client = login(store_app, "maria@example.com")
    staff = login(store_app, "staff@example.com")
    page = f"/staff/clients/{maria}"
    assert "End all sessions" not in staff.get(page).get_data(as_text=True)
    assert submit(staff, f"{page}/end-sessions", {}, page=page).status_code == 403
    assert client.get("/").status_code == 200


def test_the_client_sees_their_sessions_and_ends_the_others(store_app):
    add_user(store_app)
    phone = store_app.test_client()
    headers = {"User-Agent": "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 "
                             "(KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36"}
    page = phone.get("/login", headers=headers).get_data(as_text=True)
    from tests.conftest import csrf_token

    phone.post("/login", headers=headers, data={"identifier": "maria@example.com",
                                                "password": PASSWORD,
                                                "csrf_token": csrf_token(page)})
    desktop = login(store_app, "maria@example.com")
    html = desktop.get("/account/sessions").get_data(as_text=True)
    assert "Chrome · Android" in html and "this session" in html
    assert html.count('class="list-group-item') == 2
    response = submit(desktop, "/account/sessions/end-others", {},
                      page="/account/sessions", follow_redirects=True)
    assert "1 other session ended." in response.get_data(as_text=True)
    assert phone.get("/", headers=headers).status_code == 302
    assert desktop.get("/").status_code == 200
    assert response.get_data(as_text=True).count('class="list-group-item') == 1


def test_a_session_record_of_another_user_cannot_be_ended(store_app):
    from runtime.extensions import db
    from runtime.models import LoginSession

    add_user(store_app)
    joao_id = add_user(store_app, "joao@example.com", name="João Lima")
    joao = login(store_app, "joao@example.com")
    maria = login(store_app, "maria@example.com")
    with store_app.app_context():
        joao_session = db.session.scalar(db.select(LoginSession.id)
                                         .where(LoginSession.user_id == joao_id))
    response = submit(maria, f"/account/sessions/{joao_session}/end", {},
                      page="/account/sessions")
    assert response.status_code == 404
    assert joao.get("/").status_code == 200


def test_static_files_do_not_touch_the_session_store(store_app, monkeypatch):
    add_user(store_app)
    client = login(store_app, "maria@example.com")
    css = store_app.extensions["portal"]["static"]["theme_css"]
    calls = []
    interface = store_app.session_interface
    original = interface._retrieve_session_data
    monkeypatch.setattr(interface, "_retrieve_session_data",
                        lambda store_id: calls.append(store_id) or original(store_id))
    response = client.get(f"/static/{css}")
    response.close()
    assert response.status_code == 200
    assert calls == []
    assert client.get("/").status_code == 200
    assert len(calls) == 1  # one lookup for a page


# -- the lockout ----------------------------------------------------------------------

@pytest.fixture(params=["sqlite", "postgresql", "redis"])
def open_app(request, built_instance):
    """As store_app, without CSRF, so that many logins can be posted at once."""
    from runtime.extensions import db

    config = {"WTF_CSRF_ENABLED": False}
    url = None
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
    elif request.param == "redis":
        config.update(redis_config(request.getfixturevalue("redis_url")))
    application = make_app(built_instance, url, **config)
    yield application
    with application.app_context():
        db.engine.dispose()


def _count_password_checks(monkeypatch) -> list:
    from runtime.auth import routes

    checks = []
    lock = threading.Lock()
    original = routes._password_ok

    def counted(user, password):
        with lock:
            checks.append(password)
        return original(user, password)

    monkeypatch.setattr(routes, "_password_ok", counted)
    return checks


def test_forty_wrong_passwords_at_once_check_at_most_five(open_app, monkeypatch):
    add_user(open_app)
    checks = _count_password_checks(monkeypatch)

    def attempt(i: int) -> int:
        client = open_app.test_client()
        return client.post("/login", data={"identifier": "maria@example.com",
                                           "password": f"wrong-{i}"},
                           environ_base={"REMOTE_ADDR": f"10.0.{i // 200}.{i % 200}"}
                           ).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(attempt, range(40)))
    assert len(checks) <= 5
    assert statuses.count(401) == len(checks) and statuses.count(429) == 40 - len(checks)
    # the right password waits for the window too
    assert open_app.test_client().post("/login", data={
        "identifier": "maria@example.com", "password": PASSWORD}).status_code == 429


def test_unknown_and_existing_accounts_get_the_same_answer(open_app, monkeypatch):
    from argon2 import PasswordHasher

    add_user(open_app)  # has a password
    add_user(open_app, "imported@example.com", password=None, name="Imported")  # has none
    verified = []
    original = PasswordHasher.verify
    monkeypatch.setattr(PasswordHasher, "verify",
                        lambda self, h, p: verified.append(p) or original(self, h, p))
    answers = {}
    for identifier in ("maria@example.com", "imported@example.com", "ghost@example.com",
                       "111.444.777-35"):
        client = open_app.test_client()
        verified.clear()
        responses = [client.post("/login", data={"identifier": identifier,
                                                  "password": "wrong-password"})
                     for _ in range(6)]
        assert len(verified) == 5  # a hash is checked for each, account or not
        answers[identifier] = [(r.status_code, _flash(r)) for r in responses]
    assert len({tuple(a) for a in answers.values()}) == 1, answers
    assert answers["ghost@example.com"][-1][0] == 429


def _flash(response) -> str:
    import re

    match = re.search(r'<div class="alert[^"]*"[^>]*>(.*?)</div>', response.get_data(as_text=True),
                      re.S)
    return re.sub(r"<[^>]+>|\s+", " ", match.group(1)).strip() if match else ""


def test_a_right_password_resets_the_count(open_app):
    add_user(open_app)
    client = open_app.test_client()
    for _ in range(4):
        client.post("/login", data={"identifier": "maria@example.com", "password": "wrong"})
    assert client.post("/login", data={"identifier": "maria@example.com",
                                       "password": PASSWORD}).status_code == 302
    other = open_app.test_client()
    for _ in range(4):
        assert other.post("/login", data={"identifier": "maria@example.com",
                                          "password": "wrong"}).status_code == 401


def test_one_blocked_address_is_not_the_whole_portal_behind_a_proxy(built_instance):
    app = make_app(built_instance, WTF_CSRF_ENABLED=False, PORTAL_PROXY_COUNT=1)
    from runtime import create_app  # noqa: F401  (ProxyFix is applied by create_app)

    add_user(app)
    client = app.test_client()

    def post(address: str, identifier: str, password: str = "wrong") -> int:
        return client.post("/login", data={"identifier": identifier, "password": password},
                           headers={"X-Forwarded-For": address}).status_code

    for i in range(20):  # one address guesses across many accounts
        post("203.0.113.9", f"guess{i}@example.com")
    assert post("203.0.113.9", "maria@example.com", PASSWORD) == 429
    assert post("198.51.100.7", "maria@example.com", PASSWORD) == 302


def test_a_proxy_without_proxy_count_is_reported_in_the_log(sqlite_app, caplog):
    client = sqlite_app.test_client()
    with caplog.at_level(logging.WARNING, logger="runtime.security"):
        client.get("/login", headers={"X-Forwarded-For": "203.0.113.9"})
        client.get("/login", headers={"X-Forwarded-For": "203.0.113.10"})
    warnings = [r for r in caplog.records if "PORTAL_PROXY_COUNT" in r.getMessage()]
    assert len(warnings) == 1  # once per process, not per request


def test_probes_and_static_files_never_clean_up_expired_sessions(sqlite_app, monkeypatch):
    """Flask-Session deletes expired sessions on a random request; a probe is not one (it
    failed a readiness probe with 500 in a fleet whose tables were not there yet)."""
    import random

    from sqlalchemy import event

    from runtime.extensions import db

    monkeypatch.setattr(random, "randint", lambda a, b: 0)  # every request would clean up
    seen: list[str] = []
    with sqlite_app.app_context():
        engine = db.engine

    def record(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        client = sqlite_app.test_client()
        assert client.get("/healthz").status_code == 200
        assert client.get("/healthz/ready").status_code == 200
        assert not [s for s in seen if s.lstrip().startswith("DELETE")], seen
        client.get("/login")  # a page request does the cleanup
        assert [s for s in seen if s.lstrip().startswith("DELETE FROM sessions")]
    finally:
        event.remove(engine, "before_cursor_execute", record)
