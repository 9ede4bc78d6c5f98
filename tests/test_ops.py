"""Operations: backup and restore, request ids and JSON logs, /metrics, `portal status`."""

from __future__ import annotations

import io
import json
import logging
import tarfile
import threading
import uuid

import pytest
import sqlalchemy
from sqlalchemy import text

from cli import main
from tests.conftest import PG_ADMIN_URL, AuthActions, add_user, make_app

TOKEN = "s3cret-metrics-token"


# -- databases: a throw-away one per test --------------------------------------------------

@pytest.fixture(params=["sqlite", "postgresql"])
def ops_db(request, built_instance, monkeypatch):
    """The instance's database URL, set as the CLI reads it (PORTAL_DATABASE_URL)."""
    if request.param == "sqlite":
        url = f"sqlite:///{built_instance / 'data' / 'portal.db'}"
        monkeypatch.setenv("PORTAL_DATABASE_URL", url)
        yield url
        return
    request.getfixturevalue("postgres_url")  # skips (or fails under CI) without PostgreSQL
    name = f"portal_ops_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    monkeypatch.setenv("PORTAL_DATABASE_URL", url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _emails(url: str) -> list[str]:
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            return sorted(conn.execute(text("SELECT email FROM users")).scalars())
    finally:
        engine.dispose()


_opened: list = []


@pytest.fixture(autouse=True)
def _dispose_apps():
    """Close the pools of the apps a test opened (PostgreSQL warns of open connections)."""
    yield
    from runtime.extensions import db

    while _opened:
        with _opened.pop().app_context():
            db.session.remove()
            db.engine.dispose()


def _app(instance, url):
    from runtime import create_app

    app = create_app(instance, {"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    _opened.append(app)
    return app


def test_backup_and_restore_round_trip(built_instance, ops_db, runner, tmp_path):
    assert runner.invoke(main, ["db", "upgrade", str(built_instance)]).exit_code == 0
    app = _app(built_instance, ops_db)
    add_user(app, "maria@example.com")
    upload = built_instance / "data" / "uploads" / "tickets" / "1" / "planta.pdf"
    upload.parent.mkdir(parents=True)
    upload.write_bytes(b"%PDF-1.4 planta")
    archive = tmp_path / "backups" / "minimal.tar.gz"

    result = runner.invoke(main, ["backup", str(built_instance), "--out", str(archive)])
    assert result.exit_code == 0, result.output
    assert "backed up minimal" in result.output
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))
    assert "data/uploads/tickets/1/planta.pdf" in names
    assert not any(n.startswith("data/portal.db") for n in names)  # never the live file
    assert manifest["tenant"] == "minimal"
    assert manifest["engine"] == ("sqlite" if ops_db.startswith("sqlite") else "postgresql")
    assert manifest["alembic_heads"] and manifest["generator_version"]
    assert manifest["created_at"].endswith("+00:00")

    # things change after the backup ...
    add_user(app, "joao@example.com")
    upload.write_bytes(b"overwritten")
    (upload.parent / "later.pdf").write_bytes(b"later")
    # ... a restore over a database with data is refused without --force
    refused = runner.invoke(main, ["restore", str(built_instance), str(archive)])
    assert refused.exit_code == 1
    assert "not empty" in refused.output and "--force" in refused.output
    assert _emails(ops_db) == ["joao@example.com", "maria@example.com"]

    restored = runner.invoke(main, ["restore", str(built_instance), str(archive), "--force"])
    assert restored.exit_code == 0, restored.output
    assert _emails(ops_db) == ["maria@example.com"]
    assert upload.read_bytes() == b"%PDF-1.4 planta"
    assert not (upload.parent / "later.pdf").exists()
    # the restored portal serves, and its user logs in
    served = _app(built_instance, ops_db)
    assert AuthActions(served.test_client()).login("maria@example.com").status_code == 302


def test_restore_into_an_empty_database_and_migrate_an_older_backup(built_instance, ops_db,
                                                                    runner, tmp_path):
    """A backup taken before a module's migration is restored, then migrated to this release."""
    from flask_migrate import downgrade

    from runtime.extensions import db

    assert runner.invoke(main, ["db", "upgrade", str(built_instance)]).exit_code == 0
    app = _app(built_instance, ops_db)
    add_user(app, "maria@example.com")
    with app.app_context():  # as if the backup came from an older release
        downgrade(directory=app.extensions["migrate"].directory, revision="finance@0007")
        db.engine.dispose()
    archive = tmp_path / "old.tar.gz"
    taken = runner.invoke(main, ["backup", str(built_instance), "--out", str(archive)])
    assert taken.exit_code == 0, taken.output
    with app.app_context():  # an empty database, at this release
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        db.engine.dispose()
    if ops_db.startswith("sqlite"):
        (built_instance / "data" / "portal.db").unlink()
    assert runner.invoke(main, ["db", "upgrade", str(built_instance)]).exit_code == 0

    result = runner.invoke(main, ["restore", str(built_instance), str(archive)])
    assert result.exit_code == 0, result.output
    assert "migrated" in result.output
    assert _emails(ops_db) == ["maria@example.com"]
    status = runner.invoke(main, ["status", str(built_instance.parent), "--format", "json"])
    assert json.loads(status.stdout)[0]["migrations_pending"] == 0


def test_backup_while_writes_happen_is_consistent(built_instance, ops_db, runner, tmp_path):
    """A writer adds users two by two, one transaction each: the backup holds whole pairs."""
    assert runner.invoke(main, ["db", "upgrade", str(built_instance)]).exit_code == 0
    engine = sqlalchemy.create_engine(ops_db)
    stop = threading.Event()
    written = []

    def write() -> None:
        i = 0
        while not stop.is_set():
            with engine.begin() as conn:
                for side in ("a", "b"):
                    conn.execute(text(
                        "INSERT INTO users (email, name, role, active, created_at) VALUES "
                        "(:email, 'Writer', 'client', true, CURRENT_TIMESTAMP)"),
                        {"email": f"w{i}{side}@example.com"})
            i += 1
            written.append(i)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        while len(written) < 20:
            stop.wait(0.01)
        archive = tmp_path / "live.tar.gz"
        result = runner.invoke(main, ["backup", str(built_instance), "--out", str(archive)])
        assert result.exit_code == 0, result.output
    finally:
        stop.set()
        writer.join()
        engine.dispose()
    total = len(written)
    restored = runner.invoke(main, ["restore", str(built_instance), str(archive), "--force"])
    assert restored.exit_code == 0, restored.output
    emails = _emails(ops_db)
    pairs_a = {e[:-13] for e in emails if e.endswith("a@example.com")}
    pairs_b = {e[:-13] for e in emails if e.endswith("b@example.com")}
    assert pairs_a == pairs_b  # never half a transaction
    assert 20 <= len(pairs_a) <= total
    if ops_db.startswith("sqlite"):
        engine = sqlalchemy.create_engine(ops_db)
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        engine.dispose()


def test_restore_refuses_what_it_cannot_restore(built_instance, runner, tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_DATABASE_URL", f"sqlite:///{built_instance / 'data' / 'portal.db'}")
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not an archive")
    result = runner.invoke(main, ["restore", str(built_instance), str(junk)])
    assert result.exit_code == 1 and "not a portal backup" in result.output
    archive = tmp_path / "other.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        manifest = json.dumps({"format": 1, "tenant": "aurora", "engine": "sqlite",
                               "database": "database/portal.sqlite"}).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
    result = runner.invoke(main, ["restore", str(built_instance), str(archive)])
    assert result.exit_code == 1
    assert "backup of tenant 'aurora'" in result.output and "Traceback" not in result.output


def test_postgresql_backup_without_pg_dump_fails_clearly(built_instance, runner, tmp_path,
                                                         monkeypatch, postgres_url):
    import shutil

    monkeypatch.setenv("PORTAL_DATABASE_URL", postgres_url)
    real = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name == "pg_dump"
                        else real(name, *a, **k))
    result = runner.invoke(main, ["backup", str(built_instance), "--out", str(tmp_path / "x.tgz")])
    assert result.exit_code == 1
    assert "pg_dump is not installed" in result.output
    assert not (tmp_path / "x.tgz").exists()


# -- request ids and logs ------------------------------------------------------------------

def test_request_id_is_echoed_or_generated(sqlite_app):
    client = sqlite_app.test_client()
    given = client.get("/login", headers={"X-Request-ID": "lb-7f3a9c"})
    assert given.headers["X-Request-ID"] == "lb-7f3a9c"
    fresh = client.get("/login")
    assert len(fresh.headers["X-Request-ID"]) == 32
    for bad in ("a" * 300, "x Set-Cookie: a=b", "<script>", "-leading", "ção"):
        answered = client.get("/login", headers={"X-Request-ID": bad})
        assert answered.headers["X-Request-ID"] != bad
        assert len(answered.headers["X-Request-ID"]) == 32
    assert client.get("/nope").headers["X-Request-ID"]


def test_json_logs_carry_request_id_and_tenant(built_instance, capfd):
    app = make_app(built_instance, PORTAL_LOG_FORMAT="json")
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        app.test_client().get("/login", headers={"X-Request-ID": "req-42"})
        app.test_client().get("/login", headers={"X-Request-ID": "req-43"})
        lines = [json.loads(line) for line in capfd.readouterr().err.splitlines()
                 if line.startswith("{")]
    finally:
        for handler in list(root.handlers):
            if getattr(handler, "portal_json", False):
                root.removeHandler(handler)
        for handler in handlers:
            if handler not in root.handlers:
                root.addHandler(handler)
        root.setLevel(level)
    access = [entry for entry in lines if entry["logger"] == "runtime.access"]
    assert [entry["request_id"] for entry in access] == ["req-42", "req-43"]
    assert access[0]["tenant"] == "minimal"
    assert access[0]["status"] == 200 and access[0]["path"] == "/login"
    assert access[0]["level"] == "info" and access[0]["duration_ms"] >= 0


def test_log_format_setting_is_checked(built_instance, monkeypatch):
    from runtime import InstanceError, create_app

    monkeypatch.setenv("PORTAL_LOG_FORMAT", "xml")
    with pytest.raises(InstanceError, match='PORTAL_LOG_FORMAT: expected "text" or "json"'):
        create_app(built_instance)


# -- /metrics ------------------------------------------------------------------------------

def test_metrics_are_behind_a_token(built_instance):
    closed = make_app(built_instance).test_client()
    assert closed.get("/metrics").status_code == 404
    client = make_app(built_instance, PORTAL_METRICS_TOKEN=TOKEN).test_client()
    missing = client.get("/metrics")
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
    ok = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200 and ok.content_type.startswith("text/plain")
    assert "Set-Cookie" not in ok.headers  # no session for a scraper


def test_metrics_count_requests_failed_logins_and_outbox(app):
    from prometheus_client.parser import text_string_to_metric_families

    app.config["PORTAL_METRICS_TOKEN"] = TOKEN
    add_user(app, "maria@example.com")
    client = app.test_client()
    auth = AuthActions(client)
    assert auth.login("maria@example.com", "wrong-password").status_code == 401
    assert auth.login("maria@example.com", "wrong-password").status_code == 401
    from runtime.extensions import db
    from runtime.models import OutboxMessage

    with app.app_context():  # two e-mails waiting, one refused by the server
        db.session.add_all([OutboxMessage(recipient=f"c{i}@example.com", subject="Olá",
                                          raw=b"x", status=status)
                            for i, status in enumerate(("pending", "pending", "failed"))])
        db.session.commit()
    client.get("/nope")
    body = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(
        as_text=True)
    samples = {}
    for family in text_string_to_metric_families(body):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    tenant = ("tenant", "minimal")

    def value(name, **labels):
        return samples.get((name, tuple(sorted([tenant, *labels.items()]))), 0)

    assert value("portal_failed_logins_total", reason="credentials") >= 2
    assert value("portal_http_requests_total", method="POST", endpoint="auth.login",
                 status="401") >= 2
    assert value("portal_http_requests_total", method="GET", endpoint="unmatched",
                 status="404") >= 1
    assert value("portal_http_request_duration_seconds_count", endpoint="auth.login") >= 2
    assert value("portal_outbox_messages", status="pending") == 2
    assert value("portal_outbox_messages", status="failed") == 1
    assert ("portal_outbox_messages", (("status", "unknown"), tenant)) in samples
    assert all(dict(labels).get("tenant", "minimal") == "minimal" for _, labels in samples)


# -- portal status -------------------------------------------------------------------------

def test_status_lists_every_instance(built_instance, runner, monkeypatch, tmp_path):
    from runtime.status import record_import

    monkeypatch.setenv("PORTAL_DATABASE_URL", f"sqlite:///{built_instance / 'data' / 'portal.db'}")
    fresh = runner.invoke(main, ["status", str(built_instance.parent), "--format", "json"])
    assert fresh.exit_code == 0, fresh.output
    [row] = json.loads(fresh.stdout)
    assert row["id"] == "minimal" and row["migrations_pending"] > 0
    assert row["outbox"] is None and row["last_import"] is None
    assert row["release"]["id"] and row["generator_version"]

    assert runner.invoke(main, ["db", "upgrade", str(built_instance)]).exit_code == 0
    record_import(built_instance / "data", {"customers": {"created": 3, "updated": 1,
                                                          "unchanged": 0, "removed": 0}})
    [row] = json.loads(runner.invoke(main, ["status", str(built_instance.parent),
                                            "--format", "json"]).stdout)
    assert row["migrations_pending"] == 0 and row["pending_revisions"] == []
    assert row["outbox"] == {"pending": 0, "failed": 0, "unknown": 0}
    assert row["last_import"]["totals"]["created"] == 3
    shown = runner.invoke(main, ["status", str(built_instance.parent)])
    assert shown.exit_code == 0
    header, line = shown.stdout.splitlines()[:2]
    assert header.split()[:2] == ["INSTANCE", "RELEASE"]
    assert line.startswith("minimal") and " no " in line and "3 created" in line


def test_import_records_the_last_import(built_instance, tmp_path):
    from pathlib import Path

    from runtime.erp import importer
    from runtime.status import last_import

    app = make_app(built_instance)
    with app.app_context():
        erp = Path(__file__).resolve().parent.parent / "tenants" / "aurora" / "erp"
        assert importer.run(erp, dry_run=True).errors == []
        assert last_import(built_instance / "data") is None  # a dry run is not an import
        report = importer.run(erp)
    entry = last_import(built_instance / "data")
    assert entry["counts"]["customers"] == report.counts["customers"]
    assert entry["totals"]["created"] > 0


def test_status_names_an_instance_it_cannot_read(built_instance, runner, monkeypatch):
    monkeypatch.setenv("PORTAL_DATABASE_URL", "postgresql://portal@127.0.0.1:1/nowhere")
    result = runner.invoke(main, ["status", str(built_instance.parent)])
    assert result.exit_code == 1
    assert "minimal: database:" in result.stdout and "Traceback" not in result.output
    [row] = json.loads(runner.invoke(main, ["status", str(built_instance.parent), "--format",
                                            "json"]).stdout)
    assert row["id"] == "minimal" and row["error"].startswith("database:")


def test_a_server_error_page_shows_the_request_id(built_instance):
    app = make_app(built_instance, PROPAGATE_EXCEPTIONS=False)

    def broken():
        raise RuntimeError("boom")

    app.add_url_rule("/broken", "broken", broken)
    answer = app.test_client().get("/broken", headers={"X-Request-ID": "support-1234"})
    assert answer.status_code == 500
    page = answer.get_data(as_text=True)
    assert "support-1234" in page and "boom" not in page
    assert "support-1234" not in app.test_client().get("/nope").get_data(as_text=True)


def test_restore_refuses_a_backup_of_a_newer_release(built_instance, runner, tmp_path,
                                                     monkeypatch):
    monkeypatch.setenv("PORTAL_DATABASE_URL", f"sqlite:///{built_instance / 'data' / 'portal.db'}")
    archive = tmp_path / "minimal.tar.gz"
    taken = runner.invoke(main, ["backup", str(built_instance), "--out", str(archive)])
    assert taken.exit_code == 0, taken.output
    newer = tmp_path / "newer.tar.gz"
    with tarfile.open(archive) as old, tarfile.open(newer, "w:gz") as new:
        for member in old.getmembers():
            content = old.extractfile(member).read()
            if member.name == "manifest.json":
                manifest = json.loads(content)
                manifest["alembic_heads"].append("0042_from_the_future")
                content = json.dumps(manifest).encode()
                member.size = len(content)
            new.addfile(member, io.BytesIO(content))
    result = runner.invoke(main, ["restore", str(built_instance), str(newer), "--force"])
    assert result.exit_code == 1
    assert "newer release" in result.output and "0042_from_the_future" in result.output
