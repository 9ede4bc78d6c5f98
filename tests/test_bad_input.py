"""Bad input answers 4xx, never 500: huge ids and pages, NUL, dates, numbers, ERP files."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from cli import main
from generator.build import build
from tests.conftest import ROOT, add_user, csrf_token, login, make_app, submit

HUGE = 99999999999999999999  # past 64 bits
# past 64 bits, past a PostgreSQL INTEGER, zero: no id can be any of these
NO_IDS = (HUGE, 2**63, 2**31, 0)
NUMERIC_ARGS = ("page", "unit", "category", "actor")
ERP = ROOT / "tenants" / "aurora" / "erp"


# -- apps ----------------------------------------------------------------------------------

TENANTS = {"minimal": ROOT / "tests/fixtures/tenants/minimal/tenant.yaml",
           "desk": ROOT / "tests/fixtures/tenants/desk/tenant.yaml",
           "aurora": ROOT / "tenants/aurora/tenant.yaml"}  # every module, every kind of id


def _app(request, tmp_path, tenant: str, database: str):
    instance = build(str(TENANTS[tenant]), tmp_path / tenant).instance
    url = (f"sqlite:///{instance / 'data' / 'portal.db'}" if database == "sqlite"
           else request.getfixturevalue("postgres_url"))
    application = make_app(instance, url)
    request.addfinalizer(lambda: _dispose(application))
    return application


def _dispose(application) -> None:
    from runtime.extensions import db

    with application.app_context():
        db.engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def aurora_app(request, tmp_path):
    return _people(_app(request, tmp_path, "aurora", request.param))


@pytest.fixture(params=[(t, d) for t in TENANTS for d in ("sqlite", "postgresql")],
                ids=lambda p: "-".join(p))
def portal(request, tmp_path):
    """Each test tenant on each database, with a client and an admin who can log in."""
    return _people(_app(request, tmp_path, *request.param))


def _people(app):
    """A client and an admin who can log in (see _as)."""
    add_user(app, "client@example.com", name="Clara Client")
    add_user(app, "admin@example.com", role="admin", name="Ada Admin")
    return app


def _as(app, who: str):
    return login(app, f"{who}@example.com")


def _path(rule, value: int) -> str:
    """The rule's path with every int argument set to `value` and others to a plain word."""
    def fill(match: re.Match) -> str:
        converter, args = match.group(1) or "default", match.group(2) or ""
        if converter == "int":
            return str(value)
        if converter == "any":
            return args.strip("()").split(",")[0].strip()
        return "x"

    return re.sub(r"<(?:(\w+)(\([^)]*\))?:)?\w+>", fill, rule.rule)


def _int_rules(app) -> list:
    return [r for r in app.url_map.iter_rules() if "<int:" in r.rule]


def _call(client, method: str, path: str):
    return client.open(path, method=method, data={} if method == "POST" else None)


# -- ids and pages ---------------------------------------------------------------------------

def test_the_walk_covers_the_routes_the_issue_names(aurora_app):
    rules = {r.rule for r in _int_rules(aurora_app)}
    assert {"/documents/<int:document_id>", "/notices/<int:notice_id>",
            "/construction/photos/<int:photo_id>/<any(thumb, full):size>",
            "/staff/clients/<int:user_id>"} <= rules


@pytest.mark.parametrize("who", ["client", "admin"])
def test_every_int_route_answers_404_for_an_id_no_row_can_have(portal, who):
    client = _as(portal, who)
    portal.config["WTF_CSRF_ENABLED"] = False  # reach the views, not the CSRF check
    rules = _int_rules(portal)
    assert rules
    for rule in rules:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for value in NO_IDS:
                path = _path(rule, value)
                assert _call(client, method, path).status_code == 404, (method, path)
            # the largest id a row can have reaches the view, which finds nothing
            path = _path(rule, 2**31 - 1)
            assert _call(client, method, path).status_code < 500, (method, path)


@pytest.mark.parametrize("who", ["client", "admin"])
def test_every_page_answers_4xx_for_numbers_past_64_bits(portal, who):
    client = _as(portal, who)
    lists = [r.rule for r in portal.url_map.iter_rules()
             if "GET" in r.methods and not r.arguments and not r.rule.startswith("/static")
             and not r.rule.endswith("/logout")]
    for path in lists:
        for name in NUMERIC_ARGS:
            status = client.get(f"{path}?{name}={HUGE}").status_code
            assert status < 500, (path, name)
            assert client.get(f"{path}?{name}=１２").status_code < 500, (path, name)
        assert client.get(f"{path}?q=a%00b").status_code < 500, path


@pytest.mark.parametrize("path", ["/notices", "/staff/notices", "/staff/clients"])
def test_a_page_number_past_the_last_possible_page_is_404(app, path):
    _people(app)
    client = _as(app, "admin")
    assert client.get(f"{path}?page={HUGE}").status_code == 404
    assert client.get(f"{path}?page={2**62}").status_code == 404  # its OFFSET is past 64 bits
    assert client.get(f"{path}?page=0").status_code == 404
    assert client.get(f"{path}?page=two").status_code == 400
    assert "could not be understood" in client.get(f"{path}?page=-1").get_data(as_text=True)
    assert client.get(f"{path}?page=1000").status_code == 200  # an empty page, as before


@pytest.mark.parametrize("path", ["/tickets", "/staff/tickets"])
def test_ticket_lists_refuse_huge_pages(desk_app, path):
    _people(desk_app)
    client = _as(desk_app, "admin" if path.startswith("/staff") else "client")
    assert client.get(f"{path}?page={HUGE}").status_code == 404
    assert client.get(f"{path}?page=2").status_code == 200


def test_huge_ids_in_query_and_form_arguments(aurora_app):
    client, admin = _as(aurora_app, "client"), _as(aurora_app, "admin")
    assert client.get(f"/documents?category={HUGE}").status_code == 404
    assert client.get("/documents?category=abc").status_code == 400
    assert client.get("/documents?category=").status_code == 200
    page = admin.get("/staff/documents").get_data(as_text=True)
    response = admin.post("/staff/documents/categories",
                          data={"toggle": str(HUGE), "csrf_token": csrf_token(page)})
    assert response.status_code == 404
    assert admin.get(f"/staff/audit?actor={2**31}").status_code == 404
    assert admin.get("/staff/audit?actor=1").status_code == 200
    retry = submit(admin, "/staff/outbox/retry", {"id": str(2**31)}, page="/staff/outbox")
    assert retry.status_code == 400


# -- NUL ---------------------------------------------------------------------------------------

def test_nul_is_dropped_from_text_and_search_boxes(desk_app):
    from runtime.extensions import db
    from runtime.modules.tickets.models import Ticket

    _people(desk_app)
    client = login(desk_app, "client@example.com\x00")  # the identifier loses its NUL
    response = submit(client, "/contact/repairs/leak",
                      {"f_room": "Kitchen", "description": "Water\x00 under the sink",
                       "f_notes": "\x00", "f_ref": "R\x00-1"},
                      content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    protocol = response.location.rsplit("/", 1)[1]
    reply = submit(client, f"/tickets/{protocol}/reply", {"body": "Still\x00 wet"},
                   page=f"/tickets/{protocol}")
    assert reply.status_code == 302
    with desk_app.app_context():
        ticket = db.session.scalar(db.select(Ticket).where(Ticket.protocol == protocol))
        assert ticket.description == "Water under the sink"
        assert {a["id"]: a["value"] for a in ticket.answers}["ref"] == "R-1"
    for path in ("/tickets?q=Wat%00er", f"/tickets/{protocol}?q=%00"):
        assert client.get(path).status_code == 200
    assert protocol in client.get("/tickets?q=Wat%00er").get_data(as_text=True)
    assert client.get(f"/tickets/{protocol}%00").status_code == 404
    admin = _as(desk_app, "admin")
    for path in ("/staff/tickets?q=%00", "/staff/clients?q=Cla%00ra",
                 "/staff/tickets?division=%00&status=%00&assignee=%00"):
        assert admin.get(path).status_code == 200, path
    assert "Clara Client" in admin.get("/staff/clients?q=Cla%00ra").get_data(as_text=True)
    assert admin.get(f"/staff/tickets/{protocol}%00").status_code == 404


def test_nul_is_dropped_from_every_value_of_a_name(sqlite_app):
    from flask import request

    from runtime.inputs import _clean_request

    with sqlite_app.test_request_context("/x?q=a&q=b%00c", method="POST",
                                         data={"developments": ["1", "2\x00"]}):
        _clean_request()
        assert request.args.getlist("q") == ["a", "bc"]
        assert request.form.getlist("developments") == ["1", "2"]
        assert request.values.getlist("q") == ["a", "bc"]


def test_nul_in_profile_and_forgot(desk_app):
    from runtime.extensions import db
    from runtime.modules.tickets.models import Ticket

    _people(desk_app)
    anonymous = desk_app.test_client()
    response = submit(anonymous, "/forgot", {"identifier": "client@example.com\x00"})
    assert response.status_code == 302
    client = login(desk_app, "client@example.com")
    response = submit(client, "/profile", {"email": "clara\x00@example.com",
                                           "phone": "+55 11 9\x008888-7777",
                                           "address": "Rua\x00 A, 1"})
    assert response.status_code == 302, response.get_data(as_text=True)
    with desk_app.app_context():
        ticket = db.session.scalar(db.select(Ticket))
        assert "\x00" not in json.dumps(ticket.answers)
        assert "Rua A, 1" in ticket.description


def test_a_password_with_nul_is_refused_not_changed(desk_app):
    from flask import url_for

    from runtime.auth.tokens import make_token
    from runtime.extensions import db
    from runtime.models import User

    _people(desk_app)
    with desk_app.test_request_context():
        user = db.session.scalar(db.select(User).where(User.email == "client@example.com"))
        link = url_for("auth.reset", token=make_token(user, "reset"))
    anonymous = desk_app.test_client()
    response = submit(anonymous, link, {"password": "new-secret\x00pass", "confirm":
                                        "new-secret\x00pass"})
    assert response.status_code != 302
    assert "The password contains a character that cannot be used" in \
        response.get_data(as_text=True)
    assert login(desk_app, "client@example.com")  # the old password still works
    response = submit(anonymous, "/login", {"identifier": "client@example.com",
                                            "password": "correct-horse-battery\x00",
                                            "kind": "client"})
    assert response.status_code != 302  # not logged in with the password minus its NUL
    assert "The password contains a character that cannot be used" in \
        response.get_data(as_text=True)


# -- dates -----------------------------------------------------------------------------------

NOTICE = {"title": "Water cut", "summary": "On Monday", "content": "", "active": "y"}


@pytest.mark.parametrize("value,message", [
    ("9999-12-31T23:59", "Enter a date between the years 1900 and 2999."),
    ("0001-01-01T00:00", "Enter a date between the years 1900 and 2999."),
    ("2026-02-31T10:00", "Not a valid datetime value."),
])
def test_notice_dates_out_of_the_calendar_are_field_errors(app, value, message):
    _people(app)
    admin = _as(app, "admin")
    for data in ({"publish_from": value}, {"publish_from": "2026-01-01T10:00",
                                           "publish_until": value}):
        response = submit(admin, "/staff/notices/new", {**NOTICE, **data},
                          content_type="multipart/form-data")
        assert response.status_code == 400
        assert message in response.get_data(as_text=True)
    empty_until = submit(admin, "/staff/notices/new",
                         {**NOTICE, "publish_from": "2026-01-01T10:00", "publish_until": ""},
                         content_type="multipart/form-data")
    assert empty_until.status_code == 302  # an empty optional date is still no date


@pytest.mark.parametrize("start,end", [("0001-01-01", "9999-12-31"), ("2026-01-01", "9999-12-31"),
                                       ("0001-01-01", "2026-01-01"), ("2026-02-30", "2026-03-01")])
def test_export_periods_out_of_the_calendar_are_refused(desk_app, start, end):
    _people(desk_app)
    admin = _as(desk_app, "admin")
    response = admin.get(f"/staff/tickets/export.csv?start={start}&end={end}")
    assert response.status_code == 302  # back to the dashboard, with the reason
    assert "Choose a valid period to export." in admin.get(response.location).get_data(
        as_text=True)
    ok = admin.get("/staff/tickets/export.csv?start=1900-01-01&end=2999-12-31")
    assert ok.status_code == 200 and ok.mimetype == "text/csv"


def test_request_form_date_field_out_of_the_calendar(desk_app):
    _people(desk_app)
    client = _as(desk_app, "client")
    for value in ("9999-12-31", "0001-01-01"):
        response = submit(client, "/contact/repairs/leak",
                          {"f_room": "Kitchen", "description": "Water", "f_since": value},
                          content_type="multipart/form-data")
        assert response.status_code == 400
        assert "Enter a date between the years 1900 and 2999." in response.get_data(as_text=True)


def test_staff_property_dates_and_numbers_out_of_range(aurora_app):
    """The demo tenant speaks pt-BR: the messages come translated."""
    from runtime.erp import importer
    from runtime.erp.models import Development
    from runtime.extensions import db

    with aurora_app.app_context():
        assert importer.run(ERP).errors == []
        development = db.session.scalar(db.select(Development.id).limit(1))
    admin = _as(aurora_app, "admin")
    page = f"/staff/developments/{development}"
    cases = [(page, {"delivery_forecast": "9999-12-31"},
              "Informe uma data entre os anos 1900 e 2999."),
             (f"{page}/updates/new", {"reported_on": "0001-01-01", "overall": "5"},
              "Informe uma data entre os anos 1900 e 2999."),
             (f"{page}/updates/new", {"reported_on": "2026-01-01", "overall": str(HUGE)},
              "Este número está fora do intervalo permitido."),
             (f"{page}/updates/new", {"reported_on": "2026-01-01", "overall": "5",
                                      "phase_name_0": "Estrutura", "phase_percent_0": "²"},
              "Cada etapa precisa de um nome e de uma porcentagem de 0 a 100.")]
    for url, data, message in cases:
        response = submit(admin, url, data, content_type="multipart/form-data")
        assert response.status_code == 400, url
        assert message in response.get_data(as_text=True), (url, data)


# -- numbers ---------------------------------------------------------------------------------

@pytest.mark.parametrize("value,message", [
    ("sNaN", "Enter a number."), ("NaN", "Enter a number."), ("-Infinity", "Enter a number."),
    ("Infinity", "Enter a number."), ("1e50000000", "This number is out of range."),
    ("1e-50000000", "This number is out of range."),
    ("abc", "Not a valid decimal value."),
])
def test_number_fields_refuse_what_is_not_a_number(desk_app, value, message):
    _people(desk_app)
    client = _as(desk_app, "client")
    response = submit(client, "/contact/repairs/leak",
                      {"f_room": "Kitchen", "description": "Water", "f_size": value},
                      content_type="multipart/form-data")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    # a required number field too (min 1, max 120), on the finance module's form
    response = submit(client, "/finance/renegotiation",
                      {"description": "Please", "f_instalments": value},
                      content_type="multipart/form-data")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_a_number_in_range_is_kept(desk_app):
    _people(desk_app)
    client = _as(desk_app, "client")
    response = submit(client, "/contact/repairs/leak",
                      {"f_room": "Kitchen", "description": "Water", "f_size": "12.5",
                       "f_since": "", "f_notes": ""}, content_type="multipart/form-data")
    assert response.status_code == 302  # empty optional dates and numbers stay optional
    response = submit(client, "/contact/repairs/leak",
                      {"f_room": "Kitchen", "description": "Water", "f_size": "",
                       "f_since": "1900-01-01"}, content_type="multipart/form-data")
    assert response.status_code == 302


# -- forms, JSON and the error page --------------------------------------------------------------

def test_every_form_derives_from_the_portal_form(aurora_app, desk_app):
    from flask_wtf import FlaskForm

    from runtime.inputs import PortalForm

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    forms = [c for c in subclasses(FlaskForm) if c.__module__.startswith("runtime.")]
    assert len(forms) > 10
    assert [c for c in forms if not issubclass(c, PortalForm)] == []


def test_a_json_body_is_not_form_data(desk_app):
    from runtime.extensions import db
    from runtime.modules.tickets.models import Ticket

    _people(desk_app)
    client = _as(desk_app, "client")
    html = client.get("/profile").get_data(as_text=True)
    response = client.post("/profile", json={"email": {"a": 1}, "phone": [1], "address": 5},
                           headers={"X-CSRFToken": csrf_token(html)})
    assert response.status_code == 302  # "nothing changed": the form kept the stored values
    response = client.post("/contact/repairs/leak", json=["a", 1],
                           headers={"X-CSRFToken": csrf_token(html)})
    assert response.status_code == 400  # "this field is required", not a TypeError
    with desk_app.app_context():
        assert db.session.scalar(db.select(db.func.count(Ticket.id))) == 0


def test_an_unexpected_error_renders_the_portal_error_page(app):
    from sqlalchemy import text

    from runtime.extensions import db

    def broken():
        # a database error leaves the transaction failed on PostgreSQL: the page still renders
        db.session.execute(text("SELECT * FROM no_such_table"))
        return "unreachable"

    app.add_url_rule("/broken", "broken", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    _people(app)
    client = _as(app, "client")
    response = client.get("/broken")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Something went wrong on our side" in html and "Go to the start page" in html


# -- the ERP import --------------------------------------------------------------------------

@pytest.fixture
def instance_for_import(migrated_instance):
    return migrated_instance


def _erp(tmp_path) -> Path:
    folder = tmp_path / "erp"
    shutil.copytree(ERP, folder)
    return folder


def _import_refused(runner, instance, folder) -> list[str]:
    """Run `portal import`; check it refused everything; return its messages."""
    result = runner.invoke(main, ["import", str(instance), str(folder)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and result.exception is None or \
        isinstance(result.exception, SystemExit)
    assert "nothing was imported" in result.output
    from runtime import create_app
    from runtime.extensions import db
    from runtime.models import User

    app = create_app(instance)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(User.id))) == 0
        db.session.remove()
        db.engine.dispose()
    return [line for line in result.output.splitlines() if ".csv:" in line or ".json:" in line]


def _write_json(folder: Path, name: str, text: str) -> None:
    (folder / f"{name}.csv").unlink(missing_ok=True)
    (folder / f"{name}.json").write_text(text, encoding="utf-8")


def test_a_csv_cell_past_the_csv_field_limit_names_its_column(runner, instance_for_import,
                                                              tmp_path):
    folder = _erp(tmp_path)
    text = (folder / "customers.csv").read_text()
    (folder / "customers.csv").write_text(text.replace("Rua das Acácias, 120",
                                                       "Rua " + "x" * 200_000, 1))
    lines = _import_refused(runner, instance_for_import, folder)
    assert lines == ["customers.csv:2: address: longer than 131072 characters (is a quotation "
                     "mark left open?)"]


def test_a_quotation_mark_left_open_is_found(runner, instance_for_import, tmp_path):
    folder = _erp(tmp_path)
    lines = (folder / "customers.csv").read_text().splitlines()
    lines[2] = lines[2].replace(";", ';"', 1)  # opens a quote that never closes
    (folder / "customers.csv").write_text("\n".join(lines + ["x" * 140_000]) + "\n")
    messages = _import_refused(runner, instance_for_import, folder)
    assert any(m.startswith("customers.csv:3: name: longer than 131072 characters") or
               m.startswith("customers.csv:3: has ") for m in messages), messages


def test_deeply_nested_json(runner, instance_for_import, tmp_path):
    folder = _erp(tmp_path)
    _write_json(folder, "customers", '[{"id": "C-1",\n "name": ' + "[" * 100_000
                + "]" * 100_000 + "}]")
    assert _import_refused(runner, instance_for_import, folder)[0] == \
        "customers.json:2: nested more than 16 levels deep"


@pytest.mark.parametrize("name,content,expected", [
    ("customers.csv", "id;name\nC-1;Ana\x00 Lima\n", "customers.csv:2: name: contains a NUL "
     "character"),
    ("customers.csv", "\ufeffid;name\nC-1;Ana\n".encode("utf-16"),
     "customers.csv:1: contains NUL characters: is it UTF-16 or not a CSV file? Save it as CSV "
     "in UTF-8"),
    ("customers.json", '[{"id": "C-1", "name": "Ana\\u0000"}]',
     "customers.json:1: name: contains a NUL character"),
    ("customers.json", '[{"id": {"a": 1}, "name": "Ana"}]',
     "customers.json:1: id: expected text or a number, got an object"),
    ("customers.json", '[{"id": ["C-1"], "name": "Ana"}]',
     "customers.json:1: id: expected text or a number, got a list"),
    ("customers.json", '[{"id": true, "name": "Ana"}]',
     "customers.json:1: id: expected text or a number, got true"),
    ("units.json", '[{"id": "U1", "development_id": "JAR", "code": "1", "area": NaN}]',
     "units.json:1: area: NaN is not a number"),
    ("units.json", '[{"id": "U1", "development_id": "JAR", "code": "1", "area": 1e50000000}]',
     'units.json:1: area: "1e50000000" is too large'),
    ("units.json", '[{"id": "U1", "development_id": "JAR", "code": "1", "area": "sNaN"}]',
     'units.json:1: area: "sNaN" is not a number'),
    ("contracts.json", '[{"id": "K1", "number": "1", "unit_id": "JAR-A-101", '
     '"parties": [{"customer_id": {"a": 1}, "role": "holder"}]}]',
     "contracts.json:1: parties: expected text or a number, got an object"),
    ("contracts.json", '[{"id": "K1", "number": "1", "unit_id": "JAR-A-101", "parties": "C-1"}]',
     "contracts.json:1: parties: expected a list of objects with customer_id and role"),
    ("customers.json", '{"id": "C-1"}',
     "customers.json:1: expected a JSON list of objects, not one object"),
    ("customers.json", '[{"id": "C-1", "name": "Ana"}, 5]',
     "customers.json:1: expected a JSON list of objects: item 2 is a number"),
    ("customers.json", '"customers"', "customers.json:1: expected a JSON list of objects, not "
     "text"),
    ("customers.json", '[{"id": "C-1", "name": "Jos\xe9"}]'.encode() + b'\n\xe9',
     "customers.json:2: not valid UTF-8 (byte 0xe9), although the rest of the file is: save it "
     "again as UTF-8"),
    ("customers.csv", "id;name\nC-1;José\nC-2;".encode() + "Conceição\n".encode("latin-1"),
     "customers.csv:3: not valid UTF-8 (byte 0xe7), although the rest of the file is: save it "
     "again as UTF-8"),
    ("developments.csv", "id;name;delivery_forecast\nD1;Ipê;9999-12-31\n",
     'developments.csv:2: delivery_forecast: "9999-12-31" is outside the years 1900 to 2999'),
])
def test_unreadable_erp_files_are_named_and_nothing_is_imported(runner, instance_for_import,
                                                               tmp_path, name, content,
                                                               expected):
    folder = tmp_path / "erp"
    folder.mkdir()
    target = folder / name
    if isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content, encoding="utf-8")
    if not name.startswith("customers"):  # something valid beside, that must not be written
        (folder / "customers.csv").write_text("id;name\nC-1;Ana Lima\n", encoding="utf-8")
    messages = _import_refused(runner, instance_for_import, folder)
    assert expected in messages, messages


def test_numbers_for_ids_are_their_digits(runner, instance_for_import, tmp_path):
    folder = tmp_path / "erp"
    folder.mkdir()
    _write_json(folder, "customers", '[{"id": 10000000000000000000001, "name": "Ana"}]')
    result = runner.invoke(main, ["import", str(instance_for_import), str(folder)])
    assert result.exit_code == 0, result.output
    from runtime import create_app
    from runtime.extensions import db
    from runtime.models import User

    app = create_app(instance_for_import)
    with app.app_context():
        assert db.session.scalar(db.select(User.erp_id)) == "10000000000000000000001"
        db.session.remove()
        db.engine.dispose()
