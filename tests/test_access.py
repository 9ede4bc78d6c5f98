"""Logging in by phone, and portal access switched off per client and per development."""

from __future__ import annotations

import pytest

from tests.conftest import (
    PASSWORD,
    ROOT,
    AuthActions,
    add_user,
    import_estate,
    login,
    outbox,
    submit,
)


@pytest.fixture(params=["sqlite", "postgresql"])
def estate(request, tmp_path):
    """The demo tenant with its ERP sample imported, every password set."""
    from generator.build import build
    from runtime.extensions import db

    instance = build(str(ROOT / "tenants/aurora/tenant.yaml"), tmp_path / "b").instance
    url = (f"sqlite:///{instance / 'data' / 'portal.db'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres_url"))
    app = import_estate(instance, url)
    yield app
    with app.app_context():
        db.engine.dispose()


FAILED = "E-mail, CPF/CNPJ, phone or password incorrect."
NOT_ENABLED = "portal is not enabled. Please contact us to enable it."
NAO_HABILITADO = "não está habilitado. Entre em contato conosco para habilitá-lo."  # Aurora


@pytest.mark.parametrize("typed", ["11987654321", "(11) 98765-4321", "+55 11 98765 4321",
                                   "+55 (11) 98765-4321", "011 98765-4321", "5511987654321"])
def test_a_client_logs_in_with_the_phone_written_any_usual_way(sqlite_app, typed):
    add_user(sqlite_app, phone="+55 (11) 98765-4321")
    response = AuthActions(sqlite_app.test_client()).login(typed)
    assert response.status_code == 302 and response.location == "/"


def test_phone_login_on_both_databases_and_a_landline(app, client, auth):
    add_user(app, phone="(11) 3333-4444")
    assert auth.login("1133334444").status_code == 302
    auth.logout()
    # not a Brazilian number: no account is found, and the answer is the usual one
    response = auth.login("12345")
    assert response.status_code == 401 and FAILED in response.get_data(as_text=True)


def test_a_shared_phone_logs_in_neither_account_and_says_nothing(app, auth):
    add_user(app, phone="+55 11 98765-4321")
    add_user(app, email="joao@example.com", name="João Lima", phone="(11) 98765-4321")
    response = auth.login("11987654321")  # the right password of both
    assert response.status_code == 401
    assert FAILED in response.get_data(as_text=True)  # the same words as a wrong password
    assert auth.login("joao@example.com").status_code == 302  # by e-mail each still may


def test_wrong_passwords_by_phone_lock_the_account_however_the_number_is_written(app, auth):
    add_user(app, phone="+55 11 98765-4321")
    for typed in ("11987654321", "(11) 98765-4321", "+55 11 98765-4321", "011987654321",
                  "11 98765 4321"):
        assert auth.login(typed, "wrong-password").status_code == 401
    assert auth.login("maria@example.com").status_code == 429  # the account itself waits


def test_a_shared_phone_is_locked_out_as_an_unknown_one(app, auth):
    add_user(app, phone="11987654321")
    add_user(app, email="joao@example.com", name="João Lima", phone="11987654321")
    for typed in ("11987654321", "(11) 98765-4321", "+55 11 98765-4321", "011987654321",
                  "11 98765 4321"):
        assert auth.login(typed, "wrong-password").status_code == 401
    assert auth.login("(11) 98765-4321").status_code == 429


def test_the_login_and_forgot_pages_say_a_phone_works(sqlite_app):
    client = sqlite_app.test_client()
    for url in ("/login", "/forgot"):
        html = client.get(url).get_data(as_text=True)
        assert "E-mail, CPF/CNPJ or phone" in html
        assert 'aria-describedby="identifier-help"' in html and "(11) 98765-4321" in html


def test_forgot_password_by_phone_sends_the_link(app, client):
    add_user(app, phone="+55 11 98765-4321")
    submit(client, "/forgot", {"identifier": "(11) 98765-4321"})
    assert [m["To"] for m in outbox(app)] == ["maria@example.com"]


def test_phone_changes_and_imports_keep_the_lookup(estate):
    from runtime.extensions import db
    from runtime.models import User

    app = estate
    # imported in bulk: Pedro Alves has +55 19 96666-4444 in the ERP sample
    assert AuthActions(app.test_client()).login("(19) 96666-4444").status_code == 302
    with app.app_context():
        pedro = db.session.scalar(db.select(User).where(User.email == "pedro.alves@example.com"))
        pedro.phone = "+55 19 3222-1100"
        db.session.commit()
    assert AuthActions(app.test_client()).login("1932221100").status_code == 302
    assert AuthActions(app.test_client()).login("19966664444").status_code == 401


# -- portal access: per client ---------------------------------------------------------------

def _staff(app):
    add_user(app, email="staff@example.com", name="Ana Atendente", role="staff")
    return login(app, "staff@example.com")


def test_staff_switch_a_clients_access_off_with_a_reason(app):
    from runtime.erp.models import AuditEntry
    from runtime.extensions import db

    maria = add_user(app)
    staff = _staff(app)
    buyer = login(app, "maria@example.com")
    page = f"/staff/clients/{maria}"
    assert "Portal access" in staff.get(page).get_data(as_text=True)
    response = submit(staff, page + "/access", {"portal-note": " "}, page=page)
    assert response.status_code == 400
    assert "Say why access is switched off." in response.get_data(as_text=True)
    assert buyer.get("/").status_code == 200  # nothing changed
    response = submit(staff, page + "/access", {"portal-note": "Contract being rescinded"},
                      page=page)
    assert response.status_code == 302
    assert buyer.get("/").status_code == 302  # the client's session has ended
    html = staff.get(page).get_data(as_text=True)
    assert "Contract being rescinded" in html and "Switch portal access on" in html
    assert "Portal access off" in staff.get("/staff/clients").get_data(as_text=True)
    response = AuthActions(app.test_client()).login()
    assert response.status_code == 403
    assert NOT_ENABLED in response.get_data(as_text=True)
    # a wrong password still gets the usual answer: the switch is told only to the owner
    response = AuthActions(app.test_client()).login(password="wrong-password")
    assert response.status_code == 401 and NOT_ENABLED not in response.get_data(as_text=True)
    with app.app_context():
        entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.subject_id == maria))
        assert (entry.action, entry.detail) == ("access_off", "Contract being rescinded")
    assert submit(staff, page + "/access", {}, page=page).status_code == 302
    assert AuthActions(app.test_client()).login().status_code == 302
    admin = add_user(app, email="admin@example.com", name="Admin", role="admin")
    assert admin
    log = login(app, "admin@example.com").get("/staff/audit").get_data(as_text=True)
    assert "Switched portal access off for" in log and "Switched portal access on for" in log


def test_a_client_switched_off_gets_no_reset_link_and_no_session_from_a_link(app, client):
    maria = add_user(app)
    staff = _staff(app)
    submit(staff, f"/staff/clients/{maria}/access", {"portal-note": "Fraud suspected"},
           page=f"/staff/clients/{maria}")
    submit(client, "/forgot", {"identifier": "maria@example.com"})
    assert [m["To"] for m in outbox(app)] == []


def test_staff_accounts_have_no_access_switch(app):
    staff = _staff(app)
    other = add_user(app, email="other@example.com", name="Other", role="staff")
    admin = add_user(app, email="admin@example.com", name="Admin", role="admin")
    assert admin
    admin_client = login(app, "admin@example.com")
    assert "Portal access" not in admin_client.get(f"/staff/clients/{other}").get_data(
        as_text=True)
    assert submit(staff, f"/staff/clients/{other}/access", {"portal-note": "x"},
                  page="/staff/clients").status_code == 400


# -- portal access: per development ----------------------------------------------------------

def _development(app, external_id: str) -> int:
    from runtime.erp.models import Development
    from runtime.extensions import db

    with app.app_context():
        return db.session.scalar(db.select(Development.id).where(
            Development.external_id == external_id))


def test_a_development_switched_off_shuts_out_whoever_has_only_it(estate):
    from runtime.erp.models import SyndicDevelopment
    from runtime.extensions import db

    jardins, verde = _development(estate, "JAR"), _development(estate, "VV")
    syndic = add_user(estate, email="sindico@example.com", name="Carlos", role="syndic")
    with estate.app_context():
        db.session.add(SyndicDevelopment(user_id=syndic, development_id=verde))
        db.session.commit()
    add_user(estate, email="staff@example.com", name="Ana Atendente", role="staff")
    staff = login(estate, "staff@example.com")
    pedro = login(estate, "pedro.alves@example.com")  # holder in Vista Verde only
    page = f"/staff/developments/{verde}"
    html = staff.get(page).get_data(as_text=True)
    assert "Acesso ao portal" in html and "Desligar acesso ao portal" in html
    response = submit(staff, page + "/access", {"portal-note": ""}, page=page)
    assert response.status_code == 400
    assert "Informe por que o acesso será desligado." in response.get_data(as_text=True)
    response = submit(staff, page + "/access", {"portal-note": "Handed over to the condominium"},
                      page=page, follow_redirects=True)
    # Pedro, Carla (holders there) and the syndic; Maria is attorney there but owns in Jardins
    assert "3 contas não conseguem mais entrar" in response.get_data(as_text=True)
    assert pedro.get("/").status_code == 302  # his session ended
    for identifier in ("pedro.alves@example.com", "sindico@example.com"):
        response = AuthActions(estate.test_client()).login(
            identifier, kind="syndic" if "sindico" in identifier else "client")
        assert response.status_code == 403, identifier
        assert NAO_HABILITADO in response.get_data(as_text=True)
    assert AuthActions(estate.test_client()).login("maria.souza@example.com").status_code == 302
    assert "Acesso ao portal desligado" in staff.get("/staff/developments").get_data(as_text=True)
    # a client linked to no development at all depends on their own switch only
    add_user(estate, email="lead@example.com", name="Lead")
    assert AuthActions(estate.test_client()).login("lead@example.com").status_code == 302
    assert jardins
    submit(staff, page + "/access", {}, page=page)
    assert AuthActions(estate.test_client()).login("pedro.alves@example.com").status_code == 302


def test_a_switched_off_client_reaches_no_page_with_a_session_they_had(estate):
    from runtime.extensions import db
    from runtime.models import User

    add_user(estate, email="staff@example.com", name="Ana Atendente", role="staff")
    maria = login(estate, "maria.souza@example.com")
    pages = ("/", "/unit", "/contracts", "/documents", "/tickets", "/finance")
    assert all(maria.get(url).status_code == 200 for url in pages)
    with estate.app_context():
        maria_id = db.session.scalar(db.select(User.id).where(
            User.email == "maria.souza@example.com"))
    staff = login(estate, "staff@example.com")
    submit(staff, f"/staff/clients/{maria_id}/access", {"portal-note": "Rescinded"},
           page=f"/staff/clients/{maria_id}")
    for url in pages:
        response = maria.get(url)
        assert response.status_code == 302 and "/login" in response.location, url
    # staff still read her data; the switch is about the portal, not the account
    assert "Maria Souza" in staff.get(f"/staff/clients/{maria_id}").get_data(as_text=True)


def test_staff_pages_with_the_switches_stay_within_8_statements(estate):
    from sqlalchemy import event, insert

    from runtime.erp.models import Development
    from runtime.extensions import db
    from runtime.models import User
    from tests.conftest import is_session_lookup

    add_user(estate, email="staff@example.com", name="Ana Atendente", role="staff")
    with estate.app_context():  # 10,000 clients, every fifth switched off
        probe = User()
        probe.set_password(PASSWORD)
        db.session.execute(insert(User), [
            {"name": f"Cliente {i:05d}", "email": f"c{i}@example.com", "role": "client",
             "password_hash": probe.password_hash,
             "active": True, "portal_access": i % 5 != 0, "phone": f"+55 11 9{i:08d}",
             "phone_digits": f"119{i:08d}"} for i in range(10_000)])
        db.session.commit()
        maria = db.session.scalar(db.select(User.id).where(
            User.email == "maria.souza@example.com"))
        jardins = db.session.scalar(db.select(Development.id).where(
            Development.external_id == "JAR"))
        engine = db.engine
    staff = login(estate, "staff@example.com")
    statements = []

    def count(conn, cursor, statement, *args):
        if not is_session_lookup(statement):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        for url in ("/staff/clients", "/staff/clients?page=40", "/staff/clients?q=cliente",
                    f"/staff/clients/{maria}", "/staff/developments",
                    f"/staff/developments/{jardins}"):
            statements.clear()
            assert staff.get(url).status_code == 200, url
            assert len(statements) <= 8, (url, len(statements))
        html = staff.get("/staff/clients?q=cliente%2000000").get_data(as_text=True)
        assert "Acesso ao portal desligado" in html
        statements.clear()
        assert AuthActions(estate.test_client()).login("(11) 90000-0001").status_code == 302
        assert AuthActions(estate.test_client()).login("(11) 90000-0005").status_code == 403
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_staff_find_an_account_by_its_phone(app):
    add_user(app, phone="+55 (11) 98765-4321")
    add_user(app, email="joao@example.com", name="João Lima", phone="(21) 3333-4444")
    staff = _staff(app)
    html = staff.get("/staff/clients?q=11%2098765%204321").get_data(as_text=True)
    assert "Maria Souza" in html and "João Lima" not in html
    assert "Search by name, e-mail, CPF/CNPJ, phone or unit" in html


def test_the_migration_gives_existing_accounts_their_phone_lookup(built_instance, db_url):
    """An instance created before 0009_portal_access: its accounts log in by phone after it."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from runtime import create_app
    from runtime.extensions import db

    app = create_app(built_instance, {"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url})
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        directory = app.extensions["migrate"].directory
        upgrade(directory=directory, revision="0007")
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO users (email, name, phone, role, active, created_at) VALUES "
                "('old@example.com', 'Old', '+55 11 98765-4321', 'client', :yes, :now), "
                "('odd@example.com', 'Odd', 'ramal 12', 'client', :yes, :now)"),
                {"yes": True, "now": "2026-01-01 00:00:00"})
        upgrade(directory=directory, revision="heads")
        rows = dict(db.session.execute(text("SELECT email, phone_digits FROM users")).all())
        access = set(db.session.execute(text("SELECT portal_access FROM users")).scalars())
        db.session.remove()  # give its connection back before the pool goes, or it leaks open
        db.engine.dispose()
    assert rows == {"old@example.com": "11987654321", "odd@example.com": None}
    assert access == {True}  # every account keeps its access
