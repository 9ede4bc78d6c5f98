"""Fixtures: tenant_file -> built_instance -> app -> client / auth / runner."""

from __future__ import annotations

import contextlib
import gc
import os
import re
import shutil
import threading
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PG_ADMIN_URL = os.environ.get("PORTAL_TEST_POSTGRES",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="session", autouse=True)
def _own_cache_folder(tmp_path_factory):
    """Builds and validations keep answers in the user's cache folder (generator/cache.py):
    the tests get one of their own, new each run, so no result depends on what an earlier
    run (or the user's work) left there, and the user's is never filled by tests."""
    folder = tmp_path_factory.mktemp("xdg-cache")
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(folder)  # subprocesses (the CLI, gunicorn) inherit it
    yield folder
    if before is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = before


@pytest.fixture(autouse=True)
def _outbox_mail(monkeypatch):
    monkeypatch.setenv("PORTAL_MAIL", "outbox")
    monkeypatch.delenv("PORTAL_DATABASE_URL", raising=False)
    monkeypatch.delenv("PORTAL_SECRET_KEY", raising=False)


@pytest.fixture
def tenant_dir(tmp_path) -> Path:
    """A writable copy of the minimal tenant."""
    target = tmp_path / "tenants" / "minimal"
    shutil.copytree(FIXTURES / "tenants" / "minimal", target)
    return target


@pytest.fixture
def tenant_file(tenant_dir) -> Path:
    return tenant_dir / "tenant.yaml"


@pytest.fixture
def built_instance(tenant_file, tmp_path) -> Path:
    from generator.build import build

    return build(str(tenant_file), tmp_path / "build").instance


# -- databases ---------------------------------------------------------------------------

def _postgres_available() -> str | None:
    import sqlalchemy

    try:
        engine = sqlalchemy.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return str(exc).splitlines()[0]
    return None


@pytest.fixture(scope="session")
def postgres_url():
    """A throw-away PostgreSQL database for this test session."""
    import sqlalchemy

    problem = _postgres_available()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required under CI and unreachable: {problem}")
        pytest.skip(f"PostgreSQL not reachable: {problem}")
    name = f"portal_test_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


REDIS_URL = os.environ.get("PORTAL_TEST_REDIS", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def redis_url():
    """Redis for the session and counter tests (required under CI)."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is required under CI and unreachable at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    return REDIS_URL


def redis_config(url: str) -> dict:
    """App config that keeps sessions and counters in Redis, under a prefix of its own."""
    return {"PORTAL_REDIS_URL": url, "PORTAL_REDIS_PREFIX": f"test:{uuid.uuid4().hex[:12]}:"}


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, built_instance) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{built_instance / 'data' / 'portal.db'}"
    return request.getfixturevalue("postgres_url")


def make_app(instance: Path, db_url: str | None = None, **config):
    from flask_migrate import upgrade
    from sqlalchemy import text

    from runtime import create_app
    from runtime.extensions import db

    test_config = {"TESTING": True, **config}
    if db_url:
        test_config["SQLALCHEMY_DATABASE_URI"] = db_url
    app = create_app(instance, test_config)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":  # start every test from an empty schema
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade(directory=app.extensions["migrate"].directory, revision="heads")
    return app


@pytest.fixture
def app(built_instance, db_url):
    application = make_app(built_instance, db_url)
    yield application
    from runtime.extensions import db

    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def desk_instance(tmp_path) -> Path:
    """The service-desk tenant: every field type, a staff-only division, finance, profile."""
    from generator.build import build

    target = tmp_path / "tenants" / "desk"
    shutil.copytree(FIXTURES / "tenants" / "desk", target)
    return build(str(target / "tenant.yaml"), tmp_path / "desk-build").instance


@pytest.fixture(params=["sqlite", "postgresql"])
def desk_app(request, desk_instance):
    if request.param == "sqlite":
        url = f"sqlite:///{desk_instance / 'data' / 'portal.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    application = make_app(desk_instance, url)
    yield application
    from runtime.extensions import db

    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def sqlite_app(built_instance):
    """For tests whose subject is not the database."""
    return make_app(built_instance)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def migrated_instance(built_instance, runner, monkeypatch, db_url):
    """The built instance on db_url (a clean schema), migrated by `portal db upgrade`."""
    from cli import main

    monkeypatch.setenv("PORTAL_DATABASE_URL", db_url)
    if db_url.startswith("postgresql"):  # a clean schema for this test
        import sqlalchemy

        engine = sqlalchemy.create_engine(db_url)
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    assert runner.invoke(main, ["db", "upgrade", str(built_instance)]).exit_code == 0
    return built_instance


def import_estate(instance: Path, url: str):
    """The app of a built demo tenant with its ERP sample imported and every password set."""
    from runtime.erp import importer
    from runtime.extensions import db
    from runtime.models import User

    app = make_app(instance, url)
    with app.app_context():
        assert importer.run(ROOT / "tenants" / "aurora" / "erp").errors == []
        for user in db.session.scalars(db.select(User)):
            user.set_password(PASSWORD)
        db.session.commit()
    return app


# -- helpers ------------------------------------------------------------------------------

def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def submit(client, url: str, data: dict, *, page: str | None = None, **kwargs):
    """GET the form page (for its CSRF token), then POST the form to `url`."""
    html = client.get(page or url, follow_redirects=True).get_data(as_text=True)
    return client.post(url, data={**data, "csrf_token": csrf_token(html)}, **kwargs)


def add_user(app, email="maria@example.com", role="client", password=PASSWORD, **kwargs):
    from runtime.accounts import create_account

    with app.app_context():
        user = create_account(email=email, name=kwargs.pop("name", "Maria Souza"), role=role,
                              password=password, **kwargs)
        return user.id


class AuthActions:
    def __init__(self, client):
        self.client = client

    def login(self, identifier="maria@example.com", password=PASSWORD, kind="client"):
        return submit(self.client, "/login", {"identifier": identifier, "password": password,
                                               "kind": kind})

    def logout(self):
        return submit(self.client, "/logout", {}, page="/")


def login(app, email: str, kind: str = "client", gates: bool = False):
    """A test client of `app`, logged in as `email` (checked).

    Past the screens a client meets after logging in (runtime/pending.py: the address
    confirmation, the first-login survey) and the pop-up of pending actions, as if already
    dealt with in this session; `gates=True` keeps them (tests/test_engage.py)."""
    client = app.test_client()
    assert AuthActions(client).login(email, kind=kind).status_code == 302
    if not gates:
        with client.session_transaction() as session:
            session.pop("portal.gates", None)
            session.pop("portal.pending", None)
    return client


@pytest.fixture
def auth(client):
    return AuthActions(client)


def deliver(app):
    """One pass of the outbox worker: requests only queue, the worker writes the .eml files."""
    from runtime.mail import deliver_pending

    with app.app_context():
        return deliver_pending()


def is_session_lookup(statement: str) -> bool:
    """The session store's one read per request (the embedded store; Redis in production)."""
    return statement.lstrip().startswith("SELECT sessions.data")


def outbox(app) -> list:
    """The e-mails delivered to the instance's outbox folder, oldest first (after a pass)."""
    from email import message_from_bytes, policy

    deliver(app)
    folder = Path(app.config["PORTAL_OUTBOX_DIR"])
    files = sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    return [message_from_bytes(p.read_bytes(), policy=policy.default) for p in files]


def mail_link(message) -> str:
    body = message.get_body(("plain",)).get_content()
    match = re.search(r"https?://\S+/(first-access|reset)/\S+", body)
    assert match, body
    return "/" + match.group(0).split("/", 3)[3]


# -- the browser tests (headless Chromium against a live server) ---------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for a test file (skipped without Chromium, except under CI)."""
    if not CHROMIUM:
        if os.environ.get("CI"):
            pytest.fail("chromium is required under CI (.ci/run installs it)")
        pytest.skip("chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def collect_dropped_downloads():
    """Chromium drops font and image downloads when a test navigates on; Werkzeug's
    development server may leave that file to the garbage collector, which `filterwarnings =
    error` would turn into a failure of whichever test runs next: collect them now, under
    the browser test's own filter."""
    yield
    gc.collect()


@contextlib.contextmanager
def serving(app):
    """`app` on a live local server, for a browser; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def live_app(tmp_path_factory):
    """The demo tenant aurora, built and seeded as `./dev demo` does (every password set)."""
    from generator.build import build
    from runtime.demo import seed
    from runtime.extensions import db
    from runtime.models import User

    out = tmp_path_factory.mktemp("live")
    app = make_app(build(str(ROOT / "tenants/aurora/tenant.yaml"), out).instance)
    with app.app_context():  # the demo's ERP data, photos and documents, for Maria
        seed(ROOT / "tenants" / "aurora" / "erp")
        for user in db.session.scalars(db.select(User)):
            user.set_password(PASSWORD)
        db.session.commit()
    return app


@pytest.fixture(scope="module")
def live_portal(live_app):
    """The seeded demo tenant on a live server: its base URL."""
    with serving(live_app) as base:
        yield base


def browser_login(page, base: str, identifier: str = "529.982.247-25",
                  kind: str | None = None, seen=None) -> None:
    """Log in through the login page (Maria by default); `kind` picks a login tab.

    A client then meets the screens that come before the portal (gates: the address
    confirmation, answered with its first button; the welcome survey, put off with its
    button that needs no answers, `formnovalidate`) and the pop-up of what waits for them
    (closed with Escape), as a person would; `seen(state)` is called on each before it is
    left (the accessibility test checks them)."""
    from urllib.parse import urlsplit

    page.goto(base + "/login" + (f"?kind={kind}" if kind else ""))
    page.fill("#identifier", identifier)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    for _ in range(5):  # a gate's address carries the page asked for, as next=
        if "next=" not in urlsplit(page.url).query:
            break
        if seen:
            seen(urlsplit(page.url).path + " (before the portal, after logging in)")
        later = page.locator("main form button[type=submit][formnovalidate]")
        with page.expect_navigation():
            (later if later.count() else page.locator("main form button[type=submit]")) \
                .first.click()
    # the page fetches the pop-up (GET /pending): settled once its placeholder is gone
    page.wait_for_selector("[data-pending-url]", state="detached")
    page.wait_for_load_state("load")
    for _ in range(100):  # a pop-up fetched after the page loads: wait until it is settled
        if not page.locator("[data-pending-url]").count():
            break
        page.wait_for_timeout(50)
    popup = page.locator(".modal[data-show-on-load]")
    if popup.count():
        # shown once Bootstrap has moved the focus into it (Escape is ignored before)
        for _ in range(200):
            if page.evaluate("!!document.activeElement.closest('.modal[data-show-on-load]')"):
                break
            page.wait_for_timeout(50)
        if seen:
            seen(urlsplit(page.url).path + " with the pop-up of what waits for the client")
        for _ in range(5):
            page.keyboard.press("Escape")
            try:
                popup.wait_for(state="hidden", timeout=2000)
                break
            except Exception:  # noqa: BLE001 - Playwright's timeout: press again
                continue
