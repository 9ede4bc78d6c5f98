"""The building manager's (syndic's) portal: its menu and home, the common-area requests
of their developments, the switch of a buyer who also manages a building, `menu_syndic`."""

from __future__ import annotations

import re
import shutil

import pytest
from sqlalchemy import event

from generator.build import build
from tests.conftest import ROOT, add_user, import_estate, is_session_lookup, login, submit

BUYER_ONLY = ("/unit", "/contracts", "/finance", "/profile")


def _area(development_ext: str, area_ext: str, name: str) -> int:
    """A common area of the sample (the ERP import brings them; made here when it did not)."""
    from runtime.erp.models import CommonArea, Development
    from runtime.extensions import db

    development = db.session.scalar(db.select(Development.id).where(
        Development.external_id == development_ext))
    found = db.session.scalar(db.select(CommonArea.id).where(
        CommonArea.development_id == development, CommonArea.external_id == area_ext))
    if found is None:
        area = CommonArea(development_id=development, external_id=area_ext, name=name)
        db.session.add(area)
        db.session.flush()
        found = area.id
    return found


def _estate(request, tmp_path, tenant, database: str):
    instance = build(str(tenant), tmp_path / "b").instance
    url = (f"sqlite:///{instance / 'data' / 'portal.db'}" if database == "sqlite"
           else request.getfixturevalue("postgres_url"))
    app = import_estate(instance, url)
    from runtime.erp.models import Development, SyndicDevelopment
    from runtime.extensions import db
    from runtime.models import User

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
            db.session.add(SyndicDevelopment(user_id=user[email], development_id=dev[development]))
        _area("JAR", "PISC", "Piscina")
        _area("JAR", "SALAO", "Salão de festas")
        _area("VV", "ACAD", "Academia")
        db.session.commit()
    return app


@pytest.fixture(params=["sqlite", "postgresql"])
def estate(request, tmp_path):
    """The demo tenant, its ERP sample, two building managers of Jardins, one of Vista Verde."""
    app = _estate(request, tmp_path, ROOT / "tenants/aurora/tenant.yaml", request.param)
    yield app
    with app.app_context():
        from runtime.extensions import db

        db.engine.dispose()


def _tickets(app) -> dict[str, str]:
    """A buyer's requests (one about the pool) and one a building manager opened: protocols."""
    from runtime.extensions import db
    from runtime.models import User
    from runtime.modules.tickets import service

    with app.test_request_context():  # the receipts queued link to the ticket
        user = {u.email: u for u in db.session.scalars(db.select(User))}
        pool, hall = _area("JAR", "PISC", "Piscina"), _area("JAR", "SALAO", "Salão de festas")
        opened = {
            "buyer pool": service.open_ticket(
                user["maria.souza@example.com"], "assistencia", "area-comum",
                description="Pedra solta na borda da piscina", answers=[], files={},
                common_area_id=pool),
            "buyer own": service.open_ticket(
                user["maria.souza@example.com"], "relacionamento", "duvida",
                description="Posso antecipar parcelas?", answers=[], files={}),
            "syndic hall": service.open_ticket(
                user["sindico@example.com"], "assistencia", "area-comum",
                description="Lâmpadas queimadas no salão", answers=[], files={},
                origin="syndic", common_area_id=hall),
        }
        db.session.commit()
        return {name: t.protocol for name, t in opened.items()}


def _text(response) -> str:
    return response.get_data(as_text=True)


def _menu(html: str) -> list[str]:
    """The side menu's links, in order."""
    nav = html.split('id="portal-menu"', 1)[1].split("</nav>", 1)[0]
    return re.findall(r'class="portal-nav-link[^"]*" href="([^"]+)"', nav)


def test_a_syndic_never_sees_units_contracts_finance_or_a_buyers_requests(estate):
    protocols = _tickets(estate)
    syndic = login(estate, "sindico@example.com", "syndic")
    home = _text(syndic.get("/"))
    assert "Residencial Jardins" in home and "Vista Verde" not in home.split("<footer")[0]
    for url in BUYER_ONLY:
        assert syndic.get(url).status_code == 404, url
    assert not set(_menu(home)) & set(BUYER_ONLY)
    listing = _text(syndic.get("/tickets"))
    assert protocols["syndic hall"] in listing
    assert protocols["buyer pool"] not in listing and protocols["buyer own"] not in listing
    for name in ("buyer pool", "buyer own"):
        assert syndic.get(f"/tickets/{protocols[name]}").status_code == 404, name
    # the requests a buyer may open about their unit, or without a place, do not exist here
    assert syndic.get("/contact/assistencia/eletrica").status_code == 404
    assert syndic.get("/contact/relacionamento/duvida").status_code == 404
    assert syndic.get("/contact/assistencia/area-comum").status_code == 200
    # the buyer still has their own, and never the building manager's
    maria = login(estate, "maria.souza@example.com")
    assert maria.get(f"/tickets/{protocols['buyer pool']}").status_code == 200
    assert maria.get(f"/tickets/{protocols['syndic hall']}").status_code == 404
    assert protocols["syndic hall"] not in _text(maria.get("/tickets"))


def test_building_managers_of_a_development_share_its_common_area_requests(estate):
    protocols = _tickets(estate)
    hall = protocols["syndic hall"]
    colleague = login(estate, "subsindica@example.com", "syndic")
    assert hall in _text(colleague.get("/tickets"))
    response = submit(colleague, f"/tickets/{hall}/reply", {"body": "Já isolamos o salão."},
                      page=f"/tickets/{hall}")
    assert response.status_code == 302
    assert "Já isolamos o salão." in _text(login(estate, "sindico@example.com", "syndic")
                                          .get(f"/tickets/{hall}"))
    # a building manager of another development does not see it
    other = login(estate, "sindico.vv@example.com", "syndic")
    assert other.get(f"/tickets/{hall}").status_code == 404
    assert hall not in _text(other.get("/tickets"))


def test_a_syndic_opens_a_request_about_a_common_area_only(estate):
    from runtime.extensions import db
    from runtime.modules.tickets.models import Ticket

    syndic = login(estate, "sindico@example.com", "syndic")
    page = _text(syndic.get("/tickets/new"))
    assert "/contact/assistencia/area-comum" in page and "/contact/assistencia/eletrica" not in page
    form = _text(syndic.get("/contact/assistencia/area-comum"))
    with estate.app_context():
        hall = _area("JAR", "SALAO", "Salão de festas")
        gym = _area("VV", "ACAD", "Academia")
        unit = db.session.scalar(db.select(Ticket.unit_id).limit(1))
    assert f'value="area:{hall}"' in form and f'value="area:{gym}"' not in form
    assert "unit:" not in form  # no unit is offered in the building manager's portal
    forged = submit(syndic, "/contact/assistencia/area-comum",
                    {"description": "Portão da garagem travado", "place": f"area:{gym}"})
    assert forged.status_code == 400
    if unit is not None:
        assert submit(syndic, "/contact/assistencia/area-comum",
                      {"description": "x" * 5, "place": f"unit:{unit}"}).status_code == 400
    sent = submit(syndic, "/contact/assistencia/area-comum",
                  {"description": "Portão da garagem travado", "place": f"area:{hall}"})
    assert sent.status_code == 302
    with estate.app_context():
        ticket = db.session.scalar(db.select(Ticket).where(
            Ticket.description == "Portão da garagem travado"))
        assert (ticket.origin, ticket.common_area_id) == ("syndic", hall)
    assert ticket.protocol in _text(login(estate, "subsindica@example.com", "syndic")
                                    .get("/tickets"))
    # staff see who asks: the building manager, about the building's common area
    staff = login(estate, "staff@example.com")
    page = _text(staff.get(f"/staff/tickets/{ticket.protocol}"))
    assert "Sílvio Síndico" in page and '<span class="badge text-bg-secondary">Síndico</span>' \
        in page and "Salão de festas" in page
    assert "Sílvio Síndico (Síndico)" in _text(staff.get("/staff/tickets"))


def test_the_syndic_menu_and_home(estate):
    syndic = login(estate, "sindico@example.com", "syndic")
    home = _text(syndic.get("/"))
    links = _menu(home)
    # aurora's menu_syndic, in its order (Home first, from the layout)
    assert links[0] == "/" and links[1:] == ["/tickets", "/construction", "/documents",
                                             "/notices", "/pages/sindico", "/faq"]
    assert "Áreas comuns" in home and "Guia do síndico" in home
    assert "A construtora e o síndico combinam" not in home  # the page is its own screen
    assert syndic.get("/pages/sindico").status_code == 200
    assert "Minhas unidades" not in home  # a pure building manager has no switch
    assert "carousel" not in home  # the buyers' banners


def _switch(html: str) -> dict[str, str]:
    """The portal switch: each button's value and its aria-pressed."""
    form = re.search(r'<form class="portal-viewswitch".*?</form>', html, re.S)
    if form is None:
        return {}
    return dict(re.findall(r'value="(buyer|syndic)"[^>]*aria-pressed="(true|false)"',
                           form.group(0)))


def test_a_buyer_who_manages_a_building_switches_between_the_two_portals(estate):
    with estate.app_context():
        gym = _area("VV", "ACAD", "Academia")
    joao = login(estate, "joao.lima@example.com")
    home = _text(joao.get("/"))
    assert _switch(home) == {"buyer": "true", "syndic": "false"}
    assert "Minhas unidades" in home and "Síndico" in home
    assert "/unit" in _menu(home) and joao.get("/unit").status_code == 200
    response = submit(joao, "/view", {"view": "syndic"}, page="/")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    home = _text(joao.get("/"))
    assert _switch(home) == {"buyer": "false", "syndic": "true"}
    assert "Vista Verde" in home and "/unit" not in _menu(home)
    for url in BUYER_ONLY:
        assert joao.get(url).status_code == 404, url
    assert "Áreas comuns" in _text(joao.get("/tickets"))
    sent = submit(joao, "/contact/assistencia/area-comum",
                  {"description": "A esteira da academia desliga sozinha",
                   "place": f"area:{gym}"})
    assert sent.status_code == 302
    protocol = sent.headers["Location"].rsplit("/", 1)[-1]
    assert protocol in _text(joao.get("/tickets"))
    # remembered in the session, until switched back
    assert joao.get("/unit").status_code == 404
    submit(joao, "/view", {"view": "buyer"}, page="/")
    assert joao.get("/unit").status_code == 200
    # the buyer's "My tickets" lists the buyer's own; the link in its e-mails still opens
    assert protocol not in _text(joao.get("/tickets"))
    assert joao.get(f"/tickets/{protocol}").status_code == 200


def test_the_login_tab_chooses_the_portal_and_a_pure_buyer_has_no_switch(estate):
    joao = login(estate, "joao.lima@example.com", "syndic")
    assert _switch(_text(joao.get("/"))) == {"buyer": "false", "syndic": "true"}
    assert joao.get("/unit").status_code == 404
    maria = login(estate, "maria.souza@example.com")
    home = _text(maria.get("/"))
    assert _switch(home) == {}
    assert submit(maria, "/view", {"view": "syndic"}, page="/").status_code == 400
    assert maria.get("/unit").status_code == 200
    # Maria manages nothing: the building manager's tab does not let her in
    refused = estate.test_client()
    assert submit(refused, "/login", {"identifier": "maria.souza@example.com",
                                      "password": "correct-horse-battery",
                                      "kind": "syndic"}).status_code == 401


def test_staff_let_a_client_manage_a_development(estate):
    from runtime.erp.models import Development
    from runtime.extensions import db
    from runtime.models import User

    with estate.app_context():
        maria = db.session.scalar(db.select(User.id).where(
            User.email == "maria.souza@example.com"))
        jardins = db.session.scalar(db.select(Development.id).where(
            Development.external_id == "JAR"))
    staff = login(estate, "staff@example.com")
    page = _text(staff.get(f"/staff/clients/{maria}"))
    assert "Developments this client manages as building manager" in page or \
        "Empreendimentos que este cliente administra como síndico" in page
    response = submit(staff, f"/staff/accounts/{maria}/developments",
                      {"developments": [str(jardins)]}, page=f"/staff/clients/{maria}")
    assert response.status_code == 302
    assert re.search(rf'value="{jardins}" id="dev-{jardins}" checked',
                     _text(staff.get(f"/staff/clients/{maria}")))
    client = login(estate, "maria.souza@example.com", "syndic")
    assert "Residencial Jardins" in _text(client.get("/"))
    assert client.get("/unit").status_code == 404


def test_syndic_pages_stay_within_8_statements_with_10000_tickets(estate):
    from runtime.extensions import db
    from runtime.models import User, utcnow
    from runtime.modules.tickets.models import Ticket

    protocols = _tickets(estate)
    with estate.app_context():
        maria = db.session.scalar(db.select(User.id).where(
            User.email == "maria.souza@example.com"))
        syndic = db.session.scalar(db.select(User.id).where(User.email == "sindico@example.com"))
        pool = _area("JAR", "PISC", "Piscina")
        now = utcnow()
        db.session.execute(Ticket.__table__.insert(), [
            {"protocol": f"2099-{i:06d}", "client_id": syndic if i % 2 else maria,
             "division_id": "assistencia", "request_id": "area-comum", "title": "Área comum",
             "description": "", "answers": [], "status": "new", "created_at": now,
             "updated_at": now, "sla_hours": 72, "sla_due_at": now, "common_area_id": pool,
             "origin": "syndic" if i % 2 else None} for i in range(10_000)])
        db.session.commit()
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        if not is_session_lookup(statement):
            statements.append(statement)

    for who, kind in (("sindico@example.com", "syndic"), ("joao.lima@example.com", "syndic"),
                      ("joao.lima@example.com", "client")):
        client = login(estate, who, kind)
        pages = ["/", "/tickets", "/tickets?filter=my_action", "/documents", "/notices"]
        if who == "sindico@example.com":
            pages.append(f"/tickets/{protocols['syndic hall']}")
        with estate.app_context():
            event.listen(db.engine, "before_cursor_execute", count)
            try:
                for page in pages:
                    statements.clear()
                    assert client.get(page).status_code == 200, page
                    assert len(statements) <= 8, (who, kind, page, len(statements), statements)
            finally:
                event.remove(db.engine, "before_cursor_execute", count)


def test_menu_syndic_defaults_to_the_enabled_modules_that_serve_building_managers(
        request, tmp_path):
    """Without `menu_syndic`, one entry per enabled module with screens there."""
    tenants = tmp_path / "tenants"
    shutil.copytree(ROOT / "tenants" / "aurora", tenants / "aurora")
    shutil.copytree(ROOT / "tenants" / "_base", tenants / "_base")
    path = tenants / "aurora" / "tenant.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("menu_syndic:")
    path.write_text(text[:start] + text[text.index("\nsocial:", start) + 1:], encoding="utf-8")
    app = _estate(request, tmp_path, path, "sqlite")
    home = _text(login(app, "sindico@example.com", "syndic").get("/"))
    assert _menu(home) == ["/", "/tickets", "/construction", "/documents", "/notices", "/faq"]
    assert "Solicitações das áreas comuns" in home and "Guia do síndico" not in home


def test_the_modules_of_the_syndic_menu_are_those_that_serve_building_managers():
    """The validator's list (`x-syndic` in a fragment) and the runtime's (manifests) agree."""
    from generator.schema import fragments
    from runtime.modules import SYNDIC, manifests

    marked = {name for name, fragment in fragments().items() if fragment.get("x-syndic")}
    listed = {m.name for m in manifests().values() if m.syndic_entry}
    assert marked == listed == {"tickets", "construction", "documents", "notices", "faq"}
    assert all(SYNDIC in m.views for m in manifests().values() if m.syndic_entry)


def test_menu_syndic_accepts_only_modules_with_building_manager_screens(tmp_path, monkeypatch):
    import textwrap

    from generator.validate import validate_file

    monkeypatch.chdir(tmp_path)
    (tmp_path / "tenant.yaml").write_text(textwrap.dedent("""\
        schema_version: 1
        tenant:
          id: acme
          name: Acme
        modules:
          notices: {}
          finance: { items: [{ id: boleto, label: Boleto, url: "https://acme.com/b" }] }
        menu:
          - { label: Boletos, module: finance }
        menu_syndic:
          - { label: Avisos, icon: megaphone, module: notices }
          - { label: Boletos, module: finance }
          - { label: Obra, module: construction }
          - { label: Prédio, icon: buildingz, children: [{ label: Avisos, module: notices }] }
        """), encoding="utf-8")
    assert [d.format() for d in validate_file("tenant.yaml").diagnostics] == [
        'tenant.yaml:12:31: menu_syndic[1].module: module "finance" has no screen in the '
        "building manager's portal; use one of: construction, documents, faq, notices, tickets",
        'tenant.yaml:13:28: menu_syndic[2].module: module "construction" is not enabled; add '
        "it under modules or remove this entry",
        'tenant.yaml:14:28: menu_syndic[3].icon: no icon "buildingz" in Bootstrap Icons; did '
        'you mean "building"?',
    ]
