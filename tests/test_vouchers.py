"""The benefits club (modules.vouchers): import, browse, reveal exactly once, staff, export."""

from __future__ import annotations

import csv
import io
import re
import threading
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlalchemy import event

from cli import main
from tests.conftest import add_user, is_session_lookup, login, make_app, submit

CLUB = """\
  vouchers:
    title: Clube Minimal
    categories: [Casa, Lazer]
"""
TIMEZONE = "America/Sao_Paulo"  # tests/fixtures/tenants/minimal
HEADER = "partner;title;description;rules;category;image;valid_from;valid_until;type;codes\n"


def _today() -> date:
    """Today in the minimal tenant's time zone: offers open and close on the tenant's days."""
    return datetime.now(ZoneInfo(TIMEZONE)).date()


def _future(days: int = 60) -> str:
    return (_today() + timedelta(days=days)).strftime("%d/%m/%Y")


def _csv(*rows: str) -> str:
    return HEADER + "".join(r + "\n" for r in rows)


CINEMA = f"Cine Sol;2 por 1;Ingresso em dobro;Seg a qui;Lazer;;;{_future()};unique;CS-1 CS-2 CS-3"
SHOP = f"Loja Casa;15% off;Toda a loja;;Casa;;;{_future(90)};shared;CASA15"


@pytest.fixture
def club_instance(tenant_dir, tmp_path):
    from generator.build import build

    tenant = tenant_dir / "tenant.yaml"
    text = tenant.read_text(encoding="utf-8")
    text = text.replace("modules:\n", "modules:\n" + CLUB)
    text = text.replace("menu:\n", "menu:\n  - { label: Club, icon: gift, module: vouchers }\n")
    tenant.write_text(text, encoding="utf-8")
    return build(str(tenant), tmp_path / "build").instance


@pytest.fixture(params=["sqlite", "postgresql"])
def club_url(request, club_instance) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{club_instance / 'data' / 'portal.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def club(club_instance, club_url):
    app = make_app(club_instance, club_url)
    add_user(app, "maria@example.com", name="Maria Souza")
    add_user(app, "joao@example.com", name="João Lima")
    add_user(app, "staff@example.com", role="staff", name="Sam Staff")
    yield app
    from runtime.extensions import db

    with app.app_context():
        db.engine.dispose()


def _import(app, tmp_path, content: str, name: str = "vouchers.csv", dry_run=False,
            images: dict | None = None):
    from runtime.modules.vouchers.importer import folder_images, run

    folder = tmp_path / f"in-{abs(hash(content))}"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(content, encoding="utf-8")
    for image_name, data in (images or {}).items():
        (folder / image_name).write_bytes(data)
    with app.app_context():
        return run(folder / name, folder_images(folder), dry_run=dry_run)


def _jpeg(colour=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 36), colour).save(out, format="JPEG")
    return out.getvalue()


def _id(app, partner: str) -> int:
    from runtime.extensions import db
    from runtime.modules.vouchers.models import Voucher

    with app.app_context():
        return db.session.scalar(db.select(Voucher.id).where(Voucher.partner == partner))


def _reveal(client, voucher_id: int):
    return submit(client, f"/vouchers/{voucher_id}/reveal", {}, page=f"/vouchers/{voucher_id}")


def _code(html: str) -> str | None:
    match = re.search(r'font-monospace fs-3 fw-bold user-select-all text-break">([^<]+)<', html)
    return match.group(1) if match else None


# -- the tenant file --------------------------------------------------------------------------

def test_the_club_validates_strictly_and_is_no_longer_planned(club_instance, tenant_dir, runner):
    result = runner.invoke(main, ["validate", "--strict", str(tenant_dir / "tenant.yaml")])
    assert result.exit_code == 0, result.output
    from generator.schema import load_schema

    fragment = load_schema()["properties"]["modules"]["properties"]["vouchers"]
    assert "x-planned" not in fragment
    assert {"title", "categories", "per_page"} <= set(fragment["properties"])


# -- import -----------------------------------------------------------------------------------

def test_an_import_creates_offers_and_codes_and_again_changes_nothing(club, tmp_path):
    from runtime.extensions import db
    from runtime.modules.vouchers.models import Voucher, VoucherCode

    dry = _import(club, tmp_path, _csv(CINEMA, SHOP), dry_run=True)
    assert dry.errors == [] and (dry.count("create"), dry.new_codes) == (2, 3)
    with club.app_context():
        assert db.session.scalar(db.select(db.func.count(Voucher.id))) == 0  # a dry run
    done = _import(club, tmp_path, _csv(CINEMA, SHOP))
    assert (done.count("create"), done.new_codes) == (2, 3)
    again = _import(club, tmp_path, _csv(CINEMA, SHOP))
    assert (again.count("create"), again.count("update"), again.count("unchanged"),
            again.new_codes) == (0, 0, 2, 0)
    more = _import(club, tmp_path, _csv(CINEMA.replace("CS-3", "CS-3 CS-4|CS-5"), SHOP))
    assert (more.count("update"), more.new_codes) == (1, 2)
    with club.app_context():
        assert db.session.scalar(db.select(db.func.count(VoucherCode.id))) == 5
        shop = db.session.scalar(db.select(Voucher).where(Voucher.partner == "Loja Casa"))
        assert (shop.kind, shop.shared_code, shop.category) == ("shared", "CASA15", "Casa")


def test_a_wrong_row_imports_nothing_and_every_problem_is_located(club, tmp_path):
    from runtime.extensions import db
    from runtime.modules.vouchers.models import Voucher

    result = _import(club, tmp_path, _csv(
        CINEMA,
        f"Loja Casa;15% off;;;Casa;;;{_future()};shared;A B",
        f"Pet;Banho;;;Pets;;;{_future()};unique;P1",
        "Bar;Chope;;;Lazer;;31/12/2030;01/01/2030;single;X1 X1",
        f"Foto;Revela;;;Lazer;foto.jpg;;{_future()};unique;F1",
        f"Cine Sol;2 por 1;;;Lazer;;;{_future()};unique;CS-9",
    ))
    assert result.errors == [
        "vouchers.csv:3: codes: a shared offer has one code for every client, not 2",
        'vouchers.csv:4: category: "Pets" is not one of the categories of the tenant file: '
        "Casa, Lazer",
        'vouchers.csv:5: codes: code "X1" appears twice',
        'vouchers.csv:5: type: "single" is not one of: unique, shared',
        'vouchers.csv:6: image: "foto.jpg" was not sent with the file',
        "vouchers.csv:7: repeats the row of line 2",
    ]
    with club.app_context():
        assert db.session.scalar(db.select(db.func.count(Voucher.id))) == 0


def test_images_are_checked_from_their_content(club, tmp_path):
    fake = _import(club, tmp_path, _csv(CINEMA.replace(";;;", ";x.jpg;;", 1)),
                   images={"x.jpg": b"<html><script>alert(1)</script></html>"})
    assert fake.errors == ['vouchers.csv:2: image: "x.jpg" is not a JPEG, PNG, GIF or WebP image']
    real = _import(club, tmp_path, _csv(CINEMA.replace(";;;", ";x.jpg;;", 1)),
                   images={"x.jpg": _jpeg()})
    assert real.errors == []
    client = login(club, "maria@example.com")
    response = client.get(f"/vouchers/{_id(club, 'Cine Sol')}/image")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.get_data()[:2] == b"\xff\xd8"  # a JPEG, re-encoded
    response.close()


def test_the_command_imports_with_dry_run_and_reports_problems(club_instance, club_url, runner,
                                                               tmp_path, monkeypatch):
    from runtime.extensions import db

    app = make_app(club_instance, club_url)  # a clean, migrated database
    with app.app_context():
        db.engine.dispose()
    monkeypatch.setenv("PORTAL_DATABASE_URL", club_url)
    good = tmp_path / "lista.csv"
    good.write_text(_csv(CINEMA, SHOP), encoding="utf-8")
    dry = runner.invoke(main, ["vouchers", "import", str(club_instance), str(good), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would change (dry run):" in dry.output and "2 created" in dry.output
    done = runner.invoke(main, ["vouchers", "import", str(club_instance), str(good)])
    assert done.exit_code == 0 and "imported:" in done.output and "3 new" in done.output
    bad = tmp_path / "ruim.csv"
    bad.write_text(_csv(CINEMA.replace(_future(), "30/02/2027")), encoding="utf-8")
    failed = runner.invoke(main, ["vouchers", "import", str(club_instance), str(bad)])
    assert failed.exit_code == 1
    assert ('ruim.csv:2: valid_until: "30/02/2027" is not a date (use 2026-03-31 or 31/12/2026)'
            .replace("31/12/2026", "31/03/2026") in failed.output)
    assert "nothing was imported" in failed.output


# -- clients ----------------------------------------------------------------------------------

def test_clients_browse_open_offers_by_partner_and_category(club, tmp_path):
    past = (_today() - timedelta(days=1)).strftime("%d/%m/%Y")
    later = (_today() + timedelta(days=5)).strftime("%d/%m/%Y")
    _import(club, tmp_path, _csv(CINEMA, SHOP, f"Velho;Expirada;;;Lazer;;;{past};shared;OLD",
                                 f"Novo;Amanhã;;;Lazer;;{later};{_future()};shared;NEW"))
    client = login(club, "maria@example.com")
    html = client.get("/vouchers").get_data(as_text=True)
    assert "Clube Minimal" in html and "2 offers" in html
    assert "2 por 1" in html and "15% off" in html and "Expirada" not in html
    assert "Amanhã" not in html and "3 codes left" in html and "One code for every client" in html
    lazer = client.get("/vouchers?category=Lazer").get_data(as_text=True)
    assert "2 por 1" in lazer and "15% off" not in lazer
    shop = client.get("/vouchers?partner=Loja+Casa").get_data(as_text=True)
    assert "15% off" in shop and "2 por 1" not in shop
    assert client.get(f"/vouchers/{_id(club, 'Velho')}").status_code == 404
    assert client.get("/vouchers/999999").status_code == 404


def test_a_unique_code_is_revealed_once_and_kept(club, tmp_path):
    _import(club, tmp_path, _csv(CINEMA.replace("CS-1 CS-2 CS-3", "CS-1"), SHOP))
    cinema, shop = _id(club, "Cine Sol"), _id(club, "Loja Casa")
    maria, joao = login(club, "maria@example.com"), login(club, "joao@example.com")
    page = maria.get(f"/vouchers/{cinema}").get_data(as_text=True)
    assert "Reveal my code" in page and "1 code left" in page and _code(page) is None
    first = _reveal(maria, cinema)
    assert first.status_code == 302 and first.location.endswith(f"/vouchers/{cinema}#code")
    page = maria.get(f"/vouchers/{cinema}").get_data(as_text=True)
    assert _code(page) == "CS-1" and "Show this code to Cine Sol" in page
    assert _code(_reveal(maria, cinema).get_data(as_text=True)) is None  # a redirect again
    assert _code(maria.get(f"/vouchers/{cinema}").get_data(as_text=True)) == "CS-1"
    # sold out: João no longer sees it; Maria still does, with her code
    assert "2 por 1" not in joao.get("/vouchers").get_data(as_text=True)
    assert "You have a code" in maria.get("/vouchers").get_data(as_text=True)
    refused = _reveal(joao, cinema)
    assert refused.status_code == 409 and "last code of this offer was just taken" in \
        refused.get_data(as_text=True)
    # a shared code is the same for everyone
    _reveal(maria, shop)
    _reveal(joao, shop)
    assert _code(joao.get(f"/vouchers/{shop}").get_data(as_text=True)) == "CASA15"
    # an offer hidden later: the code stays with Maria, others get 404
    from runtime.extensions import db
    from runtime.modules.vouchers.models import Voucher

    with club.app_context():
        db.session.get(Voucher, cinema).active = False
        db.session.commit()
    assert _code(maria.get(f"/vouchers/{cinema}").get_data(as_text=True)) == "CS-1"
    assert joao.get(f"/vouchers/{cinema}").status_code == 404


def test_only_clients_reveal_and_the_form_needs_its_token(club, tmp_path):
    _import(club, tmp_path, _csv(CINEMA))
    cinema = _id(club, "Cine Sol")
    staff = login(club, "staff@example.com")
    page = staff.get(f"/vouchers/{cinema}").get_data(as_text=True)
    assert "Reveal my code" not in page and "Clients see a button here" in page
    assert _reveal(staff, cinema).status_code == 403
    maria = login(club, "maria@example.com")
    assert maria.post(f"/vouchers/{cinema}/reveal").status_code == 400  # no CSRF token
    assert _code(maria.get(f"/vouchers/{cinema}").get_data(as_text=True)) is None


# -- concurrency: PostgreSQL, real requests at the same moment --------------------------------

@pytest.fixture
def pg_club(club_instance, request):
    app = make_app(club_instance, request.getfixturevalue("postgres_url"))
    yield app
    from runtime.extensions import db

    with app.app_context():
        db.engine.dispose()


def _press_together(clients: list, voucher_id: int) -> list:
    """Each client's reveal, sent at the same moment from its own thread; the status codes."""
    from tests.conftest import csrf_token

    tokens = [csrf_token(c.get(f"/vouchers/{voucher_id}").get_data(as_text=True))
              for c in clients]
    barrier, statuses, errors = threading.Barrier(len(clients)), [], []

    def press(client, token):
        try:
            barrier.wait()
            statuses.append(client.post(f"/vouchers/{voucher_id}/reveal",
                                        data={"csrf_token": token}).status_code)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=press, args=pair) for pair in zip(clients, tokens,
                                                                          strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    return statuses


def test_concurrent_clients_never_share_a_unique_code_on_postgresql(pg_club, tmp_path):
    from runtime.extensions import db
    from runtime.modules.vouchers.models import Redemption, VoucherCode

    _import(pg_club, tmp_path, _csv(CINEMA.replace("CS-1 CS-2 CS-3",
                                                   " ".join(f"C{i}" for i in range(5)))))
    cinema = _id(pg_club, "Cine Sol")
    emails = [f"client{i}@example.com" for i in range(12)]
    for email in emails:
        add_user(pg_club, email, name=email.split("@")[0])
    clients = [login(pg_club, e) for e in emails]
    statuses = _press_together(clients, cinema)
    assert sorted(statuses) == [302] * 5 + [409] * 7
    with pg_club.app_context():
        given = db.session.execute(db.select(Redemption.user_id, Redemption.code)).all()
        assert len(given) == 5 and len({c for _, c in given}) == 5 and \
            len({u for u, _ in given}) == 5
        claimed = db.session.scalars(db.select(VoucherCode.code)
                                     .where(VoucherCode.claimed_at.is_not(None))).all()
        assert sorted(claimed) == sorted(c for _, c in given)
    codes = [_code(c.get(f"/vouchers/{cinema}").get_data(as_text=True)) for c in clients]
    assert sorted(c for c in codes if c) == sorted(c for _, c in given)


def test_one_client_pressing_many_times_at_once_gets_one_code_on_postgresql(pg_club, tmp_path):
    from runtime.extensions import db
    from runtime.modules.vouchers.models import Redemption, VoucherCode

    _import(pg_club, tmp_path, _csv(CINEMA))
    cinema = _id(pg_club, "Cine Sol")
    add_user(pg_club, "maria@example.com")
    tabs = [login(pg_club, "maria@example.com") for _ in range(6)]
    assert _press_together(tabs, cinema) == [302] * 6
    with pg_club.app_context():
        assert db.session.scalar(db.select(db.func.count(Redemption.id))) == 1
        assert db.session.scalar(db.select(db.func.count(VoucherCode.id))
                                 .where(VoucherCode.claimed_at.is_not(None))) == 1
    assert len({_code(t.get(f"/vouchers/{cinema}").get_data(as_text=True)) for t in tabs}) == 1


# -- staff ------------------------------------------------------------------------------------

def test_staff_upload_preview_then_import(club):
    staff = login(club, "staff@example.com")
    html = staff.get("/staff/vouchers").get_data(as_text=True)
    assert "No offers yet" in html and "Import vouchers" in html
    form = staff.get("/staff/vouchers/import").get_data(as_text=True)
    from tests.conftest import csrf_token

    content = _csv(CINEMA.replace(";;;", ";cinema.jpg;;", 1), SHOP).encode()
    preview = staff.post("/staff/vouchers/import", data={
        "csrf_token": csrf_token(form),
        "file": (io.BytesIO(content), "lista de março.csv"),
        "images": [(io.BytesIO(_jpeg()), "cinema.jpg")]},
        content_type="multipart/form-data")
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200, page
    assert "The file holds 2 offers" in page and "2 offers to create" in page
    assert "3 new codes" in page and "lista de março.csv" in page
    assert "No offers yet" in staff.get("/staff/vouchers").get_data(as_text=True)  # not yet
    confirm = re.search(r'action="(/staff/vouchers/import/[^"]+)"', page).group(1)
    done = staff.post(confirm, data={"csrf_token": csrf_token(page)})
    assert done.status_code == 302
    listing = staff.get("/staff/vouchers").get_data(as_text=True)
    assert "Vouchers imported" in listing and "2 por 1" in listing and "3 / 3" in listing
    assert staff.post(confirm, data={"csrf_token": csrf_token(page)}).status_code == 302
    # the file is gone once imported: a second confirm imports nothing more
    assert "no longer here" in staff.get("/staff/vouchers/import").get_data(as_text=True)


def test_staff_see_every_problem_and_nothing_is_imported(club):
    from tests.conftest import csrf_token

    staff = login(club, "staff@example.com")
    form = staff.get("/staff/vouchers/import").get_data(as_text=True)
    bad = _csv(CINEMA.replace("unique", "único")).encode()
    response = staff.post("/staff/vouchers/import", data={
        "csrf_token": csrf_token(form), "file": (io.BytesIO(bad), "lista.csv")},
        content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "lista.csv:2: type: &#34;único&#34; is not one of: unique, shared" in page
    assert "nothing was imported" in page and "Import 1 offer" not in page
    wrong = staff.post("/staff/vouchers/import", data={
        "csrf_token": csrf_token(form), "file": (io.BytesIO(b"x"), "lista.xlsx")},
        content_type="multipart/form-data")
    assert wrong.status_code == 400 and "Send the list as a .csv or .json file." in \
        wrong.get_data(as_text=True)
    empty = staff.post("/staff/vouchers/import", data={"csrf_token": csrf_token(form)},
                       content_type="multipart/form-data")
    assert empty.status_code == 400 and "Choose the CSV or JSON file of the vouchers." in \
        empty.get_data(as_text=True)
    assert login(club, "maria@example.com").get("/staff/vouchers").status_code == 403


def test_staff_see_redemptions_and_export_them_without_formulas(club, tmp_path):
    _import(club, tmp_path, _csv(CINEMA, SHOP))
    with club.app_context():
        from runtime.extensions import db
        from runtime.models import User

        db.session.scalar(db.select(User).where(User.email == "joao@example.com")).name = \
            "=HYPERLINK(\"http://evil\")"
        db.session.commit()
    cinema = _id(club, "Cine Sol")
    _reveal(login(club, "maria@example.com"), cinema)
    _reveal(login(club, "joao@example.com"), cinema)
    staff = login(club, "staff@example.com")
    offer = staff.get(f"/staff/vouchers/{cinema}").get_data(as_text=True)
    assert "1 / 3" in offer and "Maria Souza" in offer and "What clients see" in offer
    listing = staff.get(f"/staff/vouchers/redemptions?voucher={cinema}").get_data(as_text=True)
    assert "2 codes revealed" in listing and "CS-1" in listing and "CS-2" in listing
    assert "Maria Souza" in staff.get("/staff/vouchers/redemptions?q=maria").get_data(
        as_text=True)
    bad_date = staff.get("/staff/vouchers/redemptions?start=31/02/2026")
    assert bad_date.status_code == 200 and "is-invalid" in bad_date.get_data(as_text=True)
    export = staff.get(f"/staff/vouchers/redemptions.csv?voucher={cinema}")
    assert export.mimetype == "text/csv" and "attachment" in export.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff")),
                           delimiter=","))
    assert rows[0][:3] == ["Revealed at", "Partner", "Offer"] and len(rows) == 3
    names = {r[6] for r in rows[1:]}
    assert names == {"Maria Souza", "'=HYPERLINK(\"http://evil\")"}
    # hide an offer from the console
    from tests.conftest import csrf_token

    staff.post(f"/staff/vouchers/{cinema}/toggle", data={"csrf_token": csrf_token(offer)})
    assert "Hidden" in staff.get("/staff/vouchers").get_data(as_text=True)
    assert login(club, "joao@example.com").get(f"/vouchers/{cinema}").status_code == 200  # his


def test_the_home_card_and_the_staff_link(club):
    assert "Clube Minimal" in login(club, "maria@example.com").get("/").get_data(as_text=True)
    overview = login(club, "staff@example.com").get("/staff/vouchers").get_data(as_text=True)
    assert 'href="/staff/vouchers"' in overview and "Benefits club" in overview


# -- 10,000 vouchers: every page within 8 statements ---------------------------------------

def test_pages_stay_within_8_statements_at_10000_vouchers(club):
    from runtime.extensions import db
    from runtime.models import User
    from runtime.modules.vouchers.models import Redemption, Voucher, VoucherCode

    with club.app_context():
        until = _today() + timedelta(days=30)
        db.session.execute(db.insert(Voucher), [
            {"partner": f"Parceiro {i % 50}", "title": f"Oferta {i}", "description": "",
             "rules": "", "category": ("Casa", "Lazer")[i % 2], "valid_until": until,
             "kind": "unique" if i % 3 else "shared", "shared_code": None if i % 3 else "X",
             "active": True} for i in range(10_000)])
        ids = db.session.scalars(db.select(Voucher.id).order_by(Voucher.id).limit(2000)).all()
        db.session.execute(db.insert(VoucherCode), [{"voucher_id": v, "code": f"K{v}-{n}"}
                                                    for v in ids for n in range(5)])
        maria = db.session.scalar(db.select(User.id).where(User.email == "maria@example.com"))
        db.session.execute(db.insert(Redemption), [
            {"voucher_id": v, "user_id": maria, "code": "X",
             "redeemed_at": _today()} for v in ids[:300]])
        db.session.commit()
        engine = db.engine
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        if not is_session_lookup(statement):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        first = ids[1]
        for who, pages in (("maria@example.com", ["/vouchers", "/vouchers?page=40",
                                                  "/vouchers?category=Lazer&partner=Parceiro+3",
                                                  f"/vouchers/{first}", "/"]),
                           ("staff@example.com", ["/staff/vouchers", "/staff/vouchers?page=300",
                                                  "/staff/vouchers?q=oferta+99",
                                                  f"/staff/vouchers/{first}",
                                                  "/staff/vouchers/redemptions",
                                                  f"/staff/vouchers/redemptions?voucher={first}"])):
            client = login(club, who)
            for page in pages:
                statements.clear()
                response = client.get(page)
                assert response.status_code == 200, page
                assert len(statements) <= 8, (page, len(statements), statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_every_control_of_the_club_has_a_name_and_staff_screens_their_own_title(club, tmp_path):
    from tests.test_a11y import _Page, nameless_controls

    _import(club, tmp_path, _csv(CINEMA, SHOP))
    cinema = _id(club, "Cine Sol")
    maria = login(club, "maria@example.com")
    _reveal(maria, _id(club, "Loja Casa"))
    staff = login(club, "staff@example.com")
    titles = {}
    for who, url in ((maria, "/vouchers"), (maria, f"/vouchers/{cinema}"),
                     (maria, f"/vouchers/{_id(club, 'Loja Casa')}"),
                     (staff, "/staff/vouchers"), (staff, f"/staff/vouchers/{cinema}"),
                     (staff, "/staff/vouchers/import"), (staff, "/staff/vouchers/redemptions")):
        response = who.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        assert nameless_controls(html) == [], url
        page = _Page(html)
        assert len(page.find("h1")) == 1, url
        if url.startswith("/staff"):
            (title,) = page.find("title")
            titles[url] = " ".join(title.text.split())
    assert len(set(titles.values())) == len(titles), titles


def test_a_json_list_imports_like_the_csv(club, tmp_path):
    import json

    rows = [{"partner": "Cine Sol", "title": "2 por 1", "valid_until": _future(),
             "type": "unique", "codes": "J1\nJ2"},
            {"partner": "Loja Casa", "title": "15% off", "category": "Casa",
             "valid_until": _future(), "type": "shared", "codes": 1510}]
    result = _import(club, tmp_path, json.dumps(rows), name="vouchers.json")
    assert result.errors == [] and (result.count("create"), result.new_codes) == (2, 2)
    bad = _import(club, tmp_path, json.dumps([{**rows[0], "codes": ["J1"]}]),
                  name="vouchers.json")
    assert bad.errors == ["vouchers.json:1: codes: expected text or a number, got a list"]
