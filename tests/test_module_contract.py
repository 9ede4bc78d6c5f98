"""Adding a module is one folder plus one registry line; models and migrations never drift.

tests/fixtures/modules/hello is such a folder, registered here only: a tenant enabling it
validates, builds and is served (its page, home card, staff link and table).
"""

from __future__ import annotations

import pytest
from alembic import command

from tests.conftest import FIXTURES, AuthActions, add_user, make_app

HELLO_TENANT = """\
schema_version: 1
tenant: {id: hello, name: Hello Homes, locale: en, timezone: America/Sao_Paulo,
         support_email: help@hello.example}
modules:
  hello: {greeting: Bom dia}
menu:
  - {label: Hello, icon: emoji-smile, module: hello}
"""


def _clear_schema_caches() -> None:
    from generator.schema import load_schema, validator

    load_schema.cache_clear()
    validator.cache_clear()


@pytest.fixture
def hello(monkeypatch):
    """The hello module registered: one REGISTRY line (and the tests' module folder)."""
    from generator import schema
    from runtime import modules
    from runtime.extensions import db

    monkeypatch.setitem(modules.REGISTRY, "hello", "tests.fixtures.modules.hello")
    monkeypatch.setattr(schema, "MODULE_FOLDERS", [*schema.MODULE_FOLDERS, FIXTURES / "modules"])
    _clear_schema_caches()
    from tests.fixtures.modules.hello import Greeting

    if Greeting.__tablename__ not in db.metadata.tables:  # taken out by an earlier test
        Greeting.__table__.to_metadata(db.metadata)
    yield
    # other tests' apps have no hello module: its table must not be in their metadata
    db.metadata.remove(db.metadata.tables[Greeting.__tablename__])
    monkeypatch.undo()
    _clear_schema_caches()


def _check(app) -> None:
    """Alembic's check: the migrations create exactly what the models declare."""
    with app.app_context():
        migrate = app.extensions["migrate"]
        command.check(migrate.migrate.get_config(migrate.directory))


@pytest.fixture(params=["sqlite", "postgresql"])
def hello_app(request, hello, tmp_path):
    from generator.build import build

    tenant = tmp_path / "hello" / "tenant.yaml"
    tenant.parent.mkdir()
    tenant.write_text(HELLO_TENANT, encoding="utf-8")
    instance = build(str(tenant), tmp_path / "out").instance
    url = (f"sqlite:///{instance / 'data' / 'portal.db'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres_url"))
    app = make_app(instance, url)
    yield app
    _dispose(app)


def _dispose(app) -> None:
    from runtime.extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_tenant_enabling_a_new_module_validates(hello, tmp_path, runner):
    from cli import main

    tenant = tmp_path / "tenant.yaml"
    tenant.write_text(HELLO_TENANT + "  - {label: Typo, module: helo}\n", encoding="utf-8")
    result = runner.invoke(main, ["validate", str(tenant)])
    assert result.exit_code == 1
    # the menu enum was built from the fragments, the new one included
    assert 'menu[1].module: expected one of: construction, contracts, documents, faq, ' \
           'finance, hello, notices,' in result.output
    assert 'did you mean "hello"?' in result.output
    tenant.write_text(HELLO_TENANT.replace("greeting: Bom dia", "greting: x"), encoding="utf-8")
    result = runner.invoke(main, ["validate", str(tenant)])
    assert 'modules.hello.greting: unknown key "greting"; did you mean "greeting"?' \
        in result.output


def test_a_new_module_is_served_with_its_card_link_and_table(hello_app):
    from runtime.extensions import db
    from tests.fixtures.modules.hello import Greeting

    with hello_app.app_context():
        db.session.add(Greeting(text="oi"))
        db.session.commit()
    add_user(hello_app)
    client = hello_app.test_client()
    AuthActions(client).login()
    page = client.get("/hello")
    assert page.status_code == 200
    assert "Bom dia" in page.get_data(as_text=True)
    assert "greetings stored: 1" in page.get_data(as_text=True)
    home = client.get("/").get_data(as_text=True)
    assert "Bom dia from the hello card" in home and 'href="/hello"' in home
    add_user(hello_app, "staff@example.com", role="staff", name="Sam Staff")
    staff = hello_app.test_client()
    AuthActions(staff).login("staff@example.com", kind="staff")
    assert "Hello desk" in staff.get("/staff/").get_data(as_text=True)
    _check(hello_app)  # its migration branch matches its model


def test_a_new_module_is_absent_where_the_tenant_does_not_enable_it(hello, built_instance):
    app = make_app(built_instance)  # the minimal tenant: no hello
    add_user(app)
    client = app.test_client()
    AuthActions(client).login()
    assert client.get("/hello").status_code == 404
    assert "hello card" not in client.get("/").get_data(as_text=True)
    _dispose(app)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_models_and_migrations_never_drift(request, kind, built_instance):
    url = (f"sqlite:///{built_instance / 'data' / 'portal.db'}" if kind == "sqlite"
           else request.getfixturevalue("postgres_url"))
    app = make_app(built_instance, url)
    _check(app)
    _dispose(app)


def test_a_model_without_its_migration_is_caught(hello, monkeypatch, built_instance):
    import dataclasses

    from alembic.util import AutogenerateDiffsDetected

    import tests.fixtures.modules.hello as module

    monkeypatch.setattr(module, "manifest", dataclasses.replace(module.manifest,
                                                                migrations=None))
    app = make_app(built_instance)
    with pytest.raises(AutogenerateDiffsDetected, match="hello_greetings"):
        _check(app)
    _dispose(app)


def test_module_commands_are_found_without_flask_for_the_generators_commands():
    """`portal validate` stays free of Flask; `portal import` comes from a module manifest."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    tenant = FIXTURES / "tenants" / "minimal" / "tenant.yaml"
    code = ("import sys\nfrom cli import main\ntry:\n    main(['validate', sys.argv[1]])\n"
            "except SystemExit as exit:\n    assert exit.code == 0, exit.code\n"
            "assert 'flask' not in sys.modules, 'flask imported'\n"
            "main(['import', '--help'], prog_name='portal')\n")
    result = subprocess.run([sys.executable, "-c", code, str(tenant)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Usage: portal import [OPTIONS] INSTANCE FOLDER" in result.stdout
    assert "--dry-run" in result.stdout
