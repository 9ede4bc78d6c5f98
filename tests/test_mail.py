"""E-mail delivery: requests only queue, the outbox worker delivers exactly once, retries
with backoff for 24 hours, leaves interrupted deliveries for review; receipts and branding."""

from __future__ import annotations

import email
import io
import socket
import socketserver
import threading
import time
from datetime import UTC, datetime, timedelta
from email import policy
from types import SimpleNamespace

import pytest
from PIL import Image

from tests.conftest import add_user, deliver, login, outbox, submit
from tests.test_tickets import open_leak

# the fixed clock starts after the rows the tests queue (at the real time) are due
T0 = (datetime.now(UTC) + timedelta(days=1)).replace(tzinfo=None, microsecond=0)


class Clock:
    """A fixed clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


# -- a small SMTP server ------------------------------------------------------------------

class FakeSMTP(socketserver.ThreadingTCPServer):
    """Enough of SMTP for smtplib; records what it accepted and can misbehave on request."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SMTPHandler)
        self.messages: list[bytes] = []
        self.lock = threading.Lock()
        self.refuse: dict[str, bytes] = {}  # recipient -> RCPT reply
        self.drop_after_data = False  # read the message, then hang up without answering
        self.connections = 0

    @property
    def port(self) -> int:
        return self.server_address[1]

    def received(self) -> list[email.message.EmailMessage]:
        with self.lock:
            return [email.message_from_bytes(m, policy=policy.default) for m in self.messages]


class _SMTPHandler(socketserver.StreamRequestHandler):
    def reply(self, line: bytes) -> None:
        self.wfile.write(line + b"\r\n")

    def handle(self) -> None:
        server: FakeSMTP = self.server  # type: ignore[assignment]
        with server.lock:
            server.connections += 1
        self.reply(b"220 fake ESMTP")
        while line := self.rfile.readline():
            verb = line[:4].upper()
            if verb == b"EHLO":
                self.reply(b"250-fake\r\n250 8BITMIME")
            elif verb == b"RCPT":
                address = line.split(b":", 1)[1].strip(b" <>\r\n").decode()
                self.reply(server.refuse.get(address, b"250 OK"))
            elif verb == b"DATA":
                self.reply(b"354 go on")
                body = b"".join(iter(self.rfile.readline, b".\r\n"))
                if server.drop_after_data:
                    with server.lock:
                        server.messages.append(body)
                    return
                with server.lock:
                    server.messages.append(body.replace(b"\r\n..", b"\r\n."))
                self.reply(b"250 queued")
            elif verb == b"QUIT":
                self.reply(b"221 bye")
                return
            else:  # HELO, MAIL, RSET, NOOP
                self.reply(b"250 OK")


@pytest.fixture
def smtp():
    server = FakeSMTP()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def use_smtp(app, monkeypatch, port: int) -> None:
    """Point the app at an SMTP server on localhost instead of the outbox folder."""
    monkeypatch.delenv("PORTAL_MAIL", raising=False)  # for the apps the CLI makes
    monkeypatch.setitem(app.config, "PORTAL_MAIL", "smtp")  # this app read it when made
    monkeypatch.setitem(app.extensions["portal"]["integrations"], "email", {
        "host": "127.0.0.1", "port": port, "security": "none", "from": "Desk <desk@example.com>"})


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def queue_resets(app, count: int, start: int = 0) -> None:
    from runtime import mail
    from runtime.extensions import db

    with app.test_request_context():
        for i in range(start, start + count):
            mail.queue(f"user{i}@example.com", f"Reset {i}", "reset_password",
                       user=SimpleNamespace(name=f"User {i}"), link=f"https://x.example/r/{i}")
        db.session.commit()


def rows(app) -> list:
    from runtime.extensions import db
    from runtime.models import OutboxMessage

    with app.app_context():
        found = db.session.scalars(db.select(OutboxMessage).order_by(OutboxMessage.id)).all()
        db.session.expunge_all()
        return found


def statuses(app) -> list[str]:
    return [r.status for r in rows(app)]


# -- requests only queue --------------------------------------------------------------------

@pytest.fixture
def desk(desk_app):
    add_user(desk_app, "client@example.com", name="Clara Client")
    add_user(desk_app, "staff@example.com", role="staff", name="Sam Staff")
    add_user(desk_app, "admin@example.com", role="admin", name="Ada Admin")
    return desk_app


def test_no_request_talks_to_smtp_and_all_is_delivered_later(desk, monkeypatch, smtp):
    import smtplib

    def forbidden(*args, **kwargs):
        raise AssertionError("a request opened an SMTP connection")

    use_smtp(desk, monkeypatch, smtp.port)
    monkeypatch.setattr(smtplib, "SMTP", forbidden)
    monkeypatch.setattr(smtplib, "SMTP_SSL", forbidden)
    client = login(desk, "client@example.com")
    staff = login(desk, "staff@example.com")
    protocol = open_leak(client)
    page = f"/staff/tickets/{protocol}"
    submit(staff, f"{page}/reply", {"body": "On our way"}, page=page)
    submit(client, f"/tickets/{protocol}/reply", {"body": "Thanks"}, page=f"/tickets/{protocol}")
    submit(desk.test_client(), "/forgot", {"identifier": "client@example.com"})
    queued = rows(desk)
    # receipt, new ticket x2 (staff, admin), staff reply, client reply x2, reset link
    assert len(queued) == 7
    assert {(r.status, r.attempts) for r in queued} == {("pending", 0)}
    monkeypatch.undo()
    use_smtp(desk, monkeypatch, smtp.port)
    report = deliver(desk)
    assert (report.sent, report.server_down) == (7, None)
    assert statuses(desk) == ["sent"] * 7
    assert sorted(m["Message-ID"] for m in smtp.received()) == sorted(r.message_id
                                                                       for r in queued)
    assert smtp.connections == 1  # one connection for the whole pass


def test_receipt_with_the_protocol_when_a_client_opens_a_request(desk):
    client = login(desk, "client@example.com")
    protocol = open_leak(client)
    [receipt] = [m for m in outbox(desk) if m["To"] == "client@example.com"]
    assert receipt["Subject"] == f"[{protocol}] We received your request"
    text = receipt.get_body(("plain",)).get_content()
    assert f"Its protocol number is {protocol}" in text and f"/tickets/{protocol}" in text


def test_receipt_in_the_tenant_language(tmp_path):
    import shutil

    from generator.build import build
    from tests.conftest import FIXTURES, make_app

    target = tmp_path / "tenants" / "desk"
    shutil.copytree(FIXTURES / "tenants" / "desk", target)
    tenant = target / "tenant.yaml"
    tenant.write_text(tenant.read_text().replace("locale: en", "locale: es"))
    app = make_app(build(str(tenant), tmp_path / "build").instance)
    add_user(app, "client@example.com", name="Clara Client")
    protocol = open_leak(login(app, "client@example.com"))
    [receipt] = [m for m in outbox(app) if m["To"] == "client@example.com"]
    assert receipt["Subject"] == f"[{protocol}] Recibimos su solicitud"
    assert f"Su número de protocolo es {protocol}" in receipt.get_body(("plain",)).get_content()


def test_emails_carry_the_logo_and_colours(app, client):
    """The minimal tenant: an SVG logo (rasterised, inline) and primary #F2A900."""
    add_user(app, "maria@example.com")
    submit(client, "/forgot", {"identifier": "maria@example.com"})
    [message] = outbox(app)
    html_part = message.get_body(("html",))
    html = html_part.get_content()
    branding = app.extensions["portal"]["branding"]
    band = (f"background:{branding['colors']['primary']};padding:14px 24px;"
            f"color:{branding['on_colors']['primary']}")
    assert band in html
    [logo] = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert f'src="cid:{logo["Content-ID"][1:-1]}"' in html
    with Image.open(io.BytesIO(logo.get_content())) as image:
        assert image.height == 72 and image.width > 72  # the wide logo, sharp at 36 px


# -- exactly once -----------------------------------------------------------------------------

def test_concurrent_workers_send_each_message_exactly_once(app, monkeypatch, smtp):
    from runtime.mail import deliver_pending

    queue_resets(app, 100)
    use_smtp(app, monkeypatch, smtp.port)
    errors = []

    def worker():
        try:
            with app.app_context():
                while deliver_pending(limit=7).tried:
                    pass
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    ids = [m["Message-ID"] for m in smtp.received()]
    assert len(ids) == 100 and len(set(ids)) == 100
    assert statuses(app) == ["sent"] * 100


# -- nothing lost, nothing doubled ----------------------------------------------------------------

def test_backoff_keeps_a_message_pending_for_24_hours_then_fails_it(app, monkeypatch):
    from runtime.mail import deliver_pending

    queue_resets(app, 1)
    use_smtp(app, monkeypatch, closed_port())  # the server is down
    clock, waits = Clock(T0), []
    with app.app_context():
        while True:
            report = deliver_pending(clock=clock)
            assert report.tried == 1 and report.server_down
            [row] = rows(app)
            if row.status == "failed":
                break
            assert row.status == "pending" and row.last_error
            assert deliver_pending(clock=clock).tried == 0  # not due yet
            waits.append(row.next_attempt_at - clock.now)
            clock.now = row.next_attempt_at
    minutes = [w // timedelta(minutes=1) for w in waits]
    assert minutes[:8] == [1, 2, 4, 8, 16, 32, 60, 60]
    # failed on the first attempt 24 hours after the first failure, not before
    assert clock.now - T0 >= timedelta(hours=24) > clock.now - T0 - waits[-1]
    assert row.attempts == len(waits) + 1
    assert "refused" in row.last_error.lower()


def test_a_short_outage_loses_nothing(app, monkeypatch, smtp):
    from runtime.mail import deliver_pending

    queue_resets(app, 3)
    use_smtp(app, monkeypatch, closed_port())
    with app.app_context():
        report = deliver_pending(clock=lambda: T0)
    # the first try failed; the others wait their turn instead of hammering a dead server
    assert (report.retrying, report.server_down is not None) == (1, True)
    assert [(r.status, r.attempts) for r in rows(app)] == [("pending", 1), ("pending", 0),
                                                           ("pending", 0)]
    use_smtp(app, monkeypatch, smtp.port)
    with app.app_context():
        report = deliver_pending(clock=lambda: T0 + timedelta(minutes=2))
    assert report.sent == 3 and statuses(app) == ["sent"] * 3


def test_a_refused_recipient_fails_at_once_and_the_others_go_on(app, monkeypatch, smtp):
    queue_resets(app, 3)
    smtp.refuse["user1@example.com"] = b"550 5.1.1 no such mailbox"
    use_smtp(app, monkeypatch, smtp.port)
    report = deliver(app)
    assert (report.sent, report.failed) == (2, 1)
    failed = rows(app)[1]
    assert failed.status == "failed" and "550 5.1.1 no such mailbox" in failed.last_error
    assert sorted(m["To"] for m in smtp.received()) == ["user0@example.com", "user2@example.com"]


def test_a_delivery_interrupted_after_the_data_is_not_sent_twice(app, monkeypatch, smtp):
    queue_resets(app, 2)
    smtp.drop_after_data = True
    use_smtp(app, monkeypatch, smtp.port)
    report = deliver(app)
    assert (report.sent, report.unknown) == (0, 1)
    assert statuses(app) == ["unknown", "pending"]
    smtp.drop_after_data = False
    report = deliver(app)
    assert report.sent == 1 and statuses(app) == ["unknown", "sent"]
    assert len(smtp.received()) == 2  # the interrupted one reached the server once, only once


def test_a_claim_left_by_a_dead_worker_is_kept_for_review(app, monkeypatch, smtp):
    from runtime import mail
    from runtime.extensions import db
    from runtime.models import OutboxMessage

    queue_resets(app, 2)
    with app.app_context():
        for row, minutes in zip(db.session.scalars(db.select(OutboxMessage)), (11, 2),
                                strict=True):
            row.status, row.claimed_at = "sending", T0 - timedelta(minutes=minutes)
            row.claim_token = "dead-worker"
        db.session.commit()
    use_smtp(app, monkeypatch, smtp.port)
    with app.app_context():
        assert mail.deliver_pending(clock=lambda: T0).tried == 0
    stale, recent = rows(app)
    assert stale.status == "unknown" and "may have accepted it" in stale.last_error
    assert recent.status == "sending"  # its worker may still be at it
    assert smtp.received() == []
    with app.app_context():
        assert mail.requeue([stale.id], clock=lambda: T0) == 1
        mail.deliver_pending(clock=lambda: T0 + timedelta(minutes=1))
    [resent] = smtp.received()
    assert resent["Message-ID"] == stale.message_id  # the same id: a duplicate can be spotted
    assert statuses(app) == ["sent", "sending"]


# -- commands ---------------------------------------------------------------------------------

def _fail_all(app) -> None:
    from runtime.extensions import db
    from runtime.models import OutboxMessage

    with app.app_context():
        for row in db.session.scalars(db.select(OutboxMessage)):
            row.status, row.last_error = "failed", "550 no"
        db.session.commit()


def test_outbox_send_makes_one_pass_and_failed_retries_the_failed(app, runner, monkeypatch):
    from cli import main

    queue_resets(app, 2)
    _fail_all(app)
    queue_resets(app, 1, start=2)
    monkeypatch.setenv("PORTAL_DATABASE_URL", app.config["SQLALCHEMY_DATABASE_URI"])
    result = runner.invoke(main, ["outbox", "send", app.instance_path])
    assert result.exit_code == 0, result.output
    assert result.output == "sent 1 e-mail(s)\n"
    assert statuses(app) == ["failed", "failed", "sent"]
    result = runner.invoke(main, ["outbox", "send", app.instance_path, "--failed"])
    assert result.exit_code == 0, result.output
    assert result.output == "re-queued 2 failed e-mail(s)\nsent 2 e-mail(s)\n"
    assert statuses(app) == ["sent"] * 3
    assert sorted(m["To"] for m in outbox(app)) == [f"user{i}@example.com" for i in range(3)]


def test_outbox_send_exits_1_while_the_server_is_down(app, runner, monkeypatch):
    from cli import main

    queue_resets(app, 2)
    use_smtp(app, monkeypatch, closed_port())
    config = app.extensions["portal"]["integrations"]["email"]
    monkeypatch.setenv("PORTAL_DATABASE_URL", app.config["SQLALCHEMY_DATABASE_URI"])
    # the CLI loads the instance's own config: point it at the dead server too
    import runtime

    loaded = runtime.load_config

    def with_dead_server(*args, **kwargs):
        portal = loaded(*args, **kwargs)
        portal["integrations"]["email"] = config
        return portal

    monkeypatch.setattr(runtime, "load_config", with_dead_server)
    result = runner.invoke(main, ["outbox", "send", app.instance_path])
    assert result.exit_code == 1
    assert "1 will be retried later" in result.output
    assert "the mail server is unavailable" in result.output
    assert statuses(app) == ["pending", "pending"]


def test_the_server_starts_and_stops_its_outbox_worker(built_instance):
    from cli import _mail_worker
    from tests.conftest import make_app

    app = make_app(built_instance)
    queue_resets(app, 1)
    folder = built_instance / "data" / "outbox"
    with _mail_worker(str(built_instance)) as child:
        deadline = time.monotonic() + 30
        while not list(folder.glob("*.eml")) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert child.poll() is None  # still working beside the server
    assert child.returncode == 0  # SIGTERM: it finished cleanly
    assert len(list(folder.glob("*.eml"))) == 1 and statuses(app) == ["sent"]


def test_worker_loop_stops_when_asked(app):
    from runtime.mail import work

    queue_resets(app, 2)
    stop = threading.Event()
    passes = []

    def on_pass(report):
        passes.append(report.sent)
        if len(passes) == 2:
            stop.set()

    with app.app_context():
        work(stop, interval=0.01, on_pass=on_pass)
    assert passes == [2, 0] and statuses(app) == ["sent", "sent"]


# -- the staff screen -----------------------------------------------------------------------

def test_admins_see_failed_mail_and_retry_it(desk):
    queue_resets(desk, 1)
    _fail_all(desk)
    staff = login(desk, "staff@example.com")
    assert "/staff/outbox" not in staff.get("/staff/").get_data(as_text=True)
    assert staff.get("/staff/outbox").status_code == 403
    admin = login(desk, "admin@example.com")
    assert 'href="/staff/outbox"' in admin.get("/staff/").get_data(as_text=True)
    page = admin.get("/staff/outbox").get_data(as_text=True)
    assert "user0@example.com" in page and "550 no" in page and "Failed" in page
    [row] = rows(desk)
    bad = submit(admin, "/staff/outbox/retry", {"id": "9" * 30}, page="/staff/outbox")
    assert bad.status_code == 400
    done = submit(admin, "/staff/outbox/retry", {"id": str(row.id)}, page="/staff/outbox",
                  follow_redirects=True)
    assert "1 message(s) queued again" in done.get_data(as_text=True)
    assert statuses(desk) == ["pending"]
    assert "No e-mail is failing or waiting." in admin.get("/staff/outbox").get_data(
        as_text=True)

