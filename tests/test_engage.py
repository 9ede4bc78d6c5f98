"""Refer a friend, address confirmation, the after-login gates and the pending-actions pop-up
(features.refer_a_friend, features.address_confirmation; runtime/pending.py)."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import event

from tests.conftest import (
    PASSWORD,
    ROOT,
    add_user,
    csrf_token,
    import_estate,
    is_session_lookup,
    login,
    submit,
)

MARIA = "maria.souza@example.com"  # C-0001: a contract at Residencial Jardins
JOAO = "joao.lima@example.com"


@pytest.fixture(scope="module")
def aurora_instance(tmp_path_factory):
    """The demo tenant (every switch of the format on), built once for this file."""
    from generator.build import build

    out = tmp_path_factory.mktemp("engage")
    return build(str(ROOT / "tenants/aurora/tenant.yaml"), out / "b").instance


@pytest.fixture(params=["sqlite", "postgresql"])
def estate(request, aurora_instance, tmp_path):
    from runtime.extensions import db

    url = (f"sqlite:///{tmp_path / 'portal.db'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres_url"))
    app = import_estate(aurora_instance, url)
    add_user(app, "staff@example.com", role="staff", name="Sam Staff")
    yield app
    with app.app_context():
        db.engine.dispose()


def _client(app, email):
    """A logged-in client; gates of other modules (the first-login survey) postponed, so
    that these tests see the address gate and the pop-up alone."""
    client = login(app, email, gates=True)
    with client.session_transaction() as session:
        session["portal.gates.passed"] = ["survey", "scheduling"]
    return client


def _confirm(client, next_url="/"):
    """Answer the address gate with "Yes, it is correct"."""
    html = client.get(f"/address?next={next_url}").get_data(as_text=True)
    return client.post("/address", data={"csrf_token": csrf_token(html), "next": next_url})


def _user_id(app, email):
    from runtime.extensions import db
    from runtime.models import User

    with app.app_context():
        return db.session.scalar(db.select(User.id).where(User.email == email))


# -- the switches are read: nothing enabled is silent -----------------------------------------

def test_the_reference_switches_are_implemented_and_documented():
    """The reference tenant file turns refer_a_friend on (address_confirmation off); both
    switches have screens now: no x-planned mark, no warning, and the README names them."""
    import json

    reference = (ROOT / "tests/fixtures/reference/tenant-reference.yaml").read_text(
        encoding="utf-8")
    assert re.search(r"^  refer_a_friend: true$", reference, re.M)
    assert re.search(r"^  address_confirmation: false$", reference, re.M)
    schema = json.loads((ROOT / "schemas/tenant.schema.json").read_text(encoding="utf-8"))
    features = schema["properties"]["features"]["properties"]
    for name in ("refer_a_friend", "address_confirmation"):
        assert "x-planned" not in features[name]
        assert "not available" not in features[name]["description"]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "\n## Refer a friend\n" in readme and "\n## Address confirmation\n" in readme


def test_each_switch_brings_only_its_own_screens(tmp_path):
    """A tenant with one switch on gets that feature's screens and staff link, not the
    other's; with both off neither answers."""
    from generator.build import build
    from tests.conftest import make_app

    source = ROOT / "tests/fixtures/tenants/minimal/tenant.yaml"
    for switches, expect in (("refer_a_friend: true", ("/refer", "/staff/referrals")),
                             ("address_confirmation: true",
                              ("/address", "/staff/addresses")),
                             ("refer_a_friend: false", ())):
        folder = tmp_path / switches.split(":")[0] / switches.split()[-1]
        folder.mkdir(parents=True)
        import shutil

        shutil.copytree(source.parent, folder / "t")
        tenant = folder / "t" / "tenant.yaml"
        tenant.write_text(tenant.read_text().replace("modules:\n",
                                                     f"features:\n  {switches}\nmodules:\n"))
        app = make_app(build(str(tenant), folder / "build").instance)
        rules = {r.rule for r in app.url_map.iter_rules()}
        for url in ("/refer", "/referrals", "/staff/referrals", "/address",
                    "/staff/addresses"):
            wanted = any(url.startswith(e) for e in expect)
            assert (url in rules) == wanted, (switches, url)


# -- refer a friend ----------------------------------------------------------------------------

def test_a_client_refers_a_friend_and_follows_the_status(estate):
    client = _client(estate, MARIA)
    _confirm(client)
    home = client.get("/").get_data(as_text=True)
    assert 'href="/refer"' in home and "Indique um amigo" in home
    page = client.get("/refer").get_data(as_text=True)
    assert "Residencial Jardins" in page and "Ainda não decidi" in page
    # the consent is required, the phone must be one; the input stays
    bad = submit(client, "/refer", {"name": "Paula Ribeiro", "phone": "123",
                                    "email": "paula@example.com", "development": "0"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400
    assert 'id="consent-error"' in html and 'id="phone-error"' in html
    assert 'value="Paula Ribeiro"' in html
    from runtime.erp.models import Development
    from runtime.extensions import db

    with estate.app_context():
        jardins = db.session.scalar(db.select(Development.id).where(
            Development.external_id == "JAR"))
    ok = submit(client, "/refer", {"name": "Paula Ribeiro", "phone": "(11) 99876-5432",
                                   "email": "Paula@Example.com", "development": str(jardins),
                                   "consent": "y"})
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/referrals")
    mine = client.get("/referrals").get_data(as_text=True)
    assert "Paula Ribeiro" in mine and "Residencial Jardins" in mine and "Novo" in mine
    # an unknown development is refused, not stored
    assert submit(client, "/refer", {"name": "X", "phone": "(11) 99876-5432",
                                     "development": "99999", "consent": "y"}
                  ).status_code == 400

    # staff: listed, filtered, moved to contacted, exported
    staff = login(estate, "staff@example.com")
    listing = staff.get("/staff/referrals").get_data(as_text=True)
    assert "Paula Ribeiro" in listing and "Maria Souza" in listing
    assert "Paula Ribeiro" not in staff.get("/staff/referrals?status=converted").get_data(
        as_text=True)
    assert staff.get("/staff/referrals?start=2026-02-10&end=2026-01-01").status_code == 400
    with estate.app_context():
        from runtime.modules.engage.models import Referral

        referral = db.session.scalar(db.select(Referral))
        assert referral.email == "paula@example.com" and referral.consent_at is not None
    moved = submit(staff, f"/staff/referrals/{referral.id}/status", {"status": "contacted"},
                   page="/staff/referrals")
    assert moved.status_code == 303
    assert "Contatado" in client.get("/referrals").get_data(as_text=True)
    assert submit(staff, f"/staff/referrals/{referral.id}/status", {"status": "lost"},
                  page="/staff/referrals").status_code == 303
    with estate.app_context():
        assert db.session.get(Referral, referral.id).status == "contacted"
    exported = staff.get("/staff/referrals.csv?status=contacted")
    assert exported.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff")),
                           delimiter=";"))
    assert len(rows) == 2 and rows[1][1] == "Paula Ribeiro" and rows[1][7] == "Maria Souza"
    # a client never reaches the staff list; staff have no referral form
    assert client.get("/staff/referrals").status_code in (302, 403, 404)
    assert staff.get("/refer").status_code == 404


def test_a_client_sees_only_their_own_referrals(estate):
    from runtime.extensions import db
    from runtime.models import utcnow
    from runtime.modules.engage.models import Referral

    with estate.app_context():
        joao = _user_id(estate, JOAO)
        db.session.add(Referral(user_id=joao, name="Amigo do João", phone="11999998888",
                                consent_at=utcnow()))
        db.session.commit()
    client = _client(estate, MARIA)
    _confirm(client)
    assert "Amigo do João" not in client.get("/referrals").get_data(as_text=True)


# -- address confirmation: the gate ------------------------------------------------------------

def test_the_address_gate_comes_first_and_correct_records_the_date(estate):
    from runtime.extensions import db
    from runtime.modules.engage.models import AddressConfirmation

    client = _client(estate, MARIA)
    first = client.get("/finance")
    assert first.status_code == 302
    assert first.headers["Location"] == "/address?next=/finance"
    page = client.get(first.headers["Location"]).get_data(as_text=True)
    assert "Rua das Acácias, 120" in page and "Sim, está correto" in page
    # the pop-up never covers a gate
    assert "data-pending-url" not in page
    answered = _confirm(client, "/finance")
    assert answered.status_code == 303 and answered.headers["Location"] == "/finance"
    with estate.app_context():
        row = db.session.get(AddressConfirmation, _user_id(estate, MARIA))
        assert row.address.startswith("Rua das Acácias") and row.confirmed_at is not None
    assert client.get("/finance").status_code == 200
    # the next login asks nothing
    again = _client(estate, MARIA)
    assert again.get("/finance").status_code == 200


def test_change_opens_the_profile_change_request_and_asks_again_next_time(estate):
    client = _client(estate, MARIA)
    html = client.get("/address?next=/").get_data(as_text=True)
    answer = client.post("/address/change", data={"csrf_token": csrf_token(html), "next": "/"})
    assert answer.status_code == 303 and answer.headers["Location"] == "/profile#address"
    # straight there, even while the welcome survey (a later gate) waits
    profile = login(estate, MARIA, gates=True)
    html = profile.get("/address?next=/").get_data(as_text=True)
    profile.post("/address/change", data={"csrf_token": csrf_token(html), "next": "/"})
    page = profile.get("/profile")
    assert page.status_code == 200 and 'id="address"' in page.get_data(as_text=True)
    assert client.get("/").status_code == 200  # passed for this session
    assert _client(estate, MARIA).get("/").status_code == 302  # asked again at next login


def test_a_forged_answer_is_refused(estate):
    client = _client(estate, MARIA)
    assert client.post("/address", data={"next": "/"}).status_code == 400
    assert client.get("/").status_code == 302  # still at the gate


def test_staff_see_who_confirmed_and_ask_a_development_again(estate):
    from runtime.erp.models import Development
    from runtime.extensions import db
    from runtime.modules.engage.models import AddressRecheck

    client = _client(estate, MARIA)
    _confirm(client)
    staff = login(estate, "staff@example.com")
    assert staff.get("/").status_code == 302  # no gate for staff: their console
    page = staff.get("/staff/addresses?state=confirmed").get_data(as_text=True)
    assert "Maria Souza" in page and "João Lima" not in page
    waiting = staff.get("/staff/addresses?state=waiting").get_data(as_text=True)
    assert "João Lima" in waiting and "Maria Souza" not in waiting
    with estate.app_context():
        jardins = db.session.scalar(db.select(Development.id).where(
            Development.external_id == "JAR"))
    asked = submit(staff, "/staff/addresses/recheck", {"development": str(jardins)},
                   page="/staff/addresses")
    assert asked.status_code == 303
    assert submit(staff, "/staff/addresses/recheck", {"development": ""},
                  page="/staff/addresses").status_code == 303
    with estate.app_context():
        assert db.session.scalar(db.select(db.func.count(AddressRecheck.id))) == 1
    assert "Maria Souza" in staff.get("/staff/addresses?state=waiting").get_data(as_text=True)
    # Maria is asked again at her next login
    again = _client(estate, MARIA)
    assert again.get("/").headers["Location"].startswith("/address")


# -- the pending-actions pop-up ---------------------------------------------------------------

def _waiting_ticket(app, email):
    """A request of the client that awaits their feedback."""
    from runtime.extensions import db
    from runtime.models import User
    from runtime.modules.tickets import service

    with app.app_context(), app.test_request_context():
        client = db.session.scalar(db.select(User).where(User.email == email))
        staff = db.session.scalar(db.select(User).where(User.email == "staff@example.com"))
        ticket = service.open_ticket(client, "relacionamento", "duvida",
                                     description="Quando é a assembleia?", answers=[],
                                     files={})
        service.staff_move(ticket, staff, "awaiting_feedback", "Pode nos dizer a unidade?")
        db.session.commit()


def _pending(client) -> str:
    """The page the client lands on, and the pop-up portal.js fetches from it (or "")."""
    page = client.get("/").get_data(as_text=True)
    match = re.search(r'data-pending-url="([^"]+)"', page)
    if match is None:
        return ""
    reply = client.get(match.group(1))
    assert reply.status_code in (200, 204)
    return reply.get_data(as_text=True)


def _pop_up(html: str) -> list[str]:
    match = re.search(r'<div class="modal fade pending-actions".*?<ul class="list-group '
                      r'pending-list">(.*?)</ul>', html, re.S)
    if match is None:
        return []
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", li)).strip()
            for li in re.findall(r"<li.*?</li>", match.group(1), re.S)]


def test_the_pop_up_lists_what_waits_in_order_once_per_session(estate):
    from runtime.extensions import db
    from runtime.models import User, utcnow

    _waiting_ticket(estate, MARIA)
    # a previous visit a month ago: the demo documents were published since
    with estate.app_context():
        user = db.session.scalar(db.select(User).where(User.email == MARIA))
        user.last_login_at = utcnow() - timedelta(days=30)
        db.session.commit()
        from runtime.demo import Demo
        from runtime.modules.documents.parts import seed

        staff = db.session.scalar(db.select(User).where(User.email == "staff@example.com"))
        with estate.test_request_context():
            seed(Demo({"maria": user, "staff": staff}))
    client = _client(estate, MARIA)
    # "change" passes the gate: the address stays in the pop-up, first
    html = client.get("/address?next=/").get_data(as_text=True)
    client.post("/address/change", data={"csrf_token": csrf_token(html), "next": "/"})
    home = _pending(client)
    items = _pop_up(home)
    # in the order; the survey's item (another module) may sit between them
    mine = [i for i in items if re.match(r"Confirme seu endereço|1 solicitação aguarda|"
                                         r"\d+ novos? documentos?", i)]
    assert len(mine) == 3, items
    assert items[0].startswith("Confirme seu endereço")
    assert mine[1].startswith("1 solicitação aguarda sua resposta")
    assert re.match(r"\d+ novos? documentos? desde sua última visita", mine[2])
    assert items[-1] == mine[2]  # documents come last
    assert 'aria-labelledby="pending-actions-title"' in home and "Depois" in home
    # once per session: the next page has no pop-up, and asking again gets nothing
    assert "data-pending-url" not in client.get("/").get_data(as_text=True)
    assert client.get("/pending").status_code == 204


def test_nothing_waiting_no_pop_up(estate):
    """João confirmed, has no request waiting and logs in for the first time: nothing of
    this lane's in the pop-up (a module's own item, e.g. an open survey, may still be)."""
    client = _client(estate, JOAO)
    _confirm(client)
    items = _pop_up(_pending(client))
    assert not [i for i in items if re.match(r"Confirme|\d+ solicitaç|\d+ novos? doc", i)]


def test_the_home_page_after_the_gates_stays_within_9_statements(estate):
    """The first page after login (gates checked, pop-up gathered: 9, one of them the home
    banners' SELECT) and the referral and staff pages (8) with 10,000 referrals and
    confirmations."""
    from runtime.extensions import db
    from runtime.models import User, utcnow
    from runtime.modules.engage.models import AddressConfirmation, Referral

    with estate.app_context():
        maria = _user_id(estate, MARIA)
        now = utcnow()
        users = [User(email=f"c{i}@example.com", name=f"Client {i:05d}", role="client")
                 for i in range(2000)]
        db.session.add_all(users)
        db.session.flush()
        db.session.add_all(AddressConfirmation(user_id=u.id, address="Rua X", confirmed_at=now)
                           for u in users)
        db.session.add_all(Referral(user_id=users[i % 2000].id if i % 7 else maria,
                                    name=f"Friend {i}", phone="11999998888", consent_at=now,
                                    created_at=now - timedelta(minutes=i))
                           for i in range(10_000))
        db.session.add(AddressConfirmation(user_id=maria, address="Rua", confirmed_at=now))
        db.session.commit()
        engine = db.engine
    statements = []

    def count(conn, cursor, statement, *args):
        if not is_session_lookup(statement):
            statements.append(statement)

    client = _client(estate, MARIA)
    staff = login(estate, "staff@example.com")
    event.listen(engine, "before_cursor_execute", count)
    try:
        for who, url in ((client, "/"), (client, "/pending"), (client, "/"),
                         (client, "/referrals"), (client, "/refer"),
                         (staff, "/staff/referrals"), (staff, "/staff/referrals?page=3"),
                         (staff, "/staff/addresses"),
                         (staff, "/staff/addresses?state=waiting")):
            statements.clear()
            reply = who.get(url)
            assert reply.status_code in (200, 204), (url, reply.headers.get("Location"))
            budget = 9 if url == "/" else 8  # home also reads its banners (runtime/banners.py)
            if len(statements) > budget:
                print("\n".join(s[:160].replace("\n", " ") for s in statements))
            assert len(statements) <= budget, (url, len(statements))
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_no_email_password_reset_still_gates(estate):
    """Setting a password through a link logs the client in: the gate applies too."""
    from runtime.auth.tokens import make_token
    from runtime.extensions import db
    from runtime.models import User

    with estate.app_context(), estate.test_request_context():
        user = db.session.scalar(db.select(User).where(User.email == JOAO))
        token = make_token(user, "reset")
    client = estate.test_client()
    reply = submit(client, f"/reset/{token}", {"password": PASSWORD + "x",
                                               "confirm": PASSWORD + "x"})
    assert reply.status_code == 302
    assert client.get("/").headers["Location"].startswith("/address")
