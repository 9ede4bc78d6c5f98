"""My property: the ERP import, who sees which unit, contract, photo and document."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import event

from generator.build import build
from tests.conftest import (
    ROOT,
    add_user,
    import_estate,
    is_session_lookup,
    login,
    submit,
)

ERP = ROOT / "tenants" / "aurora" / "erp"


@pytest.fixture(params=["sqlite", "postgresql"])
def estate(request, tmp_path):
    """The demo tenant with its ERP sample imported and passwords set for its customers."""
    instance = build(str(ROOT / "tenants/aurora/tenant.yaml"), tmp_path / "b").instance
    url = (f"sqlite:///{instance / 'data' / 'portal.db'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres_url"))
    app = import_estate(instance, url)
    from runtime.erp.models import Development, SyndicDevelopment
    from runtime.extensions import db
    from runtime.models import User

    with app.app_context():
        jardins = db.session.scalar(db.select(Development.id).where(
            Development.external_id == "JAR"))
    add_user(app, "sindico@example.com", role="syndic", name="Sílvio Síndico")
    add_user(app, "staff@example.com", role="staff", name="Sam Staff")
    with app.app_context():
        syndic = db.session.scalar(db.select(User).where(User.email == "sindico@example.com"))
        db.session.add(SyndicDevelopment(user_id=syndic.id, development_id=jardins))
        db.session.commit()
    yield app
    with app.app_context():
        db.engine.dispose()


def _jpeg(colour=(200, 100, 50), size=(900, 600), exif=False) -> bytes:
    img = Image.new("RGB", size, colour)
    buf = io.BytesIO()
    if exif:
        info = Image.Exif()
        info[0x010F] = "CameraMaker"  # Make
        img.save(buf, format="JPEG", exif=info.tobytes())
    else:
        img.save(buf, format="JPEG")
    return buf.getvalue()


def _ids(app):
    from runtime.erp.models import Contract, Development, Unit
    from runtime.extensions import db

    with app.app_context():
        def one(model, ext):
            return db.session.scalar(db.select(model.id).where(model.external_id == ext))
        return {"JAR": one(Development, "JAR"), "VV": one(Development, "VV"),
                "A-101": one(Unit, "JAR-A-101"), "A-102": one(Unit, "JAR-A-102"),
                "CT-1001": one(Contract, "CT-1001"), "CT-1002": one(Contract, "CT-1002")}


def _publish(app, staff):
    """Staff post a construction update and three documents (development, unit, contract)."""
    ids = _ids(app)
    page = f"/staff/developments/{ids['JAR']}/updates/new"
    data = {"reported_on": "2026-10-30", "overall": "65", "text": "Estrutura concluída",
            "videos": "https://www.youtube.com/watch?v=aqz-KE-bpKQ",
            "phase_name_0": "Fundação", "phase_percent_0": "100",
            "phase_name_1": "Estrutura", "phase_percent_1": "80",
            "photos": [(io.BytesIO(_jpeg(exif=True)), "a.jpg"),
                       (io.BytesIO(_jpeg((10, 10, 200))), "b.jpg")]}
    response = submit(staff, page, data, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    docs = {}
    for title, scope, target in (("Planta geral", "development", ids["JAR"]),
                                 ("Planta A-101", "unit", ids["A-101"]),
                                 ("Contrato 1001", "contract", ids["CT-1001"])):
        pdf = io.BytesIO()
        Image.new("RGB", (100, 100)).save(pdf, format="PDF")
        html = staff.get("/staff/documents/new").get_data(as_text=True)
        category = re.search(r'<option value="(\d+)">Planta</option>', html).group(1)
        response = submit(staff, "/staff/documents/new", {
            "category": category, "scope": f"{scope}:{target}", "title": title,
            "files": (io.BytesIO(pdf.getvalue()), "doc.pdf")}, content_type="multipart/form-data")
        assert response.status_code == 302, response.get_data(as_text=True)[:800]
    from runtime.extensions import db
    from runtime.modules.construction.models import ConstructionPhoto
    from runtime.modules.documents.models import Document

    with app.app_context():
        docs = {d.title: d.id for d in db.session.scalars(db.select(Document))}
        photos = db.session.scalars(db.select(ConstructionPhoto.id)).all()
    return ids, docs, photos


# who: (e-mail, login kind)
PEOPLE = {"owner": ("maria.souza@example.com", "client"),
          "co-holder": ("ana.souza@example.com", "client"),
          "neighbour": ("joao.lima@example.com", "client"),
          "other development": ("pedro.alves@example.com", "client"),
          "syndic": ("sindico@example.com", "syndic")}


def test_access_matrix(estate):
    staff = login(estate, "staff@example.com")
    ids, docs, photos = _publish(estate, staff)
    routes = {
        "unit A-101": f"/unit?unit={ids['A-101']}",
        "construction JAR": f"/construction/{ids['JAR']}",
        "photo": f"/construction/photos/{photos[0]}/full",
        "development document": f"/documents/{docs['Planta geral']}/file",
        "unit document": f"/documents/{docs['Planta A-101']}/file",
        "contract document": f"/documents/{docs['Contrato 1001']}/file",
        "development photo": f"/construction/{ids['VV']}",
    }
    expected = {  # who sees what: 200 or 404
        "owner": dict.fromkeys(routes, 200),
        "co-holder": {**dict.fromkeys(routes, 200), "development photo": 404},
        "neighbour": {**dict.fromkeys(routes, 404), "construction JAR": 200, "photo": 200,
                      "development document": 200},
        "other development": {**dict.fromkeys(routes, 404), "development photo": 200},
        "syndic": {**dict.fromkeys(routes, 404), "construction JAR": 200, "photo": 200,
                   "development document": 200},
    }
    for who, (email, kind) in PEOPLE.items():
        client = login(estate, email, kind)
        for name, url in routes.items():
            response = client.get(url)
            got = response.status_code
            response.close()
            if name == "unit A-101" and expected[who][name] == 404:
                assert got in (200, 404) and "A-101" not in client.get(url).get_data(
                    as_text=True).split("unit-facts")[-1][:400], (who, name)
                continue
            assert got == expected[who][name], (who, name, got)
    # documents lists show exactly the documents in scope
    for who, titles in (("owner", {"Planta geral", "Planta A-101", "Contrato 1001"}),
                        ("neighbour", {"Planta geral"}), ("syndic", {"Planta geral"}),
                        ("other development", set())):
        email, kind = PEOPLE[who]
        html = login(estate, email, kind).get("/documents").get_data(as_text=True)
        assert {t for t in docs if f">{t}</a>" in html} == titles, who


def test_unit_page_shows_unit_development_forecast_and_co_holders(estate):
    ids = _ids(estate)
    html = login(estate, "maria.souza@example.com").get(f"/unit?unit={ids['A-101']}")
    html = html.get_data(as_text=True)
    for text in ("Residencial Jardins", "A-101", "Torre A", "72,50 m²", "Apartamento",
                 "31 de março de 2027", "Ana Souza", "Co-titular"):
        assert text in html, text
    assert 'name="unit"' in html  # Maria has two units: a switcher
    assert "Contrato 2024/0187" in login(estate, "maria.souza@example.com").get(
        "/contracts").get_data(as_text=True)
    finance = login(estate, "maria.souza@example.com").get("/finance").get_data(as_text=True)
    assert "boleto?cpf=52998224725" in finance


def test_home_shows_the_latest_construction_progress(estate):
    staff = login(estate, "staff@example.com")
    _publish(estate, staff)
    home = login(estate, "ana.souza@example.com").get("/").get_data(as_text=True)
    assert "Residencial Jardins" in home and "65%" in home
    assert "Vista Verde" not in home  # Ana is only on the Jardins contract


def test_syndic_sees_no_unit_or_contract(estate):
    syndic = login(estate, "sindico@example.com", "syndic")
    # buyer-only screens do not exist in the building manager's portal (tests/test_syndic.py)
    assert syndic.get("/unit").status_code == 404
    assert syndic.get("/contracts").status_code == 404


def test_clients_see_only_the_latest_updates(estate):
    staff = login(estate, "staff@example.com")
    ids = _ids(estate)
    for day, overall in (("2026-06-30", "40"), ("2026-07-30", "47"), ("2026-08-30", "52"),
                         ("2026-09-30", "58")):
        submit(staff, f"/staff/developments/{ids['JAR']}/updates/new",
               {"reported_on": day, "overall": overall, "phase_name_0": "Estrutura",
                "phase_percent_0": overall, "photos": (io.BytesIO(_jpeg()), "x.jpg")},
               content_type="multipart/form-data")
    html = login(estate, "maria.souza@example.com").get(f"/construction/{ids['JAR']}")
    html = html.get_data(as_text=True)
    assert "58%" in html and "52%" in html and "47%" in html and "40%" not in html  # history: 3
    assert "Setembro de 2026" in html or "setembro de 2026" in html.lower()
    from runtime.extensions import db
    from runtime.modules.construction.models import ConstructionPhoto, ConstructionUpdate

    with estate.app_context():
        oldest = db.session.scalar(db.select(ConstructionPhoto.id).join(ConstructionUpdate)
                                   .where(ConstructionUpdate.overall == 40))
    client = login(estate, "maria.souza@example.com")
    assert client.get(f"/construction/photos/{oldest}/thumb").status_code == 404
    response = staff.get(f"/construction/photos/{oldest}/thumb")
    assert response.status_code == 200
    response.close()


def test_photos_are_reencoded_thumbnails_without_exif(estate):
    staff = login(estate, "staff@example.com")
    _, _, photos = _publish(estate, staff)
    client = login(estate, "maria.souza@example.com")
    thumb = client.get(f"/construction/photos/{photos[0]}/thumb")
    full = client.get(f"/construction/photos/{photos[0]}/full")
    assert thumb.mimetype == full.mimetype == "image/jpeg"
    small, big = Image.open(io.BytesIO(thumb.data)), Image.open(io.BytesIO(full.data))
    assert max(small.size) == 480 and big.size == (900, 600)
    assert not big.getexif() and b"CameraMaker" not in full.data
    thumb.close()
    full.close()


def test_document_versions_and_deactivation(estate):
    staff = login(estate, "staff@example.com")
    _, docs, _ = _publish(estate, staff)
    doc = docs["Planta geral"]
    png = io.BytesIO()
    Image.new("RGB", (20, 20), (0, 255, 0)).save(png, format="PNG")
    submit(staff, f"/staff/documents/{doc}", {"action": "replace",
                                              "file": (io.BytesIO(png.getvalue()), "v2.png")},
           content_type="multipart/form-data")
    page = staff.get(f"/staff/documents/{doc}").get_data(as_text=True)
    assert "v2.png" in page and "doc.pdf" in page  # the history is kept
    client = login(estate, "maria.souza@example.com")
    response = client.get(f"/documents/{doc}/file")
    assert response.mimetype == "image/png"
    response.close()
    submit(staff, f"/staff/documents/{doc}", {"action": "toggle"})
    assert client.get(f"/documents/{doc}/file").status_code == 404
    bad = submit(staff, "/staff/documents/new", {"scope": f"development:{_ids(estate)['JAR']}",
                                                 "category": "1",
                                                 "files": (io.BytesIO(b"#!/bin/sh\nrm -rf /"),
                                                           "plan.pdf")},
                 content_type="multipart/form-data")
    assert bad.status_code == 400 and "plan.pdf não é um arquivo aceito" in bad.get_data(
        as_text=True)


def test_pages_with_many_photos_and_documents_run_few_statements(estate):
    staff = login(estate, "staff@example.com")
    ids, _, _ = _publish(estate, staff)
    from runtime.extensions import db
    from runtime.modules.construction.models import ConstructionPhoto, ConstructionUpdate
    from runtime.modules.documents.models import Document, DocumentVersion

    with estate.app_context():
        update = db.session.scalar(db.select(ConstructionUpdate))
        for _ in range(60):
            db.session.add(ConstructionPhoto(update_id=update.id, image="x.jpg",
                                             thumbnail="x.jpg", mimetype="image/jpeg"))
        for i in range(60):
            doc = Document(title=f"Doc {i}", category_id=1, scope="development",
                           target_id=ids["JAR"])
            db.session.add(doc)
            db.session.flush()
            version = DocumentVersion(document_id=doc.id, stored_name="x", filename="x.pdf",
                                      mimetype="application/pdf", size=1)
            db.session.add(version)
            db.session.flush()
            doc.current_version_id = version.id
        db.session.commit()
        engine = db.engine
    statements = []

    def count(conn, cursor, statement, *args):
        if not is_session_lookup(statement):  # the session store: Redis in production
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        client = login(estate, "maria.souza@example.com")
        for url in (f"/construction/{ids['JAR']}", "/documents", "/unit", "/contracts"):
            statements.clear()
            assert client.get(url).status_code == 200
            assert len(statements) <= 8, (url, len(statements))
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_view_as_client_is_read_only_and_audited(estate):
    from runtime.erp.models import AuditEntry
    from runtime.extensions import db
    from runtime.models import User

    with estate.app_context():
        maria = db.session.scalar(db.select(User.id).where(User.email ==
                                                           "maria.souza@example.com"))
    staff = login(estate, "staff@example.com")
    submit(staff, f"/staff/clients/{maria}/view-as", {}, page=f"/staff/clients/{maria}")
    home = staff.get("/").get_data(as_text=True)
    assert "está vendo o portal como Maria Souza" in home and "Olá, Maria" in home
    assert "A-101" in staff.get("/unit").get_data(as_text=True)
    refused = submit(staff, "/contact/relacionamento/duvida", {"description": "sneaky"})
    assert refused.status_code == 403
    submit(staff, "/view-as/stop", {}, page="/")
    assert staff.get("/staff/").status_code == 200
    submit(staff, f"/staff/clients/{maria}/view-as", {}, page=f"/staff/clients/{maria}")
    assert submit(staff, "/logout", {}, page="/").status_code == 302  # logging out is allowed
    assert staff.get("/").status_code == 302 and staff.get("/staff/").status_code == 302
    with estate.app_context():
        actions = [(a.action, a.subject_id) for a in db.session.scalars(db.select(AuditEntry))
                   if a.action != "view_as_page"]  # each page seen: tests/test_defects.py
    assert actions == [("view_as", maria), ("view_as_end", maria), ("view_as", maria)]


def test_staff_read_accounts_and_contract_roles_in_their_language(estate):
    from runtime.extensions import db
    from runtime.models import User

    staff = login(estate, "staff@example.com")
    listing = staff.get("/staff/clients").get_data(as_text=True)
    assert "Carla Dias" in listing  # imported without an e-mail
    assert ">None<" not in listing and "sem e-mail" in listing
    with estate.app_context():
        ids = dict(db.session.execute(db.select(User.email, User.id).where(User.email.in_(
            ("maria.souza@example.com", "ana.souza@example.com")))).all())
    maria = staff.get(f"/staff/clients/{ids['maria.souza@example.com']}").get_data(as_text=True)
    ana = staff.get(f"/staff/clients/{ids['ana.souza@example.com']}").get_data(as_text=True)
    assert "· Titular</li>" in maria and "· Co-titular</li>" in ana
    assert "· holder</li>" not in maria and "· co-holder</li>" not in ana


def test_a_form_sent_while_viewing_as_a_client_says_the_view_is_read_only(estate):
    from runtime.extensions import db
    from runtime.models import User
    from runtime.modules.tickets.models import Ticket

    with estate.app_context():
        maria = db.session.scalar(db.select(User.id).where(User.email ==
                                                           "maria.souza@example.com"))
    staff = login(estate, "staff@example.com")
    submit(staff, f"/staff/clients/{maria}/view-as", {}, page=f"/staff/clients/{maria}")
    refused = submit(staff, "/contact/relacionamento/duvida", {"description": "sneaky"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 403
    assert "visualização somente leitura do portal como Maria Souza o vê" in html
    assert "Você não tem acesso" not in html
    assert "Parar de visualizar" in html  # the banner stays, with its way out
    with estate.app_context():
        assert db.session.scalar(db.select(db.func.count(Ticket.id))) == 0


def _upload(staff, **fields):
    html = staff.get("/staff/documents/new").get_data(as_text=True)
    category = re.search(r'<option value="(\d+)">Planta</option>', html).group(1)
    pdf = io.BytesIO()
    Image.new("RGB", (50, 50)).save(pdf, format="PDF")
    return submit(staff, "/staff/documents/new", {
        "category": category, "title": "Planta", "files": (io.BytesIO(pdf.getvalue()), "p.pdf"),
        **fields}, content_type="multipart/form-data")


def _latest_document(app) -> tuple[str, int]:
    from runtime.extensions import db
    from runtime.modules.documents.models import Document

    with app.app_context():
        document = db.session.scalar(db.select(Document).order_by(Document.id.desc()))
        return document.scope, document.target_id


def test_staff_find_what_a_document_belongs_to_by_searching(estate):
    from runtime.erp.models import Unit
    from runtime.extensions import db

    ids = _ids(estate)
    staff = login(estate, "staff@example.com")
    form = staff.get("/staff/documents/new").get_data(as_text=True)
    assert 'role="combobox"' in form and 'value="unit:' not in form  # no list of every unit
    found = staff.get("/staff/documents/targets?q=jardins a-101").get_json()["results"]
    assert found[0] == {"value": f"unit:{ids['A-101']}", "kind": "Unidade",
                        "label": "Residencial Jardins — Torre A — A-101"}
    contract = staff.get("/staff/documents/targets?q=2024/0187").get_json()["results"]
    assert contract[0]["label"] == "Contrato 2024/0187 — Residencial Jardins — Torre A — A-101"
    by_development = staff.get("/staff/documents/targets?q=vista").get_json()["results"]
    assert [r["label"] for r in by_development][:2] == ["Vista Verde",
                                                         "Vista Verde — Torre Única — 1203"]
    client = login(estate, "maria.souza@example.com")
    assert client.get("/staff/documents/targets?q=a").status_code != 200
    # without a script, the exact code typed in the box is enough...
    assert _upload(staff, target="a-101").status_code == 302
    assert _latest_document(estate) == ("unit", ids["A-101"])
    # ...and a code two developments share is a question, not a guess
    with estate.app_context():
        twin = Unit(external_id="VV-A-101", development_id=ids["VV"], code="A-101",
                    tower="Torre Única")
        db.session.add(twin)
        db.session.commit()
        twin = twin.id
    asked = _upload(staff, target="A-101")
    html = asked.get_data(as_text=True)
    assert asked.status_code == 400 and "Vários correspondem a “A-101”" in html
    assert f'value="unit:{twin}"' in html and "Vista Verde — Torre Única — A-101" in html
    assert _upload(staff, target="A-101", scope=f"unit:{twin}").status_code == 302
    assert _latest_document(estate) == ("unit", twin)
    for typed in ("Z-999", ""):
        refused = _upload(staff, target=typed)
        assert refused.status_code == 400 and 'class="form-control is-invalid"' in \
            refused.get_data(as_text=True)
    assert _upload(staff, target="", scope="unit:99999999999999999999").status_code == 400


def test_staff_add_and_deactivate_categories(estate):
    staff = login(estate, "staff@example.com")
    submit(staff, "/staff/documents/categories", {"name": "Garantias"}, page="/staff/documents")
    html = staff.get("/staff/documents/new").get_data(as_text=True)
    assert ">Garantias</option>" in html
    from runtime.extensions import db
    from runtime.modules.documents.models import DocumentCategory

    with estate.app_context():
        garantias = db.session.scalar(db.select(DocumentCategory.id).where(
            DocumentCategory.name == "Garantias"))
    submit(staff, "/staff/documents/categories", {"toggle": str(garantias)},
           page="/staff/documents")
    assert ">Garantias</option>" not in staff.get("/staff/documents/new").get_data(as_text=True)


def test_a_pdf_opens_inside_the_document_page(estate):
    staff = login(estate, "staff@example.com")
    _, docs, _ = _publish(estate, staff)
    client = login(estate, "maria.souza@example.com")
    page = client.get(f"/documents/{docs['Planta geral']}")
    assert "frame-src 'self'" in page.headers["Content-Security-Policy"]
    assert f'src="/documents/{docs["Planta geral"]}/file" title="Planta geral"' in \
        page.get_data(as_text=True)
    pdf = client.get(f"/documents/{docs['Planta geral']}/file")
    assert pdf.mimetype == "application/pdf" and pdf.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "inline" in pdf.headers["Content-Disposition"]
    pdf.close()
