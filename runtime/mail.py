"""E-mail: a request only queues it; the outbox worker delivers it.

A request adds rows to the outbox table in the same transaction as the change they
report, and never opens an SMTP connection: a hung or unreachable server cannot stall
the portal. `portal outbox work INSTANCE` (started beside the web server by `portal
serve` and `portal demo`) delivers them, and `portal outbox send INSTANCE` makes one pass.

Each message goes claim -> send -> mark sent:

- claim: one atomic UPDATE moves a due row from pending to sending under a fresh claim
  token (its subquery locks with FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite takes its
  write lock for the whole statement), so two workers never send the same row;
- an unreachable or busy server (connection errors, 4xx answers) puts the row back to
  pending with exponential backoff, 1 minute doubling up to 1 hour, and only after 24
  hours of failures is it failed; a refusal of the message itself (5xx) fails it at once;
- a delivery that may have reached the server is never repeated by a machine: a claim
  older than CLAIM_TIMEOUT (the worker died between sending and marking sent) and a
  connection lost after the message body was sent both become "unknown", for staff to
  review. `portal outbox send --failed` and the staff screen re-queue failed and unknown
  messages; the Message-ID stays the same, so a duplicate can be recognised downstream.
"""

from __future__ import annotations

import io
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from pathlib import Path

from blinker import Namespace
from flask import current_app, render_template
from sqlalchemy import exists, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import aliased

from .extensions import db
from .mail_smtp import (
    MailError,
    PermanentFailure,
    SmtpTransport,
    TemporaryFailure,
    UncertainDelivery,
)
from .models import OutboxMessage, utcnow

__all__ = ["Attachment", "MailError", "PassReport", "PermanentFailure", "TemporaryFailure",
           "UncertainDelivery", "backoff", "build_message", "deliver_pending", "outbox_pass",
           "queue", "requeue", "sweep_stale", "work"]

BACKOFF_FIRST = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=1)
RETRY_FOR = timedelta(hours=24)  # a message is retried this long before it is failed
# longer than any single delivery can take (each SMTP step times out after 15 s)
CLAIM_TIMEOUT = timedelta(minutes=10)
INTERRUPTED = ("delivery was interrupted after the message was handed to the mail server, "
               "which may have accepted it: not re-sent automatically")
REVIEW = ("failed", "unknown")  # what staff see and may re-queue
LOGO_HEIGHT = 72  # pixels: shown 36 px high, sharp on high-density screens

outbox_pass = Namespace().signal("outbox-pass")
"""Sent at the start of each delivery pass of the worker (`deliver_pending`), sender: the
app, keyword `now` (UTC): modules queue their timed e-mails here (Manifest.handlers), and
commit, so this same pass delivers them."""


# -- queueing (inside a request) ------------------------------------------------------------

def _sender(portal: dict) -> str:
    email = portal["integrations"].get("email")
    if email:
        return email["from"]
    fallback = portal["tenant"].get("support_email") or f"no-reply@{portal['tenant']['id']}.invalid"
    return formataddr((portal["tenant"]["name"], fallback))


@dataclass(frozen=True)
class Attachment:
    """A file sent with a message (e.g. an appointment's .ics invitation)."""

    filename: str
    content: bytes
    mimetype: str  # "text/calendar; method=REQUEST": main/sub type, then parameters


def build_message(to: str, subject: str, template: str, *,
                  attachments: tuple[Attachment, ...] = (), **context) -> EmailMessage:
    """A text + HTML message rendered from templates/email/<template>.{txt,html}, with
    `attachments` after them."""
    portal = current_app.extensions["portal"]
    msg = EmailMessage()
    msg["From"] = _sender(portal)
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=f"{portal['tenant']['id']}.portal")
    if portal["tenant"].get("support_email"):
        msg["Reply-To"] = portal["tenant"]["support_email"]
    logo = _logo_png()
    cid = make_msgid(domain=f"{portal['tenant']['id']}.portal") if logo else None
    msg.set_content(render_template(f"email/{template}.txt", subject=subject, **context))
    msg.add_alternative(render_template(f"email/{template}.html", subject=subject,
                                        logo_cid=cid and cid[1:-1], **context), subtype="html")
    if logo:  # inline, so it shows even where remote images are blocked
        msg.get_payload()[1].add_related(logo, "image", "png", cid=cid, filename="logo.png")
    for item in attachments:
        kind, *params = [p.strip() for p in item.mimetype.split(";")]
        maintype, subtype = kind.split("/", 1)
        msg.add_attachment(item.content, maintype=maintype, subtype=subtype,
                           filename=item.filename,
                           params=dict(p.split("=", 1) for p in params if "=" in p))
    return msg


def queue(to: str, subject: str, template: str, *, attachments: tuple[Attachment, ...] = (),
          **context) -> OutboxMessage:
    """Add a message to the outbox in the current transaction (the caller commits)."""
    msg = build_message(to, subject, template, attachments=attachments, **context)
    row = OutboxMessage(recipient=to, subject=subject, raw=bytes(msg),
                        message_id=str(msg["Message-ID"]), status="pending",
                        next_attempt_at=utcnow())
    db.session.add(row)
    return row


def _logo_png() -> bytes | None:
    """The tenant's logo as a small PNG (SVG rasterised: mail programs do not show SVG)."""
    cache = current_app.extensions["portal"].mail_logo
    if "png" not in cache:
        cache["png"] = _render_logo()
    return cache["png"]


def _render_logo() -> bytes | None:
    name = current_app.extensions["portal"]["branding"].get("logo")
    if not name:
        return None
    path = Path(current_app.static_folder or "") / name
    try:
        if path.suffix.lower() == ".svg":
            import resvg_py

            return bytes(resvg_py.svg_to_bytes(svg_path=str(path), height=LOGO_HEIGHT))
        from PIL import Image

        with Image.open(path) as image:
            image.thumbnail((LOGO_HEIGHT * 8, LOGO_HEIGHT))
            out = io.BytesIO()
            image.save(out, "PNG")
            return out.getvalue()
    except (ImportError, OSError, ValueError) as exc:  # a broken logo costs the picture only
        current_app.logger.warning("e-mail logo %s not usable: %s", name, exc)
        return None


# -- delivery (the worker) ------------------------------------------------------------------

@dataclass
class PassReport:
    """What one delivery pass did."""

    sent: int = 0
    retrying: int = 0  # back to pending, with backoff
    failed: int = 0
    unknown: int = 0
    server_down: str | None = None  # why the pass stopped early

    @property
    def tried(self) -> int:
        return self.sent + self.retrying + self.failed + self.unknown


class FolderTransport:
    """PORTAL_MAIL=outbox, or no SMTP server configured: write .eml files instead."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, raw: bytes) -> None:
        name = f"{utcnow():%Y%m%d%H%M%S%f}-{uuid.uuid4().hex[:8]}.eml"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / name).write_bytes(raw)
        except OSError as exc:  # a full or read-only disk is an outage like any other
            raise TemporaryFailure(f"outbox folder {self.folder}: {exc}") from exc

    def close(self) -> None:
        pass


def smtp_server() -> dict | None:
    """The tenant's SMTP server, or None when e-mail goes to the outbox folder instead."""
    portal = current_app.extensions["portal"]
    # PORTAL_MAIL=outbox keeps demos and staging copies from e-mailing real clients
    if portal.settings.mail_outbox:
        return None
    return portal["integrations"].get("email") or None


def _transport() -> SmtpTransport | FolderTransport:
    server = smtp_server()
    if server is None:
        return FolderTransport(Path(current_app.config["PORTAL_OUTBOX_DIR"]))
    return SmtpTransport(server, current_app.extensions["portal"].settings.smtp_password)


def backoff(attempts: int) -> timedelta:
    """The wait after the given number of failed attempts: 1, 2, 4 ... 60 minutes."""
    return min(BACKOFF_FIRST * 2 ** max(attempts - 1, 0), BACKOFF_MAX)


def _claim(now: datetime) -> OutboxMessage | None:
    """Move the next due message to "sending" under a new token, atomically; None if none."""
    token = uuid.uuid4().hex
    candidate = aliased(OutboxMessage)
    due = (select(candidate.id)
           .where(candidate.status == "pending", candidate.next_attempt_at <= now)
           .order_by(candidate.next_attempt_at, candidate.id).limit(1)
           .with_for_update(skip_locked=True))  # rendered on PostgreSQL only
    for _ in range(5):  # a row taken between our snapshot and its lock: look again
        claimed = db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == due.scalar_subquery(), OutboxMessage.status == "pending")
            .values(status="sending", claimed_at=now, claim_token=token,
                    attempts=OutboxMessage.attempts + 1)
            .returning(OutboxMessage.id)
            .execution_options(synchronize_session=False)).scalar()
        db.session.commit()
        if claimed is not None:
            return db.session.get(OutboxMessage, claimed, populate_existing=True)
        if not db.session.scalar(select(exists().where(
                OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now))):
            db.session.commit()
            return None
    return None


def _finish(row: OutboxMessage, **values) -> None:
    """Record the outcome of a claim; the token proves the claim is still ours."""
    db.session.execute(update(OutboxMessage)
                       .where(OutboxMessage.id == row.id,
                              OutboxMessage.claim_token == row.claim_token)
                       .values(**values).execution_options(synchronize_session=False))
    db.session.commit()


def _retry_later(row: OutboxMessage, error: str, now: datetime) -> bool:
    """Back to pending with backoff, or failed after RETRY_FOR; True if it will be retried."""
    since = row.failing_since or now
    if now - since >= RETRY_FOR:
        _finish(row, status="failed", last_error=error[:500], claim_token=None)
        return False
    _finish(row, status="pending", last_error=error[:500], failing_since=since,
            next_attempt_at=now + backoff(row.attempts), claim_token=None)
    return True


def sweep_stale(now: datetime) -> int:
    """Claims older than CLAIM_TIMEOUT become "unknown": their worker died mid-delivery."""
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == "sending",
               OutboxMessage.claimed_at < now - CLAIM_TIMEOUT)
        .values(status="unknown", last_error=INTERRUPTED)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount


def _deliver_one(row: OutboxMessage, transport, report: PassReport,
                 clock: Callable[[], datetime]) -> bool:
    """Send one claimed message and record the outcome; False when the pass must stop."""
    try:
        transport.send(row.raw)
    except PermanentFailure as exc:
        _finish(row, status="failed", last_error=str(exc)[:500], claim_token=None)
        report.failed += 1
        return True
    except UncertainDelivery as exc:
        _finish(row, status="unknown", last_error=f"{INTERRUPTED}: {exc}"[:500])
        report.unknown += 1
        report.server_down = str(exc)
        return False
    except TemporaryFailure as exc:
        current_app.logger.warning("e-mail %s to %s not sent (attempt %d): %s",
                                   row.id, row.recipient, row.attempts, exc)
        if _retry_later(row, str(exc), clock()):
            report.retrying += 1
        else:
            report.failed += 1
        if exc.server_down:  # the rest waits instead of hammering a dead server
            report.server_down = str(exc)
            return False
        return True
    _finish(row, status="sent", sent_at=clock(), last_error=None, claim_token=None)
    report.sent += 1
    return True


def deliver_pending(limit: int = 500, clock: Callable[[], datetime] = utcnow) -> PassReport:
    """One delivery pass: due messages, oldest first, each claimed before it is sent."""
    report = PassReport()
    db.session.commit()  # a fresh transaction: SQLite cannot upgrade an old read snapshot
    # periodic work of the modules (e.g. the scheduling reminders): queues and commits
    outbox_pass.send(current_app._get_current_object(), now=clock())
    sweep_stale(clock())
    transport = _transport()
    try:
        while report.tried < limit:
            row = _claim(clock())
            if row is None or not _deliver_one(row, transport, report, clock):
                break
    finally:
        transport.close()
    return report


def requeue(ids: list[int] | None = None, clock: Callable[[], datetime] = utcnow) -> int:
    """Failed and unknown messages (all, or these ids) become due now, with a new 24 h
    window and the backoff started again."""
    query = update(OutboxMessage).where(OutboxMessage.status.in_(REVIEW))
    if ids is not None:
        query = query.where(OutboxMessage.id.in_(ids))
    result = db.session.execute(query.values(
        status="pending", next_attempt_at=clock(), failing_since=None, claim_token=None,
        claimed_at=None, attempts=0).execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount


def work(stop: threading.Event, interval: float = 5.0,
         on_pass: Callable[[PassReport], None] | None = None) -> None:
    """Deliver until `stop` is set: poll every `interval` s, slower while the server is down."""
    wait = interval
    while not stop.is_set():
        try:
            report = deliver_pending()
        except SQLAlchemyError as exc:  # the database is away: keep the worker alive
            db.session.rollback()
            current_app.logger.warning("outbox: database unavailable: %s", exc)
            report = PassReport(server_down=f"database: {exc}")
        if on_pass:
            on_pass(report)
        if report.server_down:
            wait = min(wait * 2, 300.0)
        else:
            wait = interval
            if report.tried:
                continue  # more may be due at once
        stop.wait(wait)


def stuck_since(now: datetime) -> datetime:
    """Pending messages created before this are shown to staff as long-pending."""
    return now - timedelta(minutes=30)
