"""Notices for an audience: everyone, some developments, buyers and/or syndics; clients see
only theirs everywhere (list, pop-ups, home, detail); staff pick the audience; e-mail once."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import event, insert

from generator.build import build
from tests.conftest import (
    ROOT,
    add_user,
    deliver,
    import_estate,
    is_session_lookup,
    login,
    outbox,
    submit,
)

# name: (roles, developments by ERP id)
AUDIENCES = {
    "everyone": ((), ()),
    "JAR": ((), ("JAR",)),
    "VV": ((), ("VV",)),
    "buyers": (("buyers",), ()),
    "syndics": (("syndics",), ()),
    "buyers of JAR": (("buyers",), ("JAR",)),
    "syndics of JAR": (("syndics",), ("JAR",)),
    "buyers of VV": (("buyers",), ("VV",)),
    "syndics of VV": (("syndics",), ("VV",)),
    "buyers and syndics of VV": (("buyers", "syndics"), ("VV",)),
    "buyers and syndics": (("buyers", "syndics"), ()),
}
# who: (e-mail, login kind, the notices they see listed, and the ones they may open)
JOAO_AS_BUYER = {"everyone", "JAR", "buyers", "buyers of JAR", "buyers and syndics"}
JOAO_AS_SYNDIC = {"everyone", "VV", "syndics", "syndics of VV", "buyers and syndics of VV",
                  "buyers and syndics"}
PEOPLE = {
    "buyer of JAR": ("ana.souza@example.com", "client",
                     {"everyone", "JAR", "buyers", "buyers of JAR", "buyers and syndics"}),
    # holder in JAR, attorney on a contract in VV: a party of any role is a buyer
    "buyer in JAR and VV": ("maria.souza@example.com", "client",
                            {"everyone", "JAR", "VV", "buyers", "buyers of JAR",
                             "buyers of VV", "buyers and syndics of VV", "buyers and syndics"}),
    "buyer of VV": ("pedro.alves@example.com", "client",
                    {"everyone", "VV", "buyers", "buyers of VV", "buyers and syndics of VV",
                     "buyers and syndics"}),
    "syndic of JAR": ("sindico@example.com", "syndic",
                      {"everyone", "JAR", "syndics", "syndics of JAR", "buyers and syndics"}),
    # one account, two portals (lane syndic): each portal lists the notices of its tie, and
    # any notice of either tie opens (its e-mail reaches the person, whatever the portal)
    "buyer of JAR, syndic of VV, in the buyer's portal": (
        "joao.lima@example.com", "client", JOAO_AS_BUYER, JOAO_AS_BUYER | JOAO_AS_SYNDIC),
    "buyer of JAR, syndic of VV, in the syndic's portal": (
        "joao.lima@example.com", "syndic", JOAO_AS_SYNDIC, JOAO_AS_BUYER | JOAO_AS_SYNDIC),
    "client without a contract": ("nobody@example.com", "client", {"everyone"}),
}


@pytest.fixture(params=["sqlite", "postgresql"])
def estate(request, tmp_path):
    """The demo tenant with its ERP sample: a syndic of JAR, João also syndic of VV."""
    instance = build(str(ROOT / "tenants/aurora/tenant.yaml"), tmp_path / "b").instance
    url = (f"sqlite:///{instance / 'data' / 'portal.db'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres_url"))
    app = import_estate(instance, url)
    syndic = add_user(app, "sindico@example.com", role="syndic", name="Sílvio Síndico")
    add_user(app, "staff@example.com", role="staff", name="Sam Staff")
    add_user(app, "nobody@example.com", name="Nina Semcontrato")
    from runtime.erp.models import SyndicDevelopment
    from runtime.extensions import db
    from runtime.models import User

    ids = _developments(app)
    with app.app_context():
        joao = db.session.scalar(db.select(User.id).where(User.email == "joao.lima@example.com"))
        db.session.add_all([SyndicDevelopment(user_id=syndic, development_id=ids["JAR"]),
                            SyndicDevelopment(user_id=joao, development_id=ids["VV"])])
        db.session.commit()
    yield app
    with app.app_context():
        db.engine.dispose()


def _developments(app) -> dict[str, int]:
    from runtime.erp.models import Development
    from runtime.extensions import db

    with app.app_context():
        return {d.external_id: d.id for d in db.session.scalars(db.select(Development))}


def _notice(app, title: str, roles=(), developments=(), **values) -> int:
    from runtime.erp.models import Development
    from runtime.extensions import db
    from runtime.models import utcnow
    from runtime.modules.notices.models import Notice

    with app.app_context():
        chosen = db.session.scalars(db.select(Development).where(
            Development.external_id.in_(developments))).all()
        notice = Notice(title=title, summary=f"Summary of {title}",
                        content_html=f"<p>Body of {title}</p>",
                        publish_from=utcnow() - timedelta(hours=1),
                        for_buyers="buyers" in roles, for_syndics="syndics" in roles,
                        developments=chosen, all_developments=not chosen, **values)
        db.session.add(notice)
        db.session.commit()
        return notice.id


def _titles(html: str) -> set[str]:
    """The notices a page shows as cards (their headings), by title."""
    return set(re.findall(r'<h[23] class="h[56] (?:card-title )?mt-1">([^<]+)</h[23]>', html))


def test_each_client_sees_exactly_the_notices_of_their_audience(estate):
    ids = {name: _notice(estate, name, *audience) for name, audience in AUDIENCES.items()}
    for who, (email, kind, sees, *opens) in PEOPLE.items():
        opens = opens[0] if opens else sees
        client = login(estate, email, kind)
        listed = _titles(client.get("/notices").get_data(as_text=True))
        assert listed == sees, who
        home = _titles(client.get("/").get_data(as_text=True))
        assert home and home <= sees, who  # the three newest of theirs
        for name, notice_id in ids.items():
            detail = client.get(f"/notices/{notice_id}")
            assert detail.status_code == (200 if name in opens else 404), (who, name)
    staff = login(estate, "staff@example.com")
    for notice_id in ids.values():
        assert staff.get(f"/notices/{notice_id}").status_code == 200


def test_the_timeline_pop_ups_hold_only_the_clients_notices(estate):
    for name, audience in AUDIENCES.items():
        _notice(estate, name, *audience)
    html = login(estate, "pedro.alves@example.com").get("/notices").get_data(as_text=True)
    assert "Body of buyers of VV" in html and "Body of JAR" not in html
    assert "Body of syndics of VV" not in html  # a buyer of VV is not its syndic


def test_a_cancelled_contract_no_longer_makes_a_buyer(estate):
    from runtime.erp.models import Contract
    from runtime.extensions import db

    for name, audience in AUDIENCES.items():
        _notice(estate, name, *audience)
    with estate.app_context():
        contract = db.session.scalar(db.select(Contract).where(
            Contract.external_id == "CT-1003"))
        contract.status = "cancelled"
        db.session.commit()
    html = login(estate, "pedro.alves@example.com").get("/notices").get_data(as_text=True)
    assert _titles(html) == {"everyone"}


def test_a_notice_whose_developments_were_all_removed_reaches_nobody(estate):
    from runtime.extensions import db
    from runtime.modules.notices.models import NoticeDevelopment

    notice_id = _notice(estate, "Only JAR", developments=("JAR",))
    with estate.app_context():
        db.session.execute(db.delete(NoticeDevelopment))
        db.session.commit()
    response = login(estate, "ana.souza@example.com").get(f"/notices/{notice_id}")
    assert response.status_code == 404


# -- the staff form ---------------------------------------------------------------------------

NOTICE = {"title": "Vistoria de entrega", "summary": "Agende a sua", "content": "<p>x</p>",
          "publish_from": "2020-01-01T08:00", "active": "y"}


def test_staff_pick_the_audience_and_the_list_shows_it(estate):
    ids = _developments(estate)
    staff = login(estate, "staff@example.com")
    form = staff.get("/staff/notices/new").get_data(as_text=True)
    assert "Residencial Jardins" in form and "Vista Verde" in form
    response = submit(staff, "/staff/notices/new", {
        **NOTICE, "roles": ["buyers"], "developments": [str(ids["JAR"])]})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    listing = staff.get("/staff/notices").get_data(as_text=True)
    assert re.search(r"Compradores</span>\s*<span[^>]*>· Residencial Jardins", listing)
    from runtime.extensions import db
    from runtime.modules.notices.models import Notice

    with estate.app_context():
        notice = db.session.scalar(db.select(Notice))
        assert (notice.for_buyers, notice.for_syndics, notice.all_developments) == (
            True, False, False)
        assert [d.id for d in notice.developments] == [ids["JAR"]]
    edit = staff.get(f"/staff/notices/{notice.id}/edit").get_data(as_text=True)
    assert re.search(rf'<input checked[^>]*value="{ids["JAR"]}"|value="{ids["JAR"]}"[^>]*checked',
                     edit)
    assert login(estate, "ana.souza@example.com").get(f"/notices/{notice.id}").status_code \
        == 200
    assert login(estate, "pedro.alves@example.com").get(f"/notices/{notice.id}").status_code \
        == 404
    # back to everyone: nothing ticked
    assert submit(staff, f"/staff/notices/{notice.id}/edit", NOTICE).status_code == 302
    assert "Todos os clientes" in staff.get("/staff/notices").get_data(as_text=True)
    assert login(estate, "pedro.alves@example.com").get(f"/notices/{notice.id}").status_code \
        == 200


@pytest.mark.parametrize("forged", [{"developments": ["999999"]},
                                    {"developments": ["JAR"]},
                                    {"roles": ["admins"]}])
def test_a_forged_audience_is_refused_and_nothing_saved(estate, forged):
    staff = login(estate, "staff@example.com")
    response = submit(staff, "/staff/notices/new", {**NOTICE, **forged})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'value="Vistoria de entrega"' in page  # what was typed is kept
    (name,) = forged
    # the summary links to the group; every box of it is invalid and names the message
    assert f'<a class="alert-link" href="#{name}">' in page
    assert re.search(rf'<fieldset[^>]* id="{name}" tabindex="-1"', page)
    boxes = re.findall(rf'<input[^>]*name="{name}"[^>]*>', page)
    assert boxes and all('aria-invalid="true"' in b and f'aria-describedby="{name}-error"' in b
                         for b in boxes)
    message = re.search(rf'<div class="invalid-feedback d-block" id="{name}-error"><div>([^<]+)',
                        page).group(1)
    assert "escolha" in message.lower() or "válid" in message.lower(), message
    from runtime.extensions import db
    from runtime.modules.notices.models import Notice

    with estate.app_context():
        assert db.session.scalar(db.select(db.func.count(Notice.id))) == 0


# -- e-mail -----------------------------------------------------------------------------------

def _queued(app) -> list[tuple[str, str, str]]:
    from runtime.extensions import db
    from runtime.models import OutboxMessage

    with app.app_context():
        return sorted((m.recipient, m.subject, m.status)
                      for m in db.session.scalars(db.select(OutboxMessage)))


def test_email_goes_once_to_each_active_client_with_an_address_in_the_audience(estate):
    from runtime.extensions import db
    from runtime.models import User

    ids = _developments(estate)
    with estate.app_context():  # Ana (co-holder in JAR) has left: no e-mail for her
        db.session.scalar(db.select(User).where(User.email == "ana.souza@example.com")
                          ).active = False
        db.session.commit()
    staff = login(estate, "staff@example.com")
    response = submit(staff, "/staff/notices/new", {
        **NOTICE, "developments": [str(ids["JAR"])], "send_email": "y"})
    assert response.status_code == 302
    assert "E-mails para 3 clientes" in staff.get("/staff/notices").get_data(as_text=True)
    jar = ["joao.lima@example.com", "maria.souza@example.com", "sindico@example.com"]
    assert [r for r, _, _ in _queued(estate)] == jar
    from runtime.modules.notices.models import Notice

    with estate.app_context():
        notice_id = db.session.scalar(db.select(Notice.id))
    # an edit before delivery: the same people, the new text, still one each
    fixed = {**NOTICE, "title": "Vistoria de entrega das chaves",
             "developments": [str(ids["JAR"])], "send_email": "y"}
    assert submit(staff, f"/staff/notices/{notice_id}/edit", fixed).status_code == 302
    assert [(r, s) for r, s, _ in _queued(estate)] == [
        (r, "Aviso: Vistoria de entrega das chaves") for r in jar]
    sent = outbox(estate)
    assert sorted(m["To"] for m in sent) == jar
    body = sent[0].get_body(("plain",)).get_content()
    assert "Vistoria de entrega das chaves" in body and f"/notices/{notice_id}" in body
    # edits after delivery send nothing again; widening the audience reaches only newcomers
    assert submit(staff, f"/staff/notices/{notice_id}/edit", fixed).status_code == 302
    edit = staff.get(f"/staff/notices/{notice_id}/edit").get_data(as_text=True)
    # said in the box's description, which the box names (aria-describedby)
    assert re.search(r'id="send_email-help">[^<]*Já enviado por e-mail a 3 clientes', edit)
    wider = {**fixed, "developments": [str(ids["JAR"]), str(ids["VV"])]}
    assert submit(staff, f"/staff/notices/{notice_id}/edit", wider).status_code == 302
    deliver(estate)
    # Pedro (buyer of VV) is new; João, also syndic of VV, already had his
    assert _queued(estate) == [(r, "Aviso: Vistoria de entrega das chaves", "sent")
                               for r in sorted([*jar, "pedro.alves@example.com"])]


def test_a_scheduled_notice_is_e_mailed_when_published_and_never_if_withdrawn(estate):
    from runtime.erp.models import Development, SyndicDevelopment
    from runtime.extensions import db
    from runtime.models import OutboxMessage, User, utcnow

    with estate.app_context():  # whom the portal refuses gets no link to it
        db.session.scalar(db.select(User).where(User.email == "joao.lima@example.com")
                          ).portal_access = False
        db.session.add(User(email="carla@example.com", name="Carla Síndica", role="syndic"))
        db.session.flush()
        carla = db.session.scalar(db.select(User.id).where(User.email == "carla@example.com"))
        vv = db.session.scalar(db.select(Development).where(Development.external_id == "VV"))
        vv.portal_access = False  # Carla manages VV alone
        db.session.add(SyndicDevelopment(user_id=carla, development_id=vv.id))
        db.session.commit()
    staff = login(estate, "staff@example.com")
    later = (utcnow() + timedelta(days=3)).replace(second=0, microsecond=0)
    response = submit(staff, "/staff/notices/new", {
        **NOTICE, "roles": ["syndics"], "send_email": "y",
        "publish_from": (later - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 302
    with estate.app_context():
        rows = db.session.scalars(db.select(OutboxMessage)).all()
        assert [r.recipient for r in rows] == ["sindico@example.com"]
        assert {r.next_attempt_at for r in rows} == {later}  # 3 h: São Paulo is UTC-3
    assert deliver(estate).sent == 0  # not before the notice is out
    from runtime.modules.notices.models import Notice

    with estate.app_context():
        notice_id = db.session.scalar(db.select(Notice.id))
    submit(staff, f"/staff/notices/{notice_id}/toggle", {}, page="/staff/notices")
    assert _queued(estate) == []  # deactivated before publication: withdrawn


# -- efficiency -------------------------------------------------------------------------------

def test_notice_pages_run_few_statements_with_10000_notices(estate):
    from runtime.extensions import db
    from runtime.models import utcnow
    from runtime.modules.notices.models import Notice, NoticeDevelopment

    ids = _developments(estate)
    now = utcnow()
    with estate.app_context():
        rows = [{"title": f"Notice {i}", "summary": "s", "content_html": "<p>b</p>",
                 "publish_from": now - timedelta(minutes=i), "active": True,
                 "for_buyers": i % 3 == 0, "for_syndics": i % 5 == 0,
                 "all_developments": i % 2 == 1, "send_email": False,
                 "created_at": now, "updated_at": now} for i in range(10_000)]
        db.session.execute(insert(Notice), rows)
        notice_ids = db.session.scalars(db.select(Notice.id).order_by(Notice.id)).all()
        db.session.execute(insert(NoticeDevelopment), [
            {"notice_id": n, "development_id": ids["VV"] if i % 4 else ids["JAR"]}
            for i, n in enumerate(notice_ids) if i % 2 == 0])
        db.session.commit()
        engine = db.engine
    statements = []

    def count(conn, cursor, statement, *args):
        if not is_session_lookup(statement):  # the session store: Redis in production
            statements.append(statement)

    for email, kind in (("ana.souza@example.com", "client"),
                        ("sindico@example.com", "syndic"), ("staff@example.com", "client")):
        client = login(estate, email, kind)
        urls = (["/notices", "/notices?page=40", f"/notices/{notice_ids[1]}"]
                + ([] if kind == "client" and email.startswith("staff") else ["/"]))
        if email.startswith("staff"):
            urls = ["/staff/notices", "/staff/notices?page=30"]
        event.listen(engine, "before_cursor_execute", count)
        try:
            for url in urls:
                statements.clear()
                assert client.get(url).status_code == 200, url
                assert len(statements) <= 8, (email, url, len(statements))
        finally:
            event.remove(engine, "before_cursor_execute", count)
