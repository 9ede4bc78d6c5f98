"""Logging in, first access, reset, logout, and what protects them."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import PASSWORD, add_user, csrf_token, mail_link, outbox, submit


def test_login_with_email_or_cpf_and_logout(app, client, auth):
    add_user(app, document="529.982.247-25")
    assert client.get("/").status_code == 302  # anonymous: to the login page
    response = auth.login("MARIA@example.com")
    assert response.status_code == 302 and response.location == "/"
    assert "Maria Souza" in client.get("/").get_data(as_text=True)
    auth.logout()
    assert client.get("/").status_code == 302
    assert auth.login("52998224725").status_code == 302
    auth.logout()
    assert auth.login("529.982.247-25").status_code == 302


def test_wrong_password_is_refused_without_saying_which_part(app, auth):
    add_user(app)
    for identifier in ("maria@example.com", "nobody@example.com"):
        response = auth.login(identifier, "wrong-password")
        assert response.status_code == 401
        assert "E-mail, CPF/CNPJ, phone or password incorrect." in response.get_data(as_text=True)


def test_repeated_failures_lock_the_account(app, client, auth):
    add_user(app)
    for _ in range(5):
        auth.login(password="wrong-password")
    response = auth.login()  # even the right password now waits
    assert response.status_code == 429
    assert "Too many failed attempts" in response.get_data(as_text=True)
    from runtime.extensions import db
    from runtime.models import LoginAttempt

    with app.app_context():  # once the window is over, the right password works again
        for attempt in db.session.scalars(db.select(LoginAttempt)):
            attempt.window_start -= timedelta(minutes=15)
        db.session.commit()
    assert auth.login().status_code == 302


def test_a_forged_form_is_refused_and_changes_nothing(app, client):
    add_user(app)
    response = client.post("/login", data={"identifier": "maria@example.com",
                                           "password": PASSWORD})
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still logged out


def test_logout_needs_a_post_with_csrf(app, client, auth):
    add_user(app)
    auth.login()
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200


def test_there_is_no_self_registration(sqlite_app):
    client = sqlite_app.test_client()
    for url in ("/register", "/signup", "/users/new"):
        assert client.get(url).status_code == 404
    assert "register" not in client.get("/login").get_data(as_text=True).lower()


def test_first_access_link_sets_the_password_once(app, client):
    from runtime.accounts import send_first_access

    add_user(app, password=None)
    from runtime.extensions import db
    from runtime.models import User

    with app.app_context():
        send_first_access(db.session.scalar(db.select(User)))
    [message] = outbox(app)
    assert message["To"] == "maria@example.com"
    assert "Minimal Homes" in message["Subject"]
    assert message.get_body(("html",)).get_content().count("#F2A900") >= 1  # tenant colours
    link = mail_link(message)
    page = client.get(link)
    assert page.status_code == 200 and "Welcome, Maria" in page.get_data(as_text=True)
    response = submit(client, link, {"password": "new-password-1", "confirm": "new-password-1"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200  # logged in
    assert client.get(link).status_code == 400  # used once: gone
    assert "no longer valid" in client.get(link).get_data(as_text=True)


def test_password_rules_keep_the_input_and_explain(app, client):
    from runtime.accounts import send_first_access
    from runtime.extensions import db
    from runtime.models import User

    add_user(app, password=None)
    with app.app_context():
        send_first_access(db.session.scalar(db.select(User)))
    link = mail_link(outbox(app)[0])
    response = submit(client, link, {"password": "short", "confirm": "short"})
    assert "Use 8 to 128 characters." in response.get_data(as_text=True)
    response = submit(client, link, {"password": "long-enough-1", "confirm": "other-one-2"})
    assert "The passwords do not match." in response.get_data(as_text=True)


def test_reset_by_emailed_link(app, client, auth):
    add_user(app)
    response = submit(client, "/forgot", {"identifier": "maria@example.com"})
    assert response.status_code == 302
    unknown = submit(client, "/forgot", {"identifier": "ghost@example.com"})
    assert unknown.status_code == 302  # same answer: no account enumeration
    [message] = outbox(app)
    link = mail_link(message)
    assert "/reset/" in link
    submit(client, link, {"password": "brand-new-pass", "confirm": "brand-new-pass"})
    auth.logout()
    assert auth.login(password=PASSWORD).status_code == 401
    assert auth.login(password="brand-new-pass").status_code == 302


def test_a_tampered_or_expired_link_is_refused(app, client, monkeypatch):
    add_user(app)
    assert client.get("/reset/not-a-token").status_code == 400
    from runtime.auth.tokens import read_token
    from runtime.extensions import db
    from runtime.models import User

    submit(client, "/forgot", {"identifier": "maria@example.com"})
    token = mail_link(outbox(app)[0]).rsplit("/", 1)[1]
    with app.app_context():
        assert read_token(token, "reset", max_age=3600) is not None
        assert read_token(token, "first-access", max_age=3600) is None  # other purpose
        import time

        from itsdangerous.timed import TimestampSigner

        later = int(time.time()) + 3601  # an hour and a second later
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: later)
        assert read_token(token, "reset", max_age=3600) is None  # expired
        assert db.session.scalar(db.select(User)) is not None


def test_session_cookie_flags(app, client, auth):
    add_user(app)
    response = auth.login()
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    https = app.test_client()
    page = https.get("/login", base_url="https://portal.example")
    response = https.post("/login", base_url="https://portal.example", data={
        "identifier": "maria@example.com", "password": PASSWORD,
        "csrf_token": csrf_token(page.get_data(as_text=True))})
    assert "Secure" in response.headers["Set-Cookie"]
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_safe_redirect_after_login(app, client):
    add_user(app)
    page = client.get("/login?next=https://evil.example/")
    response = client.post("/login?next=https://evil.example/", data={
        "identifier": "maria@example.com", "password": PASSWORD,
        "csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.location == "/"


def test_syndic_logs_in_from_the_syndic_tab_only(built_instance, tenant_file, tmp_path):
    from generator.build import build
    from tests.conftest import AuthActions, make_app

    tenant_file.write_text(tenant_file.read_text() + "features:\n  syndic_login: true\n")
    app = make_app(build(str(tenant_file), tmp_path / "b").instance)
    add_user(app, "sindico@example.com", role="syndic")
    client = app.test_client()
    auth = AuthActions(client)
    assert "Building manager" in client.get("/login").get_data(as_text=True)
    assert auth.login("sindico@example.com").status_code == 401
    assert auth.login("sindico@example.com", kind="syndic").status_code == 302
