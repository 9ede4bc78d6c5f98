"""The page cache (runtime/pagecache.py): every write shows on the pages it changes, and no
other; a kept page is never another user's; ETag and 304; forms on kept pages still work.

Run on SQLite and PostgreSQL, with the generations in the database and in Redis.
"""

from __future__ import annotations

import re
import shutil
from datetime import timedelta

import pytest
from sqlalchemy import event

from tests.conftest import (
    PASSWORD,
    ROOT,
    add_user,
    csrf_token,
    is_session_lookup,
    login,
    make_app,
    redis_config,
    submit,
)

CSRF = re.compile(r'(name="csrf_token"[^>]*value=")[^"]+"')
# who: e-mail, login kind
PEOPLE = {"maria": ("maria.souza@example.com", "client"),  # buys A-101 at Jardins
          "joao": ("joao.lima@example.com", "client"),  # buys A-102 at Jardins
          "sindico": ("sindico@example.com", "syndic"),  # manages Jardins
          "subsindica": ("subsindica@example.com", "syndic"),  # manages Jardins too
          "vv": ("sindico.vv@example.com", "syndic")}  # manages Vista Verde


def _build_estate(tmp, database_url: str, config: dict):
    """The demo tenant with its ERP sample, building managers and one of its requests each."""
    from generator.build import build
    from runtime.erp import importer
    from runtime.erp.models import Development, SyndicDevelopment
    from runtime.extensions import db
    from runtime.models import User

    instance = build(str(ROOT / "tenants/aurora/tenant.yaml"), tmp / "b").instance
    url = database_url or f"sqlite:///{instance / 'data' / 'portal.db'}"
    app = make_app(instance, url, **config)
    with app.app_context():
        assert importer.run(ROOT / "tenants" / "aurora" / "erp").errors == []
        for user in db.session.scalars(db.select(User)):
            user.set_password(PASSWORD)
        db.session.commit()
    for email, name in (("sindico@example.com", "Sílvio Síndico"),
                        ("subsindica@example.com", "Sara Subsíndica"),
                        ("sindico.vv@example.com", "Vítor Verde")):
        add_user(app, email, role="syndic", name=name)
    add_user(app, "staff@example.com", role="staff", name="Sam Staff")
    with app.app_context():
        dev = {d.external_id: d.id for d in db.session.scalars(db.select(Development))}
        user = {u.email: u.id for u in db.session.scalars(db.select(User))}
        for email, development in (("sindico@example.com", "JAR"),
                                   ("subsindica@example.com", "JAR"),
                                   ("sindico.vv@example.com", "VV"),
                                   # João bought A-102 at Jardins and manages Vista Verde
                                   ("joao.lima@example.com", "VV")):
            db.session.add(SyndicDevelopment(user_id=user[email],
                                             development_id=dev[development]))
        db.session.commit()
    app.portal_ids = dev  # the developments' ids, for the tests' URLs
    return app


@pytest.fixture(scope="module", params=[("sqlite", False), ("sqlite", True),
                                        ("postgresql", False), ("postgresql", True)],
                ids=["sqlite", "sqlite-redis", "postgresql", "postgresql-redis"])
def estate(request, tmp_path_factory):
    database, redis = request.param
    url = request.getfixturevalue("postgres_url") if database == "postgresql" else ""
    config = redis_config(request.getfixturevalue("redis_url")) if redis else {}
    app = _build_estate(tmp_path_factory.mktemp(f"{database}-{redis}"), url, config)
    yield app
    from runtime.extensions import db

    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def people(estate):
    return {name: login(estate, email, kind) for name, (email, kind) in PEOPLE.items()}


def _body(response) -> str:
    """The page as a user reads it: the masked CSRF token differs on every answer."""
    return CSRF.sub(r'\1"', response.get_data(as_text=True))


def _open(app, email: str, division: str, request: str, text: str, **extra) -> str:
    from runtime.extensions import db
    from runtime.models import User
    from runtime.modules.tickets import service

    with app.test_request_context():
        user = db.session.scalar(db.select(User).where(User.email == email))
        ticket = service.open_ticket(user, division, request, description=text, answers=[],
                                     files={}, **extra)
        db.session.commit()
        return ticket.protocol


def _common_area(app, development: str) -> int:
    from runtime.erp.models import CommonArea, Development
    from runtime.extensions import db

    with app.app_context():
        area = db.session.scalar(db.select(CommonArea).join(Development).where(
            Development.external_id == development))
        return area.id


# -- writes, as staff and the ERP import make them --------------------------------------------

def _staff(app):
    return login(app, "staff@example.com")


def write_notice_for_buyers(app) -> None:
    response = submit(_staff(app), "/staff/notices/new", {
        "title": "Piscina reaberta", "summary": "A piscina reabriu", "content": "<p>Oba</p>",
        "publish_from": "2020-01-01T08:00", "active": "y", "roles": ["buyers"]})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def write_staff_moves_marias_request(app) -> None:
    protocol = app.portal_protocols["maria"]
    page = f"/staff/tickets/{protocol}"
    response = submit(_staff(app), f"{page}/move",
                      {"to": "awaiting_feedback", "note": "Qual parcela?"}, page=page)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def write_staff_answers_the_managers_request(app) -> None:
    protocol = app.portal_protocols["sindico"]
    page = f"/staff/tickets/{protocol}"
    response = submit(_staff(app), f"{page}/move",
                      {"to": "awaiting_feedback", "note": "Quais lâmpadas?"}, page=page)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def write_erp_import_renames_maria(app) -> None:
    from runtime.erp import importer

    folder = app.portal_tmp / "erp"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(ROOT / "tenants" / "aurora" / "erp", folder)
    customers = folder / "customers.csv"
    customers.write_text(customers.read_text(encoding="utf-8").replace(
        "C-0001;Maria Souza;", "C-0001;Maria Souza Prado;"), encoding="utf-8")
    with app.app_context():
        assert importer.run(folder).errors == []


def write_construction_update_at_jardins(app) -> None:
    development = app.portal_ids["JAR"]
    page = f"/staff/developments/{development}/updates/new"
    response = submit(_staff(app), page, {
        "reported_on": "2026-10-30", "overall": "65", "text": "Estrutura concluída no bloco A",
        "phase_name_0": "Fundação", "phase_percent_0": "100"},
        content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def _pages(app) -> list[tuple[str, str]]:
    jar, vv = app.portal_ids["JAR"], app.portal_ids["VV"]
    return [("maria", "/"), ("maria", "/notices"), ("maria", "/tickets"),
            ("maria", f"/construction/{jar}"), ("joao", "/"), ("joao", "/tickets"),
            ("sindico", "/"), ("sindico", "/notices"), ("sindico", "/tickets"),
            ("sindico", f"/construction/{jar}"), ("subsindica", "/tickets"),
            ("vv", "/"), ("vv", "/tickets"), ("vv", f"/construction/{vv}")]


# write -> the pages that change (who, path; "JAR" stands for the development's id), with
# what they now show; every other page of _pages stays as it was, to the byte (CSRF aside)
WRITES = [
    (write_notice_for_buyers,
     {("maria", "/"): "Piscina reaberta", ("maria", "/notices"): "Piscina reaberta",
      ("joao", "/"): "Piscina reaberta"}),
    (write_staff_moves_marias_request,
     {("maria", "/"): "1 solicitação aguarda você",
      ("maria", "/tickets"): "Aguardando seu retorno"}),
    (write_staff_answers_the_managers_request,  # the managers of one building share it
     {("sindico", "/"): "1 solicitação aguarda você",
      ("sindico", "/tickets"): "Aguardando seu retorno",
      ("subsindica", "/tickets"): "Aguardando seu retorno"}),
    (write_erp_import_renames_maria,  # her name is in the header of every page of hers
     {("maria", "/"): "Maria Souza Prado", ("maria", "/notices"): "Maria Souza Prado",
      ("maria", "/tickets"): "Maria Souza Prado",
      ("maria", "/construction/JAR"): "Maria Souza Prado"}),
    (write_construction_update_at_jardins,
     {("maria", "/"): "65%", ("maria", "/construction/JAR"): "Estrutura concluída no bloco A",
      ("joao", "/"): "65%", ("sindico", "/construction/JAR"): "Estrutura concluída no bloco A"}),
]


@pytest.fixture(scope="module")
def desk(estate, tmp_path_factory):
    """Maria's own request and one the Jardins manager opened about the party hall."""
    estate.portal_tmp = tmp_path_factory.mktemp("erp")
    estate.portal_protocols = {
        "maria": _open(estate, "maria.souza@example.com", "relacionamento", "duvida",
                       "Posso antecipar parcelas?"),
        "joao": _open(estate, "joao.lima@example.com", "relacionamento", "duvida",
                      "Quando entregam as chaves?"),
        "sindico": _open(estate, "sindico@example.com", "assistencia", "area-comum",
                         "Lâmpadas queimadas no salão", origin="syndic",
                         common_area_id=_common_area(estate, "JAR"))}
    return estate


@pytest.mark.parametrize("write,changed", WRITES, ids=[w.__name__ for w, _ in WRITES])
def test_each_write_changes_the_pages_it_must_and_no_other(desk, people, write, changed):
    jar = str(desk.portal_ids["JAR"])
    changed = {(who, path.replace("JAR", jar)): text for (who, path), text in changed.items()}
    pages = _pages(desk)
    before = {}
    for who, path in pages:
        people[who].get(path)  # kept now (or already)
        response = people[who].get(path)
        assert response.status_code == 200, (who, path, response.location)
        before[who, path] = _body(response)
    write(desk)
    for who, path in pages:
        after = _body(people[who].get(path))
        if (who, path) in changed:
            assert after != before[who, path], (who, path, "still the page kept before")
            assert changed[who, path] in after, (who, path, changed[who, path])
        else:
            assert after == before[who, path], (who, path, "changed, though the write is not "
                                                "theirs")


def _counting(app):
    from runtime.extensions import db

    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        if not is_session_lookup(statement):
            statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    return engine, count, statements


def _fast(app):
    """The page cache's fast path: the app's WSGI entry (no ProxyFix in the tests)."""
    from runtime import pagecache

    assert isinstance(app.wsgi_app, pagecache.FastPath)
    return app.wsgi_app


def _requests_counted(app, endpoint: str) -> float:
    from runtime.observability import REGISTRY

    tenant = app.extensions["portal"]["tenant"]["id"]
    return REGISTRY.get_sample_value("portal_http_requests_total", {
        "tenant": tenant, "method": "GET", "endpoint": endpoint, "status": "200"}) or 0.0


def test_a_kept_page_is_answered_before_flask_with_one_read(desk, people):
    """The second visit of each cached screen: no SQLAlchemy statement, one read of the
    session and the generations, the same page and headers Flask gave, and counted."""
    fast = _fast(desk)
    engine, count, statements = _counting(desk)
    reads = []
    original = fast._reader.read if fast._reader else None
    people["maria"].get("/")
    original = fast._reader.read
    fast._reader.read = lambda *args: (reads.append(args), original(*args))[1]
    jar = desk.portal_ids["JAR"]
    screens = [("maria", "/", "home"), ("maria", "/notices", "notices.index"),
               ("maria", "/tickets", "tickets.index"),
               ("maria", f"/tickets/{desk.portal_protocols['maria']}", "tickets.show"),
               ("maria", f"/construction/{jar}", "construction.development"),
               ("sindico", f"/tickets/{desk.portal_protocols['sindico']}", "tickets.show"),
               ("staff", "/staff/tickets", "service.staff_queue"),
               ("staff", "/staff/tickets?status=all&q=l%C3%A2mpadas", "service.staff_queue")]
    clients = {**people, "staff": _staff(desk)}
    try:
        for who, path, endpoint in screens:
            by_flask = clients[who].get(path)
            assert by_flask.status_code == 200, (who, path, by_flask.location)
            served, counted = fast.served, _requests_counted(desk, endpoint)
            statements.clear()
            reads.clear()
            kept = clients[who].get(path)
            assert fast.served == served + 1, (who, path, "not answered by the fast path")
            assert statements == [] and len(reads) == 1, (who, path, statements, reads)
            assert _requests_counted(desk, endpoint) == counted + 1, (who, path)
            assert _body(kept) == _body(by_flask), (who, path)
            assert kept.headers["X-Request-ID"] != by_flask.headers["X-Request-ID"]
            per_answer = {"X-Request-ID"}
            assert {(k, v) for k, v in kept.headers.items() if k not in per_answer} == {
                (k, v) for k, v in by_flask.headers.items() if k not in per_answer}, (who, path)
            assert "Content-Security-Policy" in kept.headers
            head = clients[who].head(path)
            assert head.status_code == 200 and head.get_data() == b""
            again = clients[who].get(path, headers={"If-None-Match": kept.headers["ETag"]})
            assert again.status_code == 304 and fast.served == served + 3
    finally:
        fast._reader.read = original
        event.remove(engine, "before_cursor_execute", count)


def test_a_session_ended_elsewhere_never_gets_a_kept_page(desk):
    """A logout on another node (or a password change, an administrator ending it) deletes
    the stored session: the next request is Flask's, which asks for a login."""
    from runtime import sessions

    client = login(desk, "joao.lima@example.com")
    fast = _fast(desk)
    client.get("/notices")
    served = fast.served
    assert client.get("/notices").status_code == 200 and fast.served == served + 1
    sid = client.get_cookie(desk.config["SESSION_COOKIE_NAME"]).value
    with desk.test_request_context():
        sessions._forget([sid])  # what a logout on another node does (not his other sessions)
    response = client.get("/notices")
    assert response.status_code == 302 and "/login" in response.location
    assert fast.served == served + 1


def test_an_expired_session_never_gets_a_kept_page(desk):
    from sqlalchemy import update

    from runtime.extensions import db
    from runtime.models import StoredSession, utcnow

    if desk.config.get("PORTAL_REDIS_URL"):
        pytest.skip("Redis expires its keys itself: an ended session is the test above")
    client = login(desk, "joao.lima@example.com")
    client.get("/notices")
    fast = _fast(desk)
    served = fast.served
    client.get("/notices")
    assert fast.served == served + 1
    sid = client.get_cookie(desk.config["SESSION_COOKIE_NAME"]).value
    with desk.app_context():
        db.session.execute(update(StoredSession).where(StoredSession.id == sid)
                           .values(expires_at=utcnow()))
        db.session.commit()
    response = client.get("/notices")
    assert response.status_code == 302 and fast.served == served + 1


def test_a_changed_session_goes_to_flask_first(desk):
    """A flashed message (or anything else written into the session on another node) makes
    its stored bytes differ from those the fast path knows: Flask answers, and shows it."""
    client = login(desk, "joao.lima@example.com")
    client.get("/tickets")
    fast = _fast(desk)
    with client.session_transaction() as session:
        session["_flashes"] = [("info", "Recado de outro servidor")]
    served = fast.served
    assert "Recado de outro servidor" in client.get("/tickets").get_data(as_text=True)
    assert fast.served == served
    # then known again, with the message gone
    client.get("/tickets")
    page = client.get("/tickets")
    assert fast.served == served + 1 and "Recado de outro servidor" not in _body(page)


def test_a_session_due_for_its_touch_goes_to_flask(desk):
    """The login record is touched every few minutes by Flask (runtime/sessions.py)."""
    from dataclasses import replace

    client = login(desk, "joao.lima@example.com")
    client.get("/notices")
    fast = _fast(desk)
    known = desk.extensions["pagecache"].sessions
    sid = next(reversed(known._known))
    known.put(sid, replace(known.get(sid), seen=0))
    served = fast.served
    assert client.get("/notices").status_code == 200 and fast.served == served


def test_a_client_s_new_request_shows_on_the_kept_staff_queue(desk):
    staff = _staff(desk)
    staff.get("/staff/tickets")
    kept = staff.get("/staff/tickets").get_data(as_text=True)
    protocol = _open(desk, "joao.lima@example.com", "relacionamento", "duvida",
                     "Vaga de garagem extra?")
    assert protocol not in kept
    assert protocol in staff.get("/staff/tickets").get_data(as_text=True)


def _same_generation(app, *emails: str) -> None:
    """Give users one and the same generation, as users nothing was ever written for have."""
    from sqlalchemy import delete

    from runtime import pagecache
    from runtime.extensions import db

    keys = [pagecache.user_key(_uid(app, email)) for email in emails]
    store = app.extensions["pagecache"].generations
    if isinstance(store, pagecache.RedisGenerations):
        store.client.mset({store.prefix + key: "same" for key in keys})
        return
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(delete(pagecache.CacheGeneration).where(
            pagecache.CacheGeneration.key.in_(keys)))


def test_two_clients_never_see_each_others_kept_pages(desk, people):
    maria_ticket = desk.portal_protocols["maria"]
    joao_ticket = desk.portal_protocols["joao"]
    _same_generation(desk, "maria.souza@example.com", "joao.lima@example.com")
    for _ in range(2):  # the second round is served from the cache
        for who, mine, theirs, other_name in (("maria", maria_ticket, joao_ticket, "João Lima"),
                                              ("joao", joao_ticket, maria_ticket, "Maria Souza")):
            for path in ("/", "/tickets", "/notices"):
                response = people[who].get(path)
                assert response.status_code == 200, (who, path, response.location)
                html = _body(response)
                header = html.split('class="portal-user-name">', 1)[1].split("<", 1)[0]
                assert other_name not in header, (who, path)
                assert theirs not in html, (who, path)
            assert mine in _body(people[who].get("/tickets"))


def test_switching_portals_never_shows_the_other_portals_kept_page(desk):
    joao = login(desk, "joao.lima@example.com")
    for _ in range(2):  # the second round is served from the cache
        for view, unit_link in (("buyer", True), ("syndic", False)):
            assert submit(joao, "/view", {"view": view}, page="/").status_code == 302
            for _ in range(2):
                home = _body(joao.get("/"))
                assert ('href="/unit"' in home) is unit_link, view
                assert ("Vista Verde" in home.split("<footer")[0]) is not unit_link, view


def test_304_while_nothing_changed_and_a_new_etag_after_a_write(desk, people):
    from runtime.extensions import db
    from runtime.models import utcnow
    from runtime.modules.notices.models import Notice

    maria = people["maria"]
    first = maria.get("/notices")
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "private, no-cache"
    assert "Cookie" in first.headers["Vary"]
    again = maria.get("/notices", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["ETag"] == etag
    with desk.app_context():
        db.session.add(Notice(title="Reunião de condomínio", summary="Dia 10",
                              publish_from=utcnow() - timedelta(minutes=5)))
        db.session.commit()
    changed = maria.get("/notices", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert "Reunião de condomínio" in changed.get_data(as_text=True)
    # the same page in another session of hers: her copy's forms carry the other session's
    # token, so it is sent again, not confirmed
    other = login(desk, "maria.souza@example.com")
    assert other.get("/notices", headers={"If-None-Match": changed.headers["ETag"]}
                     ).status_code == 200


def test_forms_on_kept_pages_still_submit(desk):
    client = login(desk, "joao.lima@example.com")
    client.get("/")
    kept = client.get("/").get_data(as_text=True)  # from the cache
    token = csrf_token(kept)
    assert desk.extensions["pagecache"].placeholder not in kept
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302  # the token of this session: logged out
    assert client.get("/").status_code == 302


def test_a_flashed_message_is_shown_once_and_never_kept(desk):
    client = login(desk, "joao.lima@example.com")
    client.get("/notices")
    with client.session_transaction() as session:
        session["_flashes"] = [("success", "Mensagem única")]
    assert "Mensagem única" in client.get("/notices").get_data(as_text=True)
    assert "Mensagem única" not in client.get("/notices").get_data(as_text=True)


def test_viewing_as_a_client_is_never_served_nor_kept(desk, people):
    from runtime.extensions import db
    from runtime.models import User

    with desk.app_context():
        maria = db.session.scalar(db.select(User.id).where(
            User.email == "maria.souza@example.com"))
    people["maria"].get("/tickets")
    staff = _staff(desk)
    submit(staff, f"/staff/clients/{maria}/view-as", {}, page=f"/staff/clients/{maria}")
    seen = staff.get("/tickets")
    assert seen.status_code == 200 and seen.headers["Cache-Control"] == "no-store"
    assert "ETag" not in seen.headers
    # the client's own page carries no trace of the staff member's session
    assert "Sam Staff" not in _body(people["maria"].get("/tickets"))


def test_a_notice_shows_when_its_time_comes_without_any_write(desk, people, monkeypatch):
    from runtime import pagecache
    from runtime.extensions import db
    from runtime.models import utcnow
    from runtime.modules.notices.models import Notice

    with desk.app_context():
        db.session.add(Notice(title="Obra na garagem", summary="Amanhã",
                              publish_from=utcnow() + timedelta(seconds=1)))
        db.session.commit()
    maria = people["maria"]
    assert "Obra na garagem" not in maria.get("/notices").get_data(as_text=True)
    import time

    time.sleep(1.2)  # published now, in the database's terms
    later = time.time() + pagecache.BUCKET_SECONDS
    monkeypatch.setattr(pagecache, "_now", lambda: later)  # the next time bucket
    assert "Obra na garagem" in maria.get("/notices").get_data(as_text=True)
    assert "Obra na garagem" in maria.get("/").get_data(as_text=True)


def test_a_new_release_serves_its_own_shell(tmp_path):
    """A rebuild (a new release: here the portal's name) never shows the old shell."""
    from generator.build import build

    tenants = tmp_path / "tenants"
    shutil.copytree(ROOT / "tests" / "fixtures" / "tenants" / "minimal", tenants / "minimal")
    path = tenants / "minimal" / "tenant.yaml"
    instance = build(str(path), tmp_path / "build").instance
    app = make_app(instance)
    add_user(app)
    client = login(app, "maria@example.com")
    client.get("/notices")
    old = client.get("/notices").get_data(as_text=True)
    text = path.read_text(encoding="utf-8")
    name = re.search(r"^\s+name: (.+)$", text, re.M).group(1).strip()
    path.write_text(text.replace(f"name: {name}", "name: Portal Renovado", 1), encoding="utf-8")
    build(str(path), tmp_path / "build")
    renewed = make_app(instance)
    client = login(renewed, "maria@example.com")
    html = client.get("/notices").get_data(as_text=True)
    assert "Portal Renovado" in html and "Portal Renovado" not in old


def test_generations_are_bumped_once_per_commit_of_writes_only(desk):
    """Reading pages writes no generation; sessions and login records touch none."""
    from runtime import pagecache

    bumped: list[set] = []
    cache = desk.extensions["pagecache"]
    original = cache.bump
    cache.bump = lambda keys: (bumped.append(set(keys)), original(keys))[1]
    try:
        client = login(desk, "joao.lima@example.com")  # a login: joão's own generation only
        assert all(keys <= {pagecache.user_key(_uid(desk, "joao.lima@example.com"))}
                   for keys in bumped), bumped
        bumped.clear()
        for path in ("/", "/notices", "/tickets"):
            client.get(path)
        assert bumped == []
    finally:
        cache.bump = original


def _uid(app, email: str) -> int:
    from runtime.extensions import db
    from runtime.models import User

    with app.app_context():
        return db.session.scalar(db.select(User.id).where(User.email == email))


def test_bulk_statements_bump_everyone(desk, people):
    """An UPDATE statement (an import's way) changes every page it may touch."""
    from sqlalchemy import update

    from runtime.extensions import db
    from runtime.modules.notices.models import Notice

    maria = people["maria"]
    maria.get("/notices")
    assert "Aviso renomeado" not in maria.get("/notices").get_data(as_text=True)
    with desk.app_context():
        db.session.execute(update(Notice).where(Notice.title == "Piscina reaberta")
                           .values(title="Aviso renomeado"))
        db.session.commit()
    assert "Aviso renomeado" in maria.get("/notices").get_data(as_text=True)


def test_a_write_in_one_worker_changes_the_pages_another_keeps(desk):
    """Two processes' apps on one database (and one Redis): each keeps its own pages, and
    the generations they share carry a write of one to the other."""
    from runtime import create_app
    from runtime.extensions import db

    shared = {key: desk.config[key] for key in ("SQLALCHEMY_DATABASE_URI", "PORTAL_REDIS_URL",
                                                "PORTAL_REDIS_PREFIX")}
    other = create_app(desk.instance_path, {"TESTING": True, **shared})
    try:
        reader = login(other, "joao.lima@example.com")
        reader.get("/notices")
        assert "Assembleia geral" not in reader.get("/notices").get_data(as_text=True)
        response = submit(_staff(desk), "/staff/notices/new", {  # written through the first
            "title": "Assembleia geral", "summary": "Dia 20", "content": "<p>Pauta</p>",
            "publish_from": "2020-01-01T08:00", "active": "y"})
        assert response.status_code == 302
        assert "Assembleia geral" in reader.get("/notices").get_data(as_text=True)
    finally:
        with other.app_context():
            db.engine.dispose()


def test_page_cache_mb_zero_switches_it_off(built_instance, monkeypatch):
    from runtime import create_app
    from runtime.portal import InstanceError

    monkeypatch.setenv("PORTAL_PAGE_CACHE_MB", "lots")
    with pytest.raises(InstanceError, match="PORTAL_PAGE_CACHE_MB: expected a whole number"):
        create_app(built_instance)
    monkeypatch.setenv("PORTAL_PAGE_CACHE_MB", "0")
    app = make_app(built_instance)
    add_user(app)
    client = login(app, "maria@example.com")
    for _ in range(2):
        response = client.get("/notices")
        assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
        assert "ETag" not in response.headers
    # its writes still change the generations other processes' pages are kept under
    from runtime import pagecache
    from runtime.extensions import db
    from runtime.models import utcnow
    from runtime.modules.notices.models import Notice

    with app.test_request_context():
        row = db.session.get(pagecache.CacheGeneration, pagecache.EVERYONE)
        before = row.token if row is not None else None
        db.session.add(Notice(title="Aviso", summary="x", publish_from=utcnow()))
        db.session.commit()
        assert db.session.get(pagecache.CacheGeneration, pagecache.EVERYONE).token != before


def test_a_kept_page_is_the_page_the_view_renders(desk, people):
    """Byte for byte, CSRF tokens aside."""
    from runtime import pagecache

    maria = people["maria"]
    maria.get("/tickets")
    kept = _body(maria.get("/tickets"))
    cache = desk.extensions.pop("pagecache")
    try:
        fresh = _body(maria.get("/tickets"))
    finally:
        desk.extensions["pagecache"] = cache
    assert kept == fresh
    assert isinstance(cache, pagecache.PageCache)



def _bump_everyone(app) -> None:
    from runtime import pagecache

    with app.app_context():
        app.extensions["pagecache"].bump({pagecache.EVERYONE})


def test_shared_parts_are_rendered_once_for_everyone_who_shares_them(desk, people,
                                                                       monkeypatch):
    """The notices of one audience and a development's construction updates: rendered
    once for all their readers (until shared content changes), never for another audience."""
    from runtime.modules.construction import routes as construction
    from runtime.modules.notices import routes as notices

    rendered = []
    for module, name in ((notices, "_listing"), (construction, "_development_body")):
        original = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _o=original, _n=name: (
            rendered.append(_n), _o(*a))[1])
    from runtime.extensions import db
    from runtime.models import utcnow
    from runtime.modules.notices.models import Notice

    with desk.app_context():  # a write: every page and part rendered anew
        db.session.add(Notice(title="Feira de decoração", summary="Sábado",
                              publish_from=utcnow() - timedelta(minutes=1), for_buyers=True))
        db.session.commit()
    jar = desk.portal_ids["JAR"]
    joao, ana = people["joao"], login(desk, "ana.souza@example.com")  # both buy at Jardins
    lists = [_body(who.get("/notices")).split('class="portal-title">', 1)[1] for who in
             (joao, ana)]
    assert rendered == ["_listing"] and lists[0] == lists[1]
    maria = people["maria"]  # buys at Jardins, attorney at Vista Verde: another audience
    assert maria.get("/notices").status_code == 200 and rendered == ["_listing"] * 2
    sindico = _body(people["sindico"].get("/notices"))  # a building manager's: its own
    assert rendered == ["_listing"] * 3
    vv = _body(people["vv"].get("/notices"))
    assert rendered == ["_listing"] * 4
    assert "Feira de decoração" in lists[0]  # for buyers
    assert "Feira de decoração" not in sindico and "Feira de decoração" not in vv
    rendered.clear()
    pages = [_body(who.get(f"/construction/{jar}")) for who in (maria, joao, people["sindico"])]
    assert rendered == ["_development_body"]
    assert len({page.split('class="text-muted">', 1)[1].split("<footer", 1)[0]
                for page in pages}) == 1
    staff = _staff(desk).get(f"/construction/{jar}")  # staff see every update: their own
    assert staff.status_code == 200 and rendered == ["_development_body"] * 2
    rendered.clear()
    _bump_everyone(desk)
    maria.get("/notices")
    assert rendered == ["_listing"]  # shared content changed: rendered again
