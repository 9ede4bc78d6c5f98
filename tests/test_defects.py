"""Product defects found in review (issue 7, section 7): each test failed before its fix."""

from __future__ import annotations

import json
import re
import shlex
import shutil

import pytest

from cli import main
from tests.conftest import ROOT, add_user, import_estate, login, submit

# -- 10. the repository is complete on its own ---------------------------------------------

def test_the_test_suite_reads_nothing_outside_the_repository():
    outside = re.compile(r"""ROOT\.parent|\.\./shared|/\s*["']shared["']|["']shared["']\s*/""")
    offenders = [f"{path.name}:{number}" for path in sorted((ROOT / "tests").glob("*.py"))
                 for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if outside.search(line) and "outside = re.compile" not in line]
    assert offenders == []
    assert (ROOT / "tests" / "fixtures" / "reference" / "tenant-reference.yaml").is_file()


# -- 4. a command on a fresh build migrates the database first ------------------------------

@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database(request, monkeypatch) -> str:
    """The database a fresh build's CLI commands use: nothing created in it yet."""
    if request.param == "sqlite":
        return "sqlite"
    import sqlalchemy

    url = request.getfixturevalue("postgres_url")
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    monkeypatch.setenv("PORTAL_DATABASE_URL", url)
    return url


def test_users_add_on_a_fresh_build_migrates_first(runner, tenant_file, tmp_path,
                                                   fresh_database):
    built = runner.invoke(main, ["build", str(tenant_file), "--out", str(tmp_path / "out")])
    assert built.exit_code == 0, built.output
    instance = tmp_path / "out" / "minimal"
    result = runner.invoke(main, ["users", "add", str(instance), "--email", "ana@x.com",
                                  "--password", "long-enough-pw", "--name", "Ana",
                                  "--role", "admin"])
    assert result.exit_code == 0, result.output
    assert "created admin ana@x.com" in result.output
    invited = runner.invoke(main, ["users", "invite", str(instance), "--all-new"])
    assert invited.exit_code == 0, invited.output


def test_build_prints_the_next_steps_with_the_instance_path(runner, tenant_file, tmp_path):
    result = runner.invoke(main, ["build", str(tenant_file), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    instance = tmp_path / "out" / "minimal"
    lines = result.output.splitlines()
    steps = lines[lines.index("next steps:") + 1:]
    assert [s.split()[:3] for s in steps] == [["portal", "db", "upgrade"],
                                              ["portal", "users", "add"],
                                              ["portal", "serve", str(instance)]]
    assert all(str(instance) in s for s in steps)
    for step in steps[:2]:  # the steps work as printed
        args = shlex.split(step)[1:]
        assert runner.invoke(main, args).exit_code == 0


# -- 11. every module and switch of the schema is served, or marked as planned ---------------

def _schema_section(name: str) -> dict[str, dict]:
    from generator.schema import load_schema

    return load_schema()["properties"][name]["properties"]


def test_every_schema_module_has_a_runtime_module_or_is_marked_planned():
    from runtime.modules import _registry

    registered = set(_registry())
    modules = _schema_section("modules")
    planned = {name for name, sub in modules.items() if sub.get("x-planned")}
    # a module whose screens arrive must lose its mark (or it would warn for nothing)
    assert planned & registered == set()
    assert sorted(set(modules) - planned - registered) == []
    assert planned <= {"scheduling"}  # survey has screens since issue 11


def test_every_feature_switch_is_read_by_the_runtime_or_marked_planned():
    sources = "\n".join(p.read_text(encoding="utf-8") for folder in ("runtime", "themes")
                        for p in (ROOT / folder).rglob("*") if p.suffix in (".py", ".html"))

    def read(name: str) -> bool:  # portal["features"]["x"] in Python, features.x in templates
        return re.search(rf'features"\]\s*\[\s*"{name}"\s*\]|features\.{name}\b',
                         sources) is not None

    features = _schema_section("features")
    assert [n for n, sub in features.items() if not sub.get("x-planned") and not read(n)] == []
    assert [n for n, sub in features.items() if sub.get("x-planned") and read(n)] == []
    # refer_a_friend and address_confirmation have screens since issue 11
    assert {n for n, sub in features.items() if sub.get("x-planned")} == set()


# -- an imported estate: the demo tenant with its ERP sample --------------------------------

ERP = ROOT / "tenants" / "aurora" / "erp"


@pytest.fixture(params=["sqlite", "postgresql"])
def estate(request, tmp_path):
    """The demo tenant, its ERP sample imported, passwords set, one staff and one admin."""
    from generator.build import build
    from runtime.extensions import db

    instance = build(str(ROOT / "tenants/aurora/tenant.yaml"), tmp_path / "b").instance
    url = (f"sqlite:///{instance / 'data' / 'portal.db'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres_url"))
    app = import_estate(instance, url)
    add_user(app, "staff@example.com", role="staff", name="Sam Staff")
    add_user(app, "admin@example.com", role="admin", name="Ada Admin")
    yield app
    with app.app_context():
        db.engine.dispose()


def _user_id(app, **where) -> int:
    from runtime.extensions import db
    from runtime.models import User

    with app.app_context():
        [(column, value)] = where.items()
        return db.session.scalar(db.select(User.id).where(getattr(User, column) == value))


# -- 1. a first-access link for a customer without e-mail -----------------------------------

def test_a_link_for_a_client_without_email_is_explained_and_an_email_can_be_added(estate):
    from runtime.extensions import db
    from runtime.models import OutboxMessage, User

    carla = _user_id(estate, erp_id="C-0005")  # imported without an e-mail
    staff = login(estate, "staff@example.com")
    page = f"/staff/clients/{carla}"
    html = staff.get(page).get_data(as_text=True)
    assert "não tem endereço de e-mail" in html and "Salvar e enviar o link" in html
    refused = submit(staff, f"{page}/invite", {}, page=page, follow_redirects=True)
    assert refused.status_code == 200
    assert "Carla Dias não tem endereço de e-mail" in refused.get_data(as_text=True)
    bad = submit(staff, f"{page}/email", {"access-email": "carla@"}, page=page)
    assert bad.status_code == 400 and "Email inválido." in bad.get_data(as_text=True)
    clash = submit(staff, f"{page}/email", {"access-email": "Maria.Souza@example.com"}, page=page)
    assert clash.status_code == 400
    assert "Outra conta usa este e-mail." in clash.get_data(as_text=True)
    done = submit(staff, f"{page}/email", {"access-email": " Carla@Example.com "}, page=page)
    assert done.status_code == 302
    with estate.app_context():
        assert db.session.get(User, carla).email == "carla@example.com"
        recipients = db.session.scalars(db.select(OutboxMessage.recipient)).all()
    assert recipients == ["carla@example.com"]


# -- 3. changes made in the portal survive ERP imports until the ERP has them ----------------

def _import(app, folder) -> dict:
    from runtime.erp import importer

    with app.app_context():
        report = importer.run(folder)
    assert report.errors == []
    return report.counts["customers"]


def _apply_profile_change(app, email: str, data: dict) -> None:
    from runtime.extensions import db
    from runtime.modules.tickets.models import Ticket

    client = login(app, email)
    assert submit(client, "/profile", data).status_code == 302
    with app.app_context():
        protocol = db.session.scalar(db.select(Ticket.protocol).where(
            Ticket.origin == "profile").order_by(Ticket.id.desc()))
    staff = login(app, "staff@example.com")
    page = f"/staff/tickets/{protocol}"
    assert submit(staff, f"{page}/apply-change", {}, page=page).status_code == 302


def test_a_change_applied_in_the_portal_survives_imports_until_the_erp_has_it(
        estate, tmp_path, runner, monkeypatch):
    from runtime.extensions import db
    from runtime.models import User

    erp = tmp_path / "erp"
    shutil.copytree(ERP, erp)
    maria = _user_id(estate, erp_id="C-0001")
    _apply_profile_change(estate, "maria.souza@example.com", {
        "email": "maria.souza@example.com", "phone": "+55 11 91234-5678",
        "address": "Rua das Acácias, 120, São Paulo - SP"})
    counts = _import(estate, erp)
    assert (counts["updated"], counts["kept"], counts["unchanged"]) == (0, 1, 4)
    with estate.app_context():
        assert db.session.get(User, maria).phone == "+55 11 91234-5678"
    # the ERP gets the change through the export...
    monkeypatch.setenv("PORTAL_DATABASE_URL", estate.config["SQLALCHEMY_DATABASE_URI"])
    exported = runner.invoke(main, ["export", "changes", str(estate.instance_path),
                                    "--format", "json"])
    assert exported.exit_code == 0, exported.output
    [change] = json.loads(exported.output)
    assert {k: change[k] for k in ("customer_id", "field", "old", "new", "changed_by")} == {
        "customer_id": "C-0001", "field": "phone", "old": "+55 11 98888-1111",
        "new": "+55 11 91234-5678", "changed_by": "staff@example.com"}
    # ...and once it has it, the change is settled: nothing kept, nothing left to export
    customers = (erp / "customers.csv").read_text(encoding="utf-8")
    (erp / "customers.csv").write_text(customers.replace("+55 11 98888-1111",
                                                         "+55 11 91234-5678"), encoding="utf-8")
    counts = _import(estate, erp)
    assert (counts["updated"], counts["kept"], counts["unchanged"]) == (0, 0, 5)
    again = runner.invoke(main, ["export", "changes", str(estate.instance_path)])
    assert again.output == "customer_id,field,old,new,changed_at,changed_by\n"


def test_an_erp_value_newer_than_the_portal_change_wins(estate, tmp_path):
    from runtime.extensions import db
    from runtime.models import User

    erp = tmp_path / "erp"
    shutil.copytree(ERP, erp)
    maria = _user_id(estate, erp_id="C-0001")
    _apply_profile_change(estate, "maria.souza@example.com", {
        "email": "maria.souza@example.com", "phone": "+55 11 91234-5678",
        "address": "Rua das Acácias, 120, São Paulo - SP"})
    customers = (erp / "customers.csv").read_text(encoding="utf-8")
    (erp / "customers.csv").write_text(customers.replace("+55 11 98888-1111",
                                                         "+55 11 95555-0000"), encoding="utf-8")
    counts = _import(estate, erp)  # the ERP changed the phone itself, after the portal did
    assert (counts["updated"], counts["kept"]) == (1, 0)
    with estate.app_context():
        assert db.session.get(User, maria).phone == "+55 11 95555-0000"


def test_the_import_command_reports_kept_rows_and_export_checks_its_options(
        estate, tmp_path, runner, monkeypatch):
    erp = tmp_path / "erp"
    shutil.copytree(ERP, erp)
    carla = _user_id(estate, erp_id="C-0005")
    staff = login(estate, "staff@example.com")
    page = f"/staff/clients/{carla}"
    assert submit(staff, f"{page}/email", {"access-email": "carla@example.com"},
                  page=page).status_code == 302
    monkeypatch.setenv("PORTAL_DATABASE_URL", estate.config["SQLALCHEMY_DATABASE_URI"])
    instance = str(estate.instance_path)
    result = runner.invoke(main, ["import", instance, str(erp)])
    assert result.exit_code == 0, result.output
    assert re.search(r"customers +0 created +0 updated +4 unchanged +1 kept \(changed in the "
                     r"portal\)", result.output)
    assert f"portal export changes {instance}" in result.output
    rows = runner.invoke(main, ["export", "changes", instance]).output.splitlines()
    assert rows[1].startswith("C-0005,email,,carla@example.com,")
    later = runner.invoke(main, ["export", "changes", instance, "--since", "2999-01-01"])
    assert later.output.splitlines() == rows[:1]
    bad = runner.invoke(main, ["export", "changes", instance, "--since", "yesterday"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output


# -- 9. viewing as a client: only for viewers without limits, every page audited ------------

def _limit(app, email: str, *divisions: str) -> None:
    from runtime.extensions import db
    from runtime.modules.tickets.models import StaffDivision

    with app.app_context():
        user_id = _user_id(app, email=email)
        db.session.add_all(StaffDivision(user_id=user_id, division_id=d) for d in divisions)
        db.session.commit()


def _log(app) -> list[tuple]:
    from runtime.erp.models import AuditEntry
    from runtime.extensions import db

    with app.app_context():
        return [(a.action, a.subject_id, a.detail) for a in db.session.scalars(
            db.select(AuditEntry).order_by(AuditEntry.id))]


def test_staff_limited_to_some_divisions_cannot_view_as_a_client(estate):
    maria = _user_id(estate, erp_id="C-0001")
    _limit(estate, "staff@example.com", "assistencia")
    staff = login(estate, "staff@example.com")
    page = f"/staff/clients/{maria}"
    assert "/view-as" not in staff.get(page).get_data(as_text=True)
    refused = submit(staff, f"{page}/view-as", {}, page=page)
    assert refused.status_code == 403
    assert "atende só algumas divisões" in refused.get_data(as_text=True)
    assert "Maria" not in staff.get("/").get_data(as_text=True)  # still themselves
    assert _log(estate) == []


def test_a_view_ends_when_the_viewer_is_limited_meanwhile(estate):
    maria = _user_id(estate, erp_id="C-0001")
    staff = login(estate, "staff@example.com")
    page = f"/staff/clients/{maria}"
    assert "/view-as" in staff.get(page).get_data(as_text=True)
    submit(staff, f"{page}/view-as", {}, page=page)
    assert "Olá, Maria" in staff.get("/").get_data(as_text=True)
    _limit(estate, "staff@example.com", "assistencia")
    assert "Olá, Maria" not in staff.get("/").get_data(as_text=True)


def test_every_page_viewed_as_a_client_is_in_the_audit_log(estate):
    maria = _user_id(estate, erp_id="C-0001")
    admin = login(estate, "admin@example.com")
    page = f"/staff/clients/{maria}"
    submit(admin, f"{page}/view-as", {}, page=page)
    for url in ("/", "/unit", "/tickets?status=open"):
        assert admin.get(url).status_code == 200
    submit(admin, "/view-as/stop", {}, page="/")
    viewed = [(action, detail) for action, subject, detail in _log(estate)
              if subject == maria]
    assert viewed[0][0] == "view_as" and viewed[-1][0] == "view_as_end"
    pages = [d for a, d in viewed if a == "view_as_page"]
    assert pages == ["/", "/unit", "/tickets?status=open", "/"]  # the last: before stopping


def test_admins_read_the_audit_log_filtered_and_paginated(estate):
    maria = _user_id(estate, erp_id="C-0001")
    joao = _user_id(estate, erp_id="C-0002")
    for email, client in (("admin@example.com", maria), ("staff@example.com", joao)):
        viewer = login(estate, email)
        page = f"/staff/clients/{client}"
        submit(viewer, f"{page}/view-as", {}, page=page)
        viewer.get("/unit")
        submit(viewer, "/view-as/stop", {}, page="/")
    staff = login(estate, "staff@example.com")
    assert staff.get("/staff/audit").status_code == 403
    assert "/staff/audit" not in staff.get("/staff/").get_data(as_text=True)
    admin = login(estate, "admin@example.com")
    assert 'href="/staff/audit"' in admin.get("/staff/").get_data(as_text=True)
    everything = admin.get("/staff/audit").get_data(as_text=True)
    assert "Registro de auditoria" in everything
    assert "Maria Souza" in everything and "João Lima" in everything
    assert "Viu como" in everything and "<code>/unit</code>" in everything
    staff_id = _user_id(estate, email="staff@example.com")
    by_staff = admin.get(f"/staff/audit?actor={staff_id}").get_data(as_text=True)
    assert "João Lima" in by_staff and "Maria Souza" not in by_staff
    about_maria = admin.get("/staff/audit?subject=maria").get_data(as_text=True)
    assert "Maria Souza" in about_maria and "João Lima" not in about_maria
    far = admin.get("/staff/audit?page=99999999999999999999")
    assert far.status_code == 404  # as every list of the portal (runtime/inputs.py page_arg)
    assert admin.get("/staff/audit?page=1000").status_code == 200
