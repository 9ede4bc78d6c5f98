"""One settings object per instance: settings.py, then PORTAL_*, read once by create_app."""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, ROOT

SMTP = """
integrations:
  email:
    host: smtp.minimal.example
    port: 587
    username: portal@minimal.example
    password_env: MINIMAL_SMTP_PASSWORD
    from: "Minimal <portal@minimal.example>"
"""


def _instance(tmp_path: Path, name: str, settings: str | None = None) -> Path:
    """The minimal tenant with an SMTP server, built into its own folder."""
    from generator.build import build

    tenant = tmp_path / "tenants" / name
    shutil.copytree(FIXTURES / "tenants" / "minimal", tenant)
    with (tenant / "tenant.yaml").open("a", encoding="utf-8") as fh:
        fh.write(SMTP)
    instance = build(str(tenant / "tenant.yaml"), tmp_path / name).instance
    if settings is not None:
        (instance / "settings.py").write_text(settings, encoding="utf-8")
    return instance


def _settings(app):
    return app.extensions["portal"].settings


def test_two_instances_in_one_process_keep_their_own_settings(tmp_path, monkeypatch):
    from runtime import create_app, mail
    from runtime.extensions import db

    monkeypatch.delenv("PORTAL_MAIL")
    monkeypatch.setenv("MINIMAL_SMTP_PASSWORD", "from-the-environment")
    first = create_app(_instance(tmp_path, "a", (
        f'DATABASE_URL = "sqlite:///{tmp_path}/a.db"\n'
        'SECRET_KEY = "secret-of-a"\nMAIL = "outbox"\nUPLOAD_MAX_MB = 3\n')))
    second = create_app(_instance(tmp_path, "b", (
        f'DATABASE_URL = "sqlite:///{tmp_path}/b.db"\n'
        'SECRET_KEY = "secret-of-b"\nMAIL = "smtp"\n')))
    # the process environment changes after the apps were made: neither of them notices
    monkeypatch.setenv("PORTAL_MAIL", "outbox")
    monkeypatch.setenv("PORTAL_SECRET_KEY", "changed")
    monkeypatch.setenv("MINIMAL_SMTP_PASSWORD", "changed")
    with first.app_context():
        assert str(db.engine.url) == f"sqlite:///{tmp_path}/a.db"
        assert isinstance(mail._transport(), mail.FolderTransport)
    with second.app_context():
        assert str(db.engine.url) == f"sqlite:///{tmp_path}/b.db"
        transport = mail._transport()
        assert isinstance(transport, mail.SmtpTransport)
    assert (first.secret_key, second.secret_key) == ("secret-of-a", "secret-of-b")
    assert (_settings(first).upload_max_bytes, _settings(second).upload_max_bytes) == (
        3 * 2**20, 10 * 2**20)
    assert _settings(second).smtp_password == "from-the-environment"


def test_the_environment_wins_over_the_settings_file_and_test_config_over_both(
        tmp_path, monkeypatch):
    from runtime import create_app

    instance = _instance(tmp_path, "a", "UPLOAD_MAX_MB = 3\nPROXY_COUNT = 2\nMAIL = 'smtp'\n")
    monkeypatch.setenv("PORTAL_UPLOAD_MAX_MB", "5")
    app = create_app(instance, {"PORTAL_PROXY_COUNT": 1})
    settings = _settings(app)
    assert settings.upload_max_bytes == 5 * 2**20
    assert settings.proxy_count == 1
    assert settings.mail_outbox  # PORTAL_MAIL=outbox (the tests' environment) wins over the file
    assert settings.image_max_pixels == 40 * 10**6  # unset: the default


def test_without_settings_the_defaults_of_before(built_instance):
    from runtime import create_app

    app = create_app(built_instance)
    settings = _settings(app)
    assert settings.database_url == f"sqlite:///{built_instance / 'data' / 'portal.db'}"
    assert settings.secret_key == (built_instance / "data" / "secret_key").read_text().strip()
    assert (settings.upload_max_bytes, settings.ticket_max_bytes) == (10 * 2**20, 10 * 2**20)
    assert (settings.proxy_count, settings.redis_url, settings.smtp_password) == (0, None, "")


@pytest.mark.parametrize("raw, secret", [("12345", "12345"), ("1e3", "1e3"), ("true", "true"),
                                         ('"quoted"', "quoted"), ("[1,2]", "[1,2]")])
def test_a_text_setting_keeps_the_letters_it_was_given(built_instance, monkeypatch, raw, secret):
    """Flask reads PORTAL_* as JSON; a secret of digits must not become another secret."""
    from runtime import create_app

    monkeypatch.setenv("PORTAL_SECRET_KEY", raw)
    assert create_app(built_instance).secret_key == secret


def test_postgres_urls_use_psycopg_3(built_instance, monkeypatch):
    from runtime import create_app

    monkeypatch.setenv("PORTAL_DATABASE_URL", "postgres://portal@db/aurora")
    assert _settings(create_app(built_instance)).database_url == (
        "postgresql+psycopg://portal@db/aurora")


@pytest.mark.parametrize("env, file, message", [
    ({"PORTAL_UPLOAD_MAX_MB": "ten"}, None,
     'PORTAL_UPLOAD_MAX_MB: expected a whole number of megabytes of at least 1, got "ten"'),
    ({"PORTAL_TICKET_MAX_MB": "0"}, None,
     "PORTAL_TICKET_MAX_MB: expected a whole number of megabytes of at least 1, got 0"),
    ({"PORTAL_IMAGE_MAX_MPX": "1.5"}, None,
     "PORTAL_IMAGE_MAX_MPX: expected a whole number of megapixels of at least 1, got 1.5"),
    ({"PORTAL_PROXY_COUNT": "true"}, None,
     "PORTAL_PROXY_COUNT: expected a whole number of proxies of at least 0, got true"),
    ({"PORTAL_MAIL": "outbx"}, None,
     'PORTAL_MAIL: expected "outbox" (write e-mail to data/outbox/) or "smtp", got "outbx"'),
    ({}, "PROXY_COUNT = -1\n",
     "settings.py: PROXY_COUNT: expected a whole number of proxies of at least 0, got -1"),
    ({}, "DATABASE_URL = ['sqlite://']\n",
     'settings.py: DATABASE_URL: expected text, got ["sqlite://"]'),
    ({}, "SQLALCHEMY_DATABASE_URI = 'sqlite://'\n",
     "settings.py: SQLALCHEMY_DATABASE_URI: set DATABASE_URL instead"),
    ({}, "MAIL = 'outbox\n", "settings.py:1: unterminated string literal (detected at line 1)"),
    ({}, "UPLOAD_MAX_MB = 1 / 0\n", "settings.py: ZeroDivisionError: division by zero"),
])
def test_a_bad_setting_is_one_clean_line_from_the_cli(built_instance, runner, monkeypatch,
                                                      env, file, message):
    from cli import main

    monkeypatch.delenv("PORTAL_MAIL")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if file is not None:
        (built_instance / "settings.py").write_text(file, encoding="utf-8")
    result = runner.invoke(main, ["db", "upgrade", str(built_instance)])
    assert result.exit_code == 1
    assert result.output.endswith(f"{message}\n"), result.output
    assert "Traceback" not in result.output


READS = ("environ", "getenv", "environb")


def _os_names(tree: ast.AST) -> set[str]:
    """The names the module `os` is imported under (`import os`, `import os as x`)."""
    return {alias.asname or alias.name for node in ast.walk(tree)
            if isinstance(node, ast.Import) for alias in node.names if alias.name == "os"}


def _reads_environ(node: ast.AST, os_names: frozenset[str] = frozenset({"os"})) -> bool:
    """`os.environ`, `os.getenv`, `os.environb` or `from os import environ`; not a WSGI
    environ (`request.environ`, a middleware's `environ` argument: a request's, not the
    process's)."""
    if isinstance(node, ast.Attribute):
        return node.attr in READS and isinstance(node.value, ast.Name) \
            and node.value.id in os_names
    if isinstance(node, ast.ImportFrom) and node.module == "os":
        return any(alias.name in READS for alias in node.names)
    return False


def _environ_reads(path: Path) -> list[str]:
    """Where `path` reads the process environment outside create_app."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    os_names = frozenset(_os_names(tree))
    allowed: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "create_app" \
                and path == ROOT / "runtime" / "__init__.py":
            allowed |= {id(inner) for inner in ast.walk(node)}
    return [f"{path.relative_to(ROOT)}:{node.lineno}" for node in ast.walk(tree)
            if _reads_environ(node, os_names) and id(node) not in allowed]


def test_no_runtime_module_reads_the_environment_after_create_app():
    # gunicorn's settings module runs in gunicorn's master, before any app exists, and
    # reads the variable prometheus_client itself reads (PROMETHEUS_MULTIPROC_DIR)
    outside_apps = ROOT / "runtime" / "gunicorn_conf.py"
    offenders = [where for path in sorted((ROOT / "runtime").rglob("*.py"))
                 if path != outside_apps for where in _environ_reads(path)]
    assert offenders == []


def test_the_environment_scan_finds_a_read():
    """The scan above can fail: each way of reading the environment is found."""
    sample = ROOT / "runtime" / "__init__.py"
    for code in ("import os\nos.environ.get('X')\n", "from os import environ\n",
                 "import os\nos.getenv('X')\n", "import os as system\nsystem.environ['X']\n"):
        tree = ast.parse(code)
        names = frozenset(_os_names(tree))
        assert any(_reads_environ(node, names) for node in ast.walk(tree)), code
    # a request's WSGI environ is not the process environment
    tree = ast.parse("import os\nrequest.environ['HTTP_HOST']\nenviron.get('PATH_INFO')\n")
    assert not any(_reads_environ(node, frozenset(_os_names(tree))) for node in ast.walk(tree))
    assert _environ_reads(sample) == []


def _release_config(instance: Path) -> Path:
    return (instance / "release").resolve() / "config.json"


def test_a_release_of_another_format_is_refused_with_how_to_rebuild(built_instance, runner):
    from cli import main
    from runtime import InstanceError, create_app

    config = _release_config(built_instance)
    data = json.loads(config.read_text())
    assert data["release_format"] == 2
    data["release_format"] = 3
    config.write_text(json.dumps(data))
    expected = (f"{built_instance}: its release was built by portal {data['generator_version']}"
                f" in release format 3, and this portal serves format 2; rebuild it with this "
                f"portal: portal build <tenant.yaml> --out {built_instance.parent}")
    with pytest.raises(InstanceError) as caught:
        create_app(built_instance)
    assert str(caught.value) == expected
    result = runner.invoke(main, ["serve", str(built_instance)])
    assert result.exit_code == 1
    assert result.output == f"Error: {expected}\n"


def test_a_release_built_before_formats_were_numbered_is_format_1_and_refused(built_instance):
    from runtime import InstanceError
    from tests.conftest import make_app

    # format 1 linked Bootstrap and the whole icon font itself: this theme's pages would lack them
    config = _release_config(built_instance)
    data = json.loads(config.read_text())
    del data["release_format"]
    config.write_text(json.dumps(data))
    with pytest.raises(InstanceError, match="in release format 1, and this portal serves format 2"):
        make_app(built_instance)


def test_an_unreadable_release_config_is_a_clean_error(built_instance, runner):
    from cli import main

    _release_config(built_instance).write_text("{not json")
    result = runner.invoke(main, ["db", "upgrade", str(built_instance)])
    assert result.exit_code == 1
    assert "config.json: unreadable (" in result.output and "portal build" in result.output


def test_the_portal_object_is_the_tenant_config_read_only_and_typed_state(sqlite_app):
    from runtime.portal import Portal

    portal = sqlite_app.extensions["portal"]
    assert isinstance(portal, Portal)
    assert portal["tenant"]["name"] == "Minimal Homes"
    assert set(portal) >= {"tenant", "branding", "menu", "modules"}
    with pytest.raises(TypeError):
        portal["tenant"] = {}  # type: ignore[index]
    assert set(portal.modules) >= {"notices", "faq"}
    assert portal.lease is not None and portal.counter is not None
    leftovers = [key for key in sqlite_app.extensions if key.startswith("portal_")]
    assert leftovers == []


def test_a_ticket_limit_above_64_mb_is_answered_by_the_form_not_a_bare_413(tmp_path):
    """The request ceiling follows the ticket limit, so the portal's own message answers."""
    from runtime import create_app

    big = create_app(_instance(tmp_path, "big", "TICKET_MAX_MB = 200\n"))
    assert big.config["MAX_CONTENT_LENGTH"] > 200 * 2**20
    default = create_app(_instance(tmp_path, "default"))
    assert default.config["MAX_CONTENT_LENGTH"] == 64 * 2**20
