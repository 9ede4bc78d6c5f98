"""Requests about a place: a client's unit or a common area of their development.

The form offers only the asker's own units and their developments' active common areas;
staff see the place, filter the queue and group the dashboard by development; "My unit"
lists the unit's requests; common areas come from the ERP import or the staff console.
"""

from __future__ import annotations

import json
import re
import textwrap
from datetime import timedelta

import pytest
from sqlalchemy import event, insert, select

from generator.build import build
from generator.validate import validate_file
from tests.conftest import (
    ROOT,
    add_user,
    import_estate,
    is_session_lookup,
    login,
    outbox,
    submit,
)

MARIA, JOAO, PEDRO = ("maria.souza@example.com", "joao.lima@example.com",
                      "pedro.alves@example.com")


@pytest.fixture(params=["sqlite", "postgresql"])
def estate(request, tmp_path):
    """The demo tenant (its requests ask for places) with its ERP sample imported."""
    instance = build(str(ROOT / "tenants/aurora/tenant.yaml"), tmp_path / "b").instance
    url = (f"sqlite:///{instance / 'data' / 'portal.db'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres_url"))
    app = import_estate(instance, url)
    add_user(app, "staff@example.com", role="staff", name="Sam Staff")
    yield app
    from runtime.extensions import db

    with app.app_context():
        db.engine.dispose()


def ids(app) -> dict[str, int]:
    from runtime.erp.models import CommonArea, Development, Unit
    from runtime.extensions import db

    with app.app_context():
        found = {d: db.session.scalar(select(Development.id).where(Development.external_id == d))
                 for d in ("JAR", "VV")}
        for ext, key in (("JAR-A-101", "A-101"), ("JAR-A-102", "A-102"), ("VV-1203", "1203")):
            found[key] = db.session.scalar(select(Unit.id).where(Unit.external_id == ext))
        for dev, ext in (("JAR", "PISC"), ("JAR", "QUAD"), ("VV", "ACAD")):
            found[f"{dev}-{ext}"] = db.session.scalar(select(CommonArea.id).where(
                CommonArea.external_id == ext, CommonArea.development_id == found[dev]))
        return found


def tickets(app) -> list:
    from runtime.extensions import db
    from runtime.modules.tickets.models import Ticket

    with app.app_context():
        return db.session.execute(select(Ticket.protocol, Ticket.client_id, Ticket.unit_id,
                                         Ticket.common_area_id).order_by(Ticket.id)).all()


def options(html: str, name: str = "place") -> list[str]:
    select_html = re.search(rf'<select[^>]*name="{name}".*?</select>', html, re.S).group(0)
    return re.findall(r'<option(?: selected)? value="([^"]*)"', select_html)


def selected(html: str, name: str = "place") -> str | None:
    select_html = re.search(rf'<select[^>]*name="{name}".*?</select>', html, re.S).group(0)
    found = re.search(r'<option selected value="([^"]*)"', select_html)
    return found.group(1) if found else None


LEAK = "/contact/assistencia/infiltracao"       # location: unit_or_common_area
POWER = "/contact/assistencia/eletrica"          # location: unit
COMMON = "/contact/assistencia/area-comum"       # location: common_area


def test_the_form_offers_the_clients_own_units_and_their_active_common_areas(estate):
    i = ids(estate)
    maria = login(estate, MARIA).get(LEAK).get_data(as_text=True)
    # Maria holds A-101 (Jardins) and is attorney on 1203 (Vista Verde): a choice, nothing
    # chosen for her; the Jardins' deactivated court is not offered
    assert options(maria) == ["", f"unit:{i['A-101']}", f"unit:{i['1203']}",
                              *[v for v in options(maria) if v.startswith("area:")]]
    assert selected(maria) == ""
    areas = options(maria)[3:]
    assert f"area:{i['JAR-PISC']}" in areas and f"area:{i['VV-ACAD']}" in areas
    assert f"area:{i['JAR-QUAD']}" not in areas
    assert "Residencial Jardins — Torre A — A-101" in maria
    assert '<optgroup label="Suas unidades">' in maria  # the tenant's language
    # João has one unit: it is pre-selected, and a unit-only request offers no common area
    joao = login(estate, JOAO).get(POWER).get_data(as_text=True)
    assert options(joao) == [f"unit:{i['A-102']}"] and selected(joao) == f"unit:{i['A-102']}"
    # a common-area request offers only his development's areas
    common = options(login(estate, JOAO).get(COMMON).get_data(as_text=True))
    assert f"area:{i['JAR-PISC']}" in common and f"area:{i['VV-ACAD']}" not in common
    assert not any(v.startswith("unit:") for v in common)
    # a request without `location` asks nothing
    assert 'name="place"' not in login(estate, JOAO).get(
        "/contact/relacionamento/duvida").get_data(as_text=True)


def test_a_forged_or_foreign_place_is_a_form_error_and_nothing_is_saved(estate):
    i = ids(estate)
    joao = login(estate, JOAO)
    base = {"description": "Vazamento no teto do banheiro", "f_comodo": "Banheiro"}
    for forged, message in (
            (f"unit:{i['A-101']}", "Escolha um dos locais da lista."),   # Maria's unit
            (f"unit:{i['1203']}", "Escolha um dos locais da lista."),    # another development
            (f"area:{i['VV-ACAD']}", "Escolha um dos locais da lista."),  # not his development
            (f"area:{i['JAR-QUAD']}", "Escolha um dos locais da lista."),  # deactivated
            ("unit:999999999", "Escolha um dos locais da lista."),
            ("area:abc", "Escolha um dos locais da lista."),
            ("", "Escolha o local.")):
        response = submit(joao, LEAK, {**base, "place": forged})
        html = response.get_data(as_text=True)
        assert response.status_code == 400, forged
        assert message in html and 'aria-describedby="place-error' in html, forged
        assert "Vazamento no teto do banheiro" in html  # what he typed is kept
    assert tickets(estate) == []
    # his own unit and his development's pool are accepted
    assert submit(joao, LEAK, {**base, "place": f"unit:{i['A-102']}"}).status_code == 302
    assert submit(joao, COMMON, {"description": "Pedra solta",
                                 "place": f"area:{i['JAR-PISC']}"}).status_code == 302
    rows = tickets(estate)
    assert [(r.unit_id, r.common_area_id) for r in rows] == [(i["A-102"], None),
                                                            (None, i["JAR-PISC"])]


def test_without_units_the_form_says_so_and_the_request_goes_without_a_place(estate):
    add_user(estate, "nobody@example.com", name="Nina Nobody")
    client = login(estate, "nobody@example.com")
    html = client.get(POWER).get_data(as_text=True)
    assert 'name="place"' not in html and "Ainda não há unidade" in html
    assert submit(client, POWER, {"description": "Tomada sem energia"}).status_code == 302
    assert [(r.unit_id, r.common_area_id) for r in tickets(estate)] == [(None, None)]


def _open(app, who: str, url: str, place: str, text: str) -> str:
    client = login(app, who)
    response = submit(client, url, {"description": text, "place": place,
                                    "f_comodo": "Sala"})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"].rsplit("/", 1)[-1]


def test_staff_and_clients_see_the_place_and_the_queue_filters_by_development(estate):
    i = ids(estate)
    leak = _open(estate, MARIA, LEAK, f"unit:{i['A-101']}", "Mancha na parede")
    far = _open(estate, MARIA, POWER, f"unit:{i['1203']}", "Disjuntor desarma")
    pool = _open(estate, JOAO, COMMON, f"area:{i['JAR-PISC']}", "Pedra solta")
    plain = submit(login(estate, JOAO), "/contact/relacionamento/duvida",
                   {"description": "Quando é a assembleia?"})
    plain = plain.headers["Location"].rsplit("/", 1)[-1]
    # the division's staff read the place in the new-request e-mail
    mails = [m for m in outbox(estate) if m["To"] == "staff@example.com"
             and leak in m["Subject"]]
    assert "Local: Residencial Jardins · Torre A · Unidade A-101" in mails[0].get_body(
        ("plain",)).get_content()
    staff = login(estate, "staff@example.com")
    page = staff.get(f"/staff/tickets/{leak}").get_data(as_text=True)
    assert "Residencial Jardins · Torre A · Unidade A-101" in page
    assert "Residencial Jardins · Área comum: Piscina" in staff.get(
        f"/staff/tickets/{pool}").get_data(as_text=True)
    queue = staff.get("/staff/tickets").get_data(as_text=True)
    assert all(p in queue for p in (leak, far, pool, plain))
    assert "Vista Verde · Torre Única · Unidade 1203" in queue

    def listed(query: str) -> set[str]:
        html = staff.get(f"/staff/tickets?{query}").get_data(as_text=True)
        return {p for p in (leak, far, pool, plain) if p in html}

    assert listed(f"development={i['JAR']}") == {leak, pool}
    assert listed(f"development={i['VV']}") == {far}
    assert listed("development=none") == {plain}
    assert listed(f"development={i['JAR']}&division=assistencia&q=pedra") == {pool}
    assert staff.get("/staff/tickets?development=abc").status_code == 400
    # the dashboard groups by development, each count a link to the filtered queue
    board = staff.get("/staff/tickets/dashboard").get_data(as_text=True)
    section = board.split("Chamados por empreendimento e situação")[1].split("</table>")[0]
    jardins = rf"Residencial Jardins</td>.*?development={i['JAR']}&amp;status=new\">2<"
    assert re.search(jardins, section, re.S)
    assert "Vista Verde" in section and "Sem local" in section
    # the client sees the place on the ticket page and in "My tickets"
    maria = login(estate, MARIA)
    assert "Residencial Jardins · Torre A · Unidade A-101" in maria.get(
        f"/tickets/{leak}").get_data(as_text=True)
    assert "Vista Verde · Torre Única · Unidade 1203" in maria.get(
        "/tickets").get_data(as_text=True)
    # and the export has the development and the place
    export = staff.get("/staff/tickets/export.csv?start=2000-01-01&end=2999-12-31")
    text = export.get_data(as_text=True)
    assert "Empreendimento;Local" in text and "Residencial Jardins;Torre A · A-101" in text


def test_the_unit_page_lists_that_units_requests_only(estate):
    i = ids(estate)
    leak = _open(estate, MARIA, LEAK, f"unit:{i['A-101']}", "Mancha na parede")
    far = _open(estate, MARIA, POWER, f"unit:{i['1203']}", "Disjuntor desarma")
    pool = _open(estate, MARIA, COMMON, f"area:{i['JAR-PISC']}", "Pedra solta")
    neighbour = _open(estate, JOAO, POWER, f"unit:{i['A-102']}", "Tomada")
    maria = login(estate, MARIA)
    a101 = maria.get(f"/unit?unit={i['A-101']}").get_data(as_text=True)
    assert "Solicitações sobre esta unidade" in a101
    assert leak in a101 and far not in a101 and pool not in a101 and neighbour not in a101
    vv = maria.get(f"/unit?unit={i['1203']}").get_data(as_text=True)
    assert far in vv and leak not in vv
    # the co-holder of A-101 sees the unit, but not Maria's requests (they are hers)
    ana = login(estate, "ana.souza@example.com").get(f"/unit?unit={i['A-101']}")
    html = ana.get_data(as_text=True)
    assert leak not in html and "Você não abriu nenhuma solicitação sobre esta unidade." in html
    # a buyer never reaches another client's ticket about a unit
    assert login(estate, JOAO).get(f"/tickets/{leak}").status_code == 404


def test_staff_add_rename_and_deactivate_common_areas(estate):
    i = ids(estate)
    staff = login(estate, "staff@example.com")
    development = staff.get(f"/staff/developments/{i['JAR']}").get_data(as_text=True)
    assert "Áreas comuns" in development and "4 oferecidas nos formulários" in development
    url = f"/staff/developments/{i['JAR']}/common-areas"
    page = staff.get(url).get_data(as_text=True)
    assert "Piscina" in page and "Do ERP" in page and "Quadra poliesportiva" in page
    assert submit(staff, url, {"name": "Bicicletário"}).status_code == 302
    twice = submit(staff, url, {"name": "piscina"})
    assert twice.status_code == 400
    assert "Este empreendimento já tem uma área comum com esse nome." in twice.get_data(
        as_text=True)
    empty = submit(staff, url, {"name": "  "})
    assert empty.status_code == 400 and 'aria-invalid="true"' in empty.get_data(as_text=True)
    # rename the pool and deactivate the playground
    pisc, play = i["JAR-PISC"], _area(estate, "PLAY")
    assert submit(staff, f"{url}/{pisc}", {f"area-{pisc}-name": "Piscina adulto",
                                          f"area-{pisc}-active": "y"},
                  page=url).status_code == 302
    assert submit(staff, f"{url}/{play}", {f"area-{play}-name": "Playground"},
                  page=url).status_code == 302
    # another development's area is not reachable through this one
    assert submit(staff, f"/staff/developments/{i['VV']}/common-areas/{pisc}",
                  {f"area-{pisc}-name": "X"}, page=url).status_code == 404
    html = login(estate, JOAO).get(COMMON).get_data(as_text=True)
    assert "Residencial Jardins — Piscina adulto" in html
    assert "Residencial Jardins — Bicicletário" in html
    assert "Playground" not in html
    # a client is not staff
    assert login(estate, JOAO).get(url).status_code in (302, 403, 404)


def _area(app, external_id: str) -> int:
    from runtime.erp.models import CommonArea
    from runtime.extensions import db

    with app.app_context():
        return db.session.scalar(select(CommonArea.id).where(
            CommonArea.external_id == external_id))


# -- the ERP file --------------------------------------------------------------------------

def _import(app, folder, dry_run=False):
    from runtime.erp import importer

    with app.app_context():
        return importer.run(folder, dry_run=dry_run)


def test_common_areas_import_reports_every_problem_and_changes_nothing(estate, tmp_path):
    folder = tmp_path / "erp"
    folder.mkdir()
    (folder / "common_areas.csv").write_text(textwrap.dedent("""\
        development;id;name;active
        JAR;SAUNA;Sauna;sim
        XYZ;HALL;Hall;sim
        VV;SPA;;sim
        VV;LAGO;Lago;talvez
        JAR;SAUNA;Sauna de novo;sim
        VV;SAUNA;Sauna;
        """), encoding="utf-8")
    report = _import(estate, folder)
    assert report.errors == [  # what each row shows, then the references
        "common_areas.csv:4: name: is required",
        "common_areas.csv:5: active: \"talvez\" is not yes or no (use true or false, 1 or 0, "
        "sim or não)",
        "common_areas.csv:6: repeats the row of line 2",
        "common_areas.csv:3: development: \"XYZ\" is not in developments (neither in this "
        "import nor in the portal)",
    ]
    assert _area(estate, "SAUNA") is None


def test_common_areas_import_from_json_dry_run_and_update(estate, tmp_path):
    folder = tmp_path / "erp"
    folder.mkdir()
    rows = [{"development": "JAR", "id": "PISC", "name": "Piscina aquecida", "active": True},
            {"development": "JAR", "id": "GAR", "name": "Garagem", "active": False},
            {"development": "VV", "id": 7, "name": "Brinquedoteca"}]
    (folder / "common_areas.json").write_text(json.dumps(rows), encoding="utf-8")
    dry = _import(estate, folder, dry_run=True)
    assert dry.errors == []
    counts = dry.counts["common_areas"]
    assert (counts["created"], counts["updated"], counts["unchanged"]) == (1, 2, 0)
    assert _area(estate, "7") is None  # a dry run changes nothing (a JSON number is its digits)
    assert _import(estate, folder).counts["common_areas"]["created"] == 1
    from runtime.erp.models import CommonArea
    from runtime.extensions import db

    with estate.app_context():
        got = {(a.development.external_id, a.external_id): (a.name, a.active)
               for a in db.session.scalars(select(CommonArea))}
    assert got["JAR", "PISC"] == ("Piscina aquecida", True)
    assert got["JAR", "GAR"] == ("Garagem", False) and got["VV", "GAR"] == ("Garagem", True)
    # an area the file leaves out stays as it was
    assert got["VV", "7"] == ("Brinquedoteca", True) and got["JAR", "PLAY"] == ("Playground",
                                                                                 True)
    assert _import(estate, folder).counts["common_areas"]["unchanged"] == 3
    (folder / "common_areas.json").write_text('[{"development": "JAR", "id": "X", '
                                               '"name": "X", "active": "maybe"}]')
    assert _import(estate, folder).errors == [
        'common_areas.json:1: active: "maybe" is not yes or no (use true or false, 1 or 0, '
        "sim or não)"]


# -- the tenant file -----------------------------------------------------------------------

def test_location_is_validated_and_a_profile_change_may_not_ask_for_a_place(tmp_path,
                                                                          monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = textwrap.dedent("""\
        schema_version: 1
        tenant: {id: acme, name: Acme}
        modules:
          profile:
            editable: [phone]
            change_request: {division: rel, request: dados}
        divisions:
          - group: contato
            label: Contato
            divisions:
              - id: rel
                label: Relacionamento
                requests:
                  - id: dados
                    label: Dados
                    location: unit
                  - id: vazamento
                    label: Vazamento
                    location: apartment
        """)
    (tmp_path / "tenant.yaml").write_text(text, encoding="utf-8")
    found = [d.format() for d in validate_file("tenant.yaml").diagnostics]
    assert found == [
        'tenant.yaml:6:46: modules.profile.change_request.request: request "dados" asks for '
        "a place (location: unit), but a change of personal data opens it with none; name "
        "a request without location",
        'tenant.yaml:19:23: divisions[0].divisions[0].requests[1].location: expected one of: '
        'unit, common_area, unit_or_common_area (got "apartment")',
    ]


# -- statements ----------------------------------------------------------------------------

def test_pages_stay_within_8_statements_with_10000_tickets(estate):
    from runtime.extensions import db
    from runtime.models import User, utcnow
    from runtime.modules.tickets.models import Ticket

    i = ids(estate)
    _open(estate, MARIA, LEAK, f"unit:{i['A-101']}", "Mancha na parede")
    with estate.app_context():
        maria = db.session.scalar(select(User.id).where(User.email == MARIA))
        joao = db.session.scalar(select(User.id).where(User.email == JOAO))
        now = utcnow()
        places = [(i["A-101"], None), (i["1203"], None), (None, i["JAR-PISC"]),
                  (None, i["VV-ACAD"]), (None, None)]
        rows = []
        for n in range(10_000):
            unit_id, area_id = places[n % len(places)]
            rows.append({"protocol": f"9999-{n:06d}", "client_id": (maria, joao)[n % 2],
                         "division_id": "assistencia", "request_id": "infiltracao",
                         "title": "Infiltração", "description": "x", "answers": [],
                         "status": ("new", "in_progress", "resolved", "finished")[n % 4],
                         "created_at": now - timedelta(minutes=n), "updated_at": now,
                         "sla_hours": 72, "sla_due_at": now + timedelta(hours=n % 100),
                         "unit_id": unit_id, "common_area_id": area_id})
        db.session.execute(insert(Ticket), rows)
        db.session.commit()
        protocol = db.session.scalar(select(Ticket.protocol).where(Ticket.unit_id.is_not(None))
                                     .order_by(Ticket.id.desc()).limit(1))
        engine = db.engine
    statements = []

    def count(conn, cursor, statement, *args):
        if not is_session_lookup(statement):
            statements.append(statement)

    staff = login(estate, "staff@example.com")
    client = login(estate, MARIA)
    pages = [(staff, "/staff/tickets"), (staff, f"/staff/tickets?development={i['JAR']}"),
             (staff, "/staff/tickets?development=none&status=all"),
             (staff, "/staff/tickets/dashboard"), (staff, f"/staff/tickets/{protocol}"),
             (staff, f"/staff/developments/{i['JAR']}/common-areas"),
             (staff, f"/staff/developments/{i['JAR']}"),
             (client, "/tickets"), (client, f"/unit?unit={i['A-101']}"), (client, LEAK)]
    event.listen(engine, "before_cursor_execute", count)
    try:
        for who, url in pages:
            statements.clear()
            response = who.get(url)
            assert response.status_code == 200, url
            assert len(statements) <= 8, (url, [s[:100] for s in statements])
    finally:
        event.remove(engine, "before_cursor_execute", count)
    html = staff.get(f"/staff/tickets?development={i['JAR']}").get_data(as_text=True)
    assert "Residencial Jardins" in html and "Vista Verde · Torre Única" not in html


def test_access_matrix_for_requests_about_a_place(estate):
    """A request about a unit or a common area is its opener's alone, whoever shares the place."""
    i = ids(estate)
    leak = _open(estate, MARIA, LEAK, f"unit:{i['A-101']}", "Mancha na parede")
    pool = _open(estate, JOAO, COMMON, f"area:{i['JAR-PISC']}", "Pedra solta")
    people = {"owner": MARIA, "co-holder": "ana.souza@example.com", "neighbour": JOAO,
              "other development": PEDRO}
    expected = {"owner": (200, 404), "co-holder": (404, 404), "neighbour": (404, 200),
                "other development": (404, 404)}
    for who, email in people.items():
        client = login(estate, email)
        got = tuple(client.get(f"/tickets/{p}").status_code for p in (leak, pool))
        assert got == expected[who], who
        unit = client.get(f"/unit?unit={i['A-101']}").get_data(as_text=True)
        assert (leak in unit) == (who == "owner"), who
        assert client.get(f"/staff/developments/{i['JAR']}/common-areas").status_code != 200
