"""Fleet: every instance built under a folder, served by one process and chosen by Host."""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from werkzeug.test import Client

from tests.conftest import FIXTURES, AuthActions, add_user

GUNICORN = Path(sys.executable).with_name("gunicorn")


def _tenant(tmp_path: Path, tenant_id: str, name: str, domains: tuple[str, ...] = ()) -> Path:
    """The minimal tenant under another id and name (and host names)."""
    folder = tmp_path / "tenants" / tenant_id
    if not folder.exists():
        shutil.copytree(FIXTURES / "tenants" / "minimal", folder)
    text = (FIXTURES / "tenants" / "minimal" / "tenant.yaml").read_text(encoding="utf-8")
    text = text.replace("id: minimal", f"id: {tenant_id}").replace("Minimal Homes", name)
    if domains:
        text = text.replace("  locale: en\n", f"  locale: en\n  domains: [{', '.join(domains)}]\n")
    (folder / "tenant.yaml").write_text(text, encoding="utf-8")
    return folder / "tenant.yaml"


def _build(tmp_path: Path, tenant_id: str, name: str, domains: tuple[str, ...] = ()) -> Path:
    from generator.build import build

    return build(str(_tenant(tmp_path, tenant_id, name, domains)), tmp_path / "build").instance


def _upgrade_all(runner, folder: Path):
    from cli import main

    return runner.invoke(main, ["db", "upgrade", "--all", str(folder)])


@pytest.fixture
def fleet_dir(tmp_path, runner) -> Path:
    return build_fleet(tmp_path, runner)


def build_fleet(tmp_path: Path, runner) -> Path:
    """Two built tenants, migrated by `portal db upgrade --all` (SQLite unless set)."""
    _build(tmp_path, "alpha", "Alpha Homes", ("portal.alpha.example", "alpha.example.com"))
    _build(tmp_path, "beta", "Beta Towers")
    result = _upgrade_all(runner, tmp_path / "build")
    assert result.exit_code == 0, result.output
    assert "alpha: up to date" in result.output and "2 of 2 database(s) up to date" in result.output
    return tmp_path / "build"


def _fleet(folder: Path, **timing):
    from runtime.fleet import Fleet

    timing = {"check_seconds": 0, "rescan_seconds": 0, "retry_seconds": 0, **timing}
    return Fleet(folder, **timing)


def _get(client: Client, host: str, path: str = "/login"):
    return client.get(path, base_url=f"http://{host}")


def _close(fleet) -> None:
    """Let go of the apps' leases and engines (SQLite files of tmp_path)."""
    from runtime.fleet import _close as close

    for slot in fleet._slots.values():
        if slot.live is not None:
            close(slot.live.app)


@pytest.mark.parametrize(("host", "expected"), [
    ("alpha.localhost", "alpha.localhost"), ("Alpha.LOCALHOST:5000", "alpha.localhost"),
    ("portal.alpha.example.", "portal.alpha.example"), ("[::1]:8080", "[::1]"), ("", ""),
])
def test_the_host_name_is_compared_without_port_case_or_final_dot(host, expected):
    from runtime.fleet import host_of

    assert host_of({"HTTP_HOST": host}) == expected


def test_each_host_reaches_its_own_tenant_and_an_unknown_one_gets_a_bare_404(fleet_dir):
    fleet = _fleet(fleet_dir)
    client = Client(fleet)
    for host, name, other in [("alpha.localhost", "Alpha Homes", "Beta Towers"),
                              ("portal.alpha.example:8443", "Alpha Homes", "Beta Towers"),
                              ("ALPHA.example.com", "Alpha Homes", "Beta Towers"),
                              ("beta.localhost:5000", "Beta Towers", "Alpha Homes")]:
        response = _get(client, host)
        page = response.get_data(as_text=True)
        assert response.status_code == 200, host
        assert name in page and other not in page, host
    for host in ("gamma.localhost", "localhost", "127.0.0.1:5000", "beta.example.com"):
        response = _get(client, host)
        body = response.get_data(as_text=True)
        assert response.status_code == 404, host
        assert response.mimetype == "text/plain" and "nenhum portal" in body
        for word in ("alpha", "beta", "Alpha", "Beta"):
            assert word not in body
    _close(fleet)


def test_a_host_two_tenants_claim_goes_to_the_first_and_is_logged_once(fleet_dir, tmp_path,
                                                                        caplog):
    _build(tmp_path, "beta", "Beta Towers", ("portal.alpha.example",))
    with caplog.at_level(logging.ERROR, logger="runtime.fleet"):
        fleet = _fleet(fleet_dir)
        fleet.scan()
    assert fleet.hosts["portal.alpha.example"].name == "alpha"
    assert caplog.text.count("alpha and beta both answer on portal.alpha.example") == 1
    page = _get(Client(fleet), "portal.alpha.example").get_data(as_text=True)
    assert "Alpha Homes" in page
    _close(fleet)


def test_only_the_tenants_used_last_keep_an_idle_connection(fleet_dir):
    fleet = _fleet(fleet_dir)
    fleet.shared.connections.cap = 1
    client = Client(fleet)
    alpha = fleet_dir.resolve() / "alpha"
    beta = fleet_dir.resolve() / "beta"
    assert _get(client, "alpha.localhost").status_code == 200
    assert fleet.shared.connections.idle() == 1
    assert _get(client, "beta.localhost").status_code == 200
    assert fleet.shared.connections.idle() == 1  # alpha's was closed, beta keeps its own
    with fleet.app_of(beta).app_context():
        from runtime.extensions import db

        assert db.engine.pool.checkedin() == 1
    with fleet.app_of(alpha).app_context():
        assert db.engine.pool.checkedin() == 0
    assert _get(client, "alpha.localhost").status_code == 200  # connects again when asked
    _close(fleet)


def test_instances_are_made_on_their_first_request_and_kept(fleet_dir):
    fleet = _fleet(fleet_dir)
    client = Client(fleet)
    assert not any(s.live for s in fleet._slots.values())
    _get(client, "alpha.localhost")
    alpha = fleet._slots[fleet_dir.resolve() / "alpha"].live.app
    assert [p.name for p, s in fleet._slots.items() if s.live] == ["alpha"]  # beta not yet made
    _get(client, "alpha.localhost", "/healthz")
    assert fleet._slots[fleet_dir.resolve() / "alpha"].live.app is alpha
    _close(fleet)


def test_tenants_with_the_same_modules_share_one_url_map_and_keep_their_own_routes(
        fleet_dir, tmp_path, runner):
    tenant = _tenant(tmp_path, "delta", "Delta Flats")
    text = tenant.read_text(encoding="utf-8")
    for line in ("  faq:\n    items:\n      - q: Where are my documents?\n"
                 "        a: In **Documents**.\n",
                 "  - { label: Help, icon: question-circle, module: faq }\n"):
        assert line in text
        text = text.replace(line, "")
    tenant.write_text(text, encoding="utf-8")
    from generator.build import build

    build(str(tenant), fleet_dir)
    assert _upgrade_all(runner, fleet_dir).exit_code == 0
    fleet = _fleet(fleet_dir)
    client = Client(fleet)
    apps = {name: fleet.app_of(fleet_dir.resolve() / name) for name in ("alpha", "beta", "delta")}
    assert apps["alpha"].url_map is apps["beta"].url_map  # notices and FAQ, both
    assert apps["delta"].url_map is not apps["alpha"].url_map  # no FAQ
    for host in ("alpha.localhost", "beta.localhost"):  # a page of theirs: log in first
        response = _get(client, host, "/faq")
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert _get(client, "delta.localhost", "/faq").status_code == 404
    with apps["beta"].test_request_context(base_url="http://beta.localhost"):
        from flask import current_app, url_for

        assert current_app.view_functions["static"] is not apps["alpha"].view_functions["static"]
        assert url_for("static", filename="x.css") == "/static/x.css"
    _close(fleet)


def test_a_template_is_compiled_once_for_the_whole_fleet(fleet_dir):
    fleet = _fleet(fleet_dir)
    client = Client(fleet)
    assert "Alpha Homes" in _get(client, "alpha.localhost").get_data(as_text=True)
    compiled = dict(fleet.shared.templates._code)
    assert any(key.startswith("base.html\0") for key in compiled)  # the theme's layout
    page = _get(client, "beta.localhost").get_data(as_text=True)
    assert "Beta Towers" in page and "Alpha Homes" not in page  # same code, its own data
    assert fleet.shared.templates._code == compiled  # nothing compiled again for beta
    _close(fleet)


def test_the_page_cache_is_one_store_for_the_fleet_and_never_crosses_tenants(fleet_dir):
    fleet = _fleet(fleet_dir)
    alpha = fleet.app_of(fleet_dir.resolve() / "alpha")
    beta = fleet.app_of(fleet_dir.resolve() / "beta")
    pages = alpha.extensions["pagecache"].pages
    assert beta.extensions["pagecache"].pages is pages  # one budget, not one per tenant
    assert add_user(alpha) == add_user(beta)  # the same user id in both
    views = {}
    for host in ("alpha.localhost", "beta.localhost"):
        client = Client(fleet)
        assert AuthActions(_HostClient(client, host)).login().status_code == 302
        _get(client, host, "/pending")  # the after-login pop-up, seen: pages may be kept now
        for _ in range(2):  # the second answer comes from the cache
            response = _get(client, host, "/notices")
            assert response.status_code == 200
        views[host] = response.get_data(as_text=True)
    assert pages.size > 0
    assert "Alpha Homes" in views["alpha.localhost"]
    assert "Beta Towers" in views["beta.localhost"]
    assert "Alpha Homes" not in views["beta.localhost"]
    _close(fleet)


def test_a_broken_instance_answers_503_while_the_others_serve(fleet_dir, tmp_path, caplog):
    fleet = _fleet(fleet_dir, retry_seconds=3600)
    client = Client(fleet)
    (fleet_dir / "alpha" / "release" / "config.json").write_text("{ not json", encoding="utf-8")
    with caplog.at_level(logging.ERROR, logger="runtime.fleet"):
        for host in ("alpha.localhost", "portal.alpha.example"):
            response = _get(client, host)
            assert response.status_code == 503, host
            text = response.get_data(as_text=True)
            assert "try again" in text and "tente de novo" in text and "Beta" not in text
        assert _get(client, "beta.localhost").status_code == 200
    failures = [r for r in caplog.records if "alpha cannot be served" in r.getMessage()]
    assert len(failures) == 1, "one log line, not one per request"
    assert "unreadable" in failures[0].getMessage()
    # fixed by a rebuild: served again once its retry is due, without a restart
    _build(tmp_path, "alpha", "Alpha Homes Again", ("portal.alpha.example",))
    assert _get(client, "alpha.localhost").status_code == 503  # still waiting for its retry
    fleet.retry_seconds = 0
    fleet._slots[fleet_dir.resolve() / "alpha"].retry_at = 0
    response = _get(client, "portal.alpha.example")
    assert response.status_code == 200 and "Alpha Homes Again" in response.get_data(as_text=True)
    _close(fleet)


def test_an_instance_broken_before_the_start_still_answers_503_on_its_local_name(fleet_dir):
    (fleet_dir / "alpha" / "release" / "config.json").write_text("[]", encoding="utf-8")
    fleet = _fleet(fleet_dir)
    client = Client(fleet)
    assert _get(client, "alpha.localhost").status_code == 503
    assert _get(client, "beta.localhost").status_code == 200
    _close(fleet)


def test_the_fleet_answers_probes_by_address_for_itself(fleet_dir, monkeypatch):
    """An orchestrator probes the pod's address, which no tenant claims: alive while the
    process answers; ready while a tenant that can be served is, whichever tenant is
    broken; not ready when the tenants' database is down. The answer names no tenant."""
    from runtime import views

    fleet = _fleet(fleet_dir, retry_seconds=3600)
    client = Client(fleet)
    pod = "10.1.2.3:8000"
    alive, ready = _get(client, pod, "/healthz"), _get(client, pod, "/healthz/ready")
    assert (alive.status_code, alive.get_data(as_text=True)) == (200, "ok\n")
    assert (ready.status_code, ready.get_data(as_text=True)) == (200, "ready\n")
    assert _get(client, pod, "/login").status_code == 404  # only the probes
    # the first tenant broken: the pod still serves the others, so it stays in service
    (fleet_dir / "alpha" / "release" / "config.json").write_text("{ not json", encoding="utf-8")
    fresh = _fleet(fleet_dir, retry_seconds=3600)
    assert _get(Client(fresh), pod, "/healthz/ready").status_code == 200
    assert _get(Client(fresh), "alpha.localhost").status_code == 503

    def down() -> None:
        raise OSError("connection refused")

    monkeypatch.setattr(views, "_database_ready", down)
    refused = _get(Client(fresh), pod, "/healthz/ready")
    assert (refused.status_code, refused.get_data(as_text=True)) == (503, "not ready\n")
    assert _get(Client(fresh), pod, "/healthz").status_code == 200
    _close(fleet)
    _close(fresh)


def test_a_rebuild_and_a_new_tenant_are_served_without_a_restart(fleet_dir, tmp_path, runner):
    fleet = _fleet(fleet_dir)
    client = Client(fleet)
    assert "Alpha Homes" in _get(client, "alpha.localhost").get_data(as_text=True)
    _build(tmp_path, "alpha", "Alpha Residences", ("portal.alpha.example", "new.alpha.example"))
    page = _get(client, "alpha.localhost").get_data(as_text=True)
    assert "Alpha Residences" in page and "Alpha Homes" not in page
    assert "Alpha Residences" in _get(client, "new.alpha.example").get_data(as_text=True)
    assert _get(client, "gamma.localhost").status_code == 404
    _build(tmp_path, "gamma", "Gamma Lofts")
    assert _upgrade_all(runner, fleet_dir).exit_code == 0
    response = _get(client, "gamma.localhost")
    assert response.status_code == 200 and "Gamma Lofts" in response.get_data(as_text=True)
    _close(fleet)


def test_a_session_of_one_tenant_is_worthless_on_another(fleet_dir):
    fleet = _fleet(fleet_dir)
    alpha = fleet.app_of(fleet_dir.resolve() / "alpha")
    beta = fleet.app_of(fleet_dir.resolve() / "beta")
    # the same account in both: same e-mail, same password, same row id
    assert add_user(alpha) == add_user(beta)
    assert alpha.config["SECRET_KEY"] != beta.config["SECRET_KEY"]
    assert alpha.config["PORTAL_UPLOAD_DIR"] != beta.config["PORTAL_UPLOAD_DIR"]
    assert alpha.config["PORTAL_OUTBOX_DIR"] != beta.config["PORTAL_OUTBOX_DIR"]
    client = Client(fleet)
    assert AuthActions(_HostClient(client, "alpha.localhost")).login().status_code == 302
    cookie = client.get_cookie("portal_alpha", domain="alpha.localhost")
    assert cookie is not None
    assert _get(client, "alpha.localhost", "/").status_code == 200  # logged in on alpha

    thief = Client(fleet)
    for name in ("portal_alpha", "portal_beta"):  # under either cookie name
        thief.set_cookie(name, cookie.value, domain="beta.localhost")
    response = _get(thief, "beta.localhost", "/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    _close(fleet)


class _HostClient:
    """A test client whose paths go to one host (for the conftest form helpers)."""

    def __init__(self, client: Client, host: str) -> None:
        self.client, self.host = client, host

    def get(self, path: str, **kwargs):
        return self.client.get(path, base_url=f"http://{self.host}", **kwargs)

    def post(self, path: str, **kwargs):
        return self.client.post(path, base_url=f"http://{self.host}", **kwargs)


def test_a_secret_key_shared_by_the_whole_fleet_is_refused(fleet_dir, monkeypatch, caplog):
    monkeypatch.setenv("PORTAL_SECRET_KEY", "one-key-for-everybody")
    fleet = _fleet(fleet_dir, retry_seconds=3600)
    client = Client(fleet)
    assert _get(client, "alpha.localhost").status_code == 200
    with caplog.at_level(logging.ERROR, logger="runtime.fleet"):
        assert _get(client, "beta.localhost").status_code == 503
    assert "its secret key is alpha's too" in caplog.text
    assert "unset PORTAL_SECRET_KEY" in caplog.text
    _close(fleet)


def _invite(runner, instance: Path, email: str) -> None:
    """An account without a password: its first-access e-mail is queued in the outbox."""
    from cli import main

    result = runner.invoke(main, ["users", "add", str(instance), "--email", email,
                                  "--name", "Ana"])
    assert result.exit_code == 0, result.output


def _mails(instance: Path) -> list[str]:
    return sorted(p.read_text(encoding="utf-8", errors="replace")
                  for p in (instance / "data" / "outbox").glob("*.eml"))


def test_one_mail_worker_delivers_each_tenants_outbox_into_its_own_folder(
        fleet_dir, runner, caplog):
    from cli import main

    _invite(runner, fleet_dir / "alpha", "ana@alpha.example")
    _invite(runner, fleet_dir / "beta", "bia@beta.example")
    assert _mails(fleet_dir / "alpha") == _mails(fleet_dir / "beta") == []  # only queued
    result = runner.invoke(main, ["outbox", "work", "--all", str(fleet_dir), "--interval",
                                  "0.1", "--stop-with", "1"])  # not our parent: one pass
    assert result.exit_code == 0, result.output
    assert "alpha: sent 1 e-mail(s)" in result.output
    assert "beta: sent 1 e-mail(s)" in result.output
    alpha, beta = _mails(fleet_dir / "alpha"), _mails(fleet_dir / "beta")
    assert len(alpha) == len(beta) == 1
    assert "ana@alpha.example" in alpha[0] and "Alpha Homes" in alpha[0]
    assert "bia@beta.example" in beta[0] and "Alpha Homes" not in beta[0]

    from runtime.fleet import Outboxes, _close
    from runtime.mail import PassReport

    (fleet_dir / "alpha" / "release" / "config.json").write_text("{", encoding="utf-8")
    _invite(runner, fleet_dir / "beta", "bel@beta.example")
    outboxes = Outboxes(fleet_dir)
    with caplog.at_level(logging.ERROR, logger="runtime.fleet"):
        reports = outboxes.deliver()
        assert outboxes.deliver() == {"beta": PassReport()}  # nothing new, alpha still skipped
    assert list(reports) == ["beta"] and reports["beta"].sent == 1
    assert caplog.text.count("fleet outbox: alpha skipped") == 1  # once per release
    for _, app in outboxes._apps.values():
        _close(app)


def test_a_worker_that_loses_the_race_for_the_secret_key_takes_the_winners(built_instance,
                                                                         monkeypatch):
    """Each gunicorn worker of a fleet makes a tenant's app on its first request, so two
    may generate a fresh instance's key at once: the second takes the first one's whole
    key (it neither fails on the file being there nor reads it half-written)."""
    from runtime import create_app

    link = os.link

    def another_worker_first(source, target):
        Path(target).write_text("b" * 64)  # the other worker's key, linked in just before
        return link(source, target)

    monkeypatch.setattr(os, "link", another_worker_first)
    assert create_app(built_instance, fleet=True).config["SECRET_KEY"] == "b" * 64
    assert sorted(p.name for p in (built_instance / "data").iterdir()
                  if "secret" in p.name) == ["secret_key"]  # no part left behind


def test_the_fleet_needs_its_folder(tmp_path):
    from runtime import InstanceError
    from runtime.fleet import Fleet

    with pytest.raises(InstanceError, match="nowhere: no such folder of built instances"):
        Fleet(tmp_path / "nowhere")


def test_serve_takes_an_instance_or_a_fleet(runner, tmp_path, fleet_dir):
    from cli import main

    assert "either INSTANCE or --fleet" in runner.invoke(main, ["serve"]).output
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(main, ["serve", "--fleet", str(empty)])
    assert result.exit_code == 1 and "no built instance under" in result.output


# -- PostgreSQL: a schema per tenant, connections bounded --------------------------------

def _pg(url: str, sql: str, **params) -> list:
    import sqlalchemy

    engine = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            result = conn.execute(sqlalchemy.text(sql), params)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def test_db_upgrade_all_gives_each_tenant_its_own_schema(fleet_dir, runner, postgres_url,
                                                         monkeypatch, caplog):
    monkeypatch.setenv("PORTAL_DATABASE_URL", postgres_url)
    fleet = _fleet(fleet_dir, retry_seconds=3600)  # first without a schema: one database
    with caplog.at_level(logging.ERROR, logger="runtime.fleet"):
        assert _get(Client(fleet), "alpha.localhost", "/healthz").status_code == 200
        assert _get(Client(fleet), "beta.localhost", "/healthz").status_code == 503
    assert "its database is alpha's too" in caplog.text
    assert "PORTAL_DATABASE_SCHEMA=t_{tenant}" in caplog.text
    _close(fleet)

    monkeypatch.setenv("PORTAL_DATABASE_SCHEMA", "t_{tenant}")
    try:
        result = _upgrade_all(runner, fleet_dir)
        assert result.exit_code == 0, result.output
        assert "alpha: up to date (schema t_alpha)" in result.output
        assert _upgrade_all(runner, fleet_dir).exit_code == 0  # idempotent
        tables = _pg(postgres_url, "SELECT table_schema FROM information_schema.tables "
                                   "WHERE table_name IN ('users', 'alembic_version') "
                                   "AND table_schema LIKE 't\\_%' ORDER BY 1")
        assert [r[0] for r in tables] == ["t_alpha", "t_alpha", "t_beta", "t_beta"]

        fleet = _fleet(fleet_dir)
        alpha = fleet.app_of(fleet_dir.resolve() / "alpha")
        add_user(alpha)
        client = Client(fleet)
        assert AuthActions(_HostClient(client, "alpha.localhost")).login().status_code == 302
        beta = AuthActions(_HostClient(Client(fleet), "beta.localhost")).login()
        assert beta.status_code == 401  # no such account in beta's schema: refused
        users = _pg(postgres_url, "SELECT (SELECT count(*) FROM t_alpha.users), "
                                  "(SELECT count(*) FROM t_beta.users)")
        assert users == [(1, 0)]
        _close(fleet)
    finally:
        _pg(postgres_url, "DROP SCHEMA IF EXISTS t_alpha CASCADE; "
                          "DROP SCHEMA IF EXISTS t_beta CASCADE")


@pytest.mark.parametrize(("url", "schema", "message"), [
    ("", "t_{tenant}", "PORTAL_DATABASE_SCHEMA: a schema needs a PostgreSQL DATABASE_URL"),
    ("postgresql://db/portals", "T-{tenant}", "PORTAL_DATABASE_SCHEMA: expected a schema name"),
])
def test_a_schema_setting_that_cannot_work_is_one_clean_line(built_instance, runner,
                                                              monkeypatch, url, schema, message):
    from cli import main

    if url:
        monkeypatch.setenv("PORTAL_DATABASE_URL", url)
    monkeypatch.setenv("PORTAL_DATABASE_SCHEMA", schema)
    result = runner.invoke(main, ["db", "upgrade", str(built_instance)])
    assert result.exit_code == 1 and message in result.output
    assert "Traceback" not in result.output


def test_the_schema_is_named_after_the_tenant(built_instance, monkeypatch):
    from runtime import create_app

    monkeypatch.setenv("PORTAL_DATABASE_URL", "postgresql://db.example/portals")
    monkeypatch.setenv("PORTAL_DATABASE_SCHEMA", "t_{tenant}")
    app = create_app(built_instance, fleet=True)
    assert app.config["PORTAL_DATABASE_SCHEMA"] == "t_minimal"
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["connect_args"] == {"options": "-c search_path=t_minimal"}
    assert (options["pool_size"], options["max_overflow"]) == (1, 7)  # one idle at most


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _status(port: int, host: str, path: str) -> tuple[int, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_fifty_tenants_on_two_workers_stay_far_below_max_connections(tmp_path, postgres_url):
    """gunicorn with 2 workers serving 50 tenants: a pool per tenant would keep up to 100
    connections open (PostgreSQL's default max_connections); the fleet holds one per
    request being answered plus the idle ones of its IDLE_TENANTS most recent tenants."""
    from generator.build import build
    from runtime.fleet import IDLE_TENANTS

    for i in range(50):
        build(str(_tenant(tmp_path, f"t{i:02d}", f"Tenant {i:02d}")), tmp_path / "build")
    port = _free_port()
    env = {**os.environ, "PORTAL_DATABASE_URL": postgres_url,
           "PORTAL_DATABASE_SCHEMA": "t_{tenant}",
           "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    process = subprocess.Popen(
        [str(GUNICORN), "-w", "2", "-k", "sync", "-b", f"127.0.0.1:{port}", "--log-level",
         "warning", f"runtime.fleet:Fleet({str(tmp_path / 'build')!r})"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    counts: list[int] = []
    stop = threading.Event()

    def sample() -> None:
        sql = ("SELECT count(*) FROM pg_stat_activity "
               "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        import sqlalchemy

        engine = sqlalchemy.create_engine(postgres_url, poolclass=sqlalchemy.pool.NullPool)
        with engine.connect() as conn:
            while not stop.is_set():
                counts.append(conn.execute(sqlalchemy.text(sql)).scalar())
                conn.rollback()
                time.sleep(0.01)
        engine.dispose()

    try:
        for _ in range(150):
            try:
                if _status(port, "t00.localhost", "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not start: " + process.stderr.read1().decode())
        sampler = threading.Thread(target=sample)
        sampler.start()
        hosts = [f"t{i:02d}.localhost" for i in range(50)] * 2
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda h: (h, *_status(port, h, "/healthz/ready")), hosts))
        time.sleep(0.3)
        stop.set()
        sampler.join()
        refused = [answer for answer in answers if answer[1] != 200]
        if refused:  # the workers' log says why
            process.terminate()
            process.wait(10)
            pytest.fail(f"{[a[:2] for a in refused]}\n{process.stderr.read().decode()[-4000:]}")
        tenant_of = {h: json.loads(_status(port, h, "/healthz")[1])["tenant"] for h in hosts[:3]}
        assert tenant_of == {"t00.localhost": "t00", "t01.localhost": "t01",
                             "t02.localhost": "t02"}
        # per sync worker: its idle ones and one request's; plus 2 for a backend still
        # listed for a moment after its connection was closed (the server ends it later)
        bound = 2 * (IDLE_TENANTS + 1) + 2
        assert counts and 1 <= max(counts) <= bound, (max(counts), bound)
        assert 1 <= counts[-1] <= 2 * IDLE_TENANTS  # the busiest kept theirs, the others none
    finally:
        stop.set()
        process.terminate()
        process.wait(10)
        process.stderr.close()
