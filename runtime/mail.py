"""E-mail: queued in the outbox table, then delivered through the tenant's SMTP server,
or written as .eml files to the outbox folder when none is configured.

A message is queued in the same transaction as the change it reports, so nothing is
lost while the SMTP server is down: delivery is retried on the next send and by
`portal outbox send INSTANCE`.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import uuid
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from pathlib import Path

from flask import current_app, render_template
from sqlalchemy import select

from .extensions import db
from .models import OutboxMessage, utcnow

MAX_ATTEMPTS = 10


class MailError(RuntimeError):
    pass


def _sender(portal: dict) -> str:
    email = portal["integrations"].get("email")
    if email:
        return email["from"]
    fallback = portal["tenant"].get("support_email") or f"no-reply@{portal['tenant']['id']}.invalid"
    return formataddr((portal["tenant"]["name"], fallback))


def build_message(to: str, subject: str, template: str, **context) -> EmailMessage:
    """A text + HTML message rendered from templates/email/<template>.{txt,html}."""
    portal = current_app.extensions["portal"]
    msg = EmailMessage()
    msg["From"] = _sender(portal)
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=f"{portal['tenant']['id']}.portal")
    if portal["tenant"].get("support_email"):
        msg["Reply-To"] = portal["tenant"]["support_email"]
    msg.set_content(render_template(f"email/{template}.txt", **context))
    msg.add_alternative(render_template(f"email/{template}.html", **context), subtype="html")
    return msg


def queue(to: str, subject: str, template: str, **context) -> OutboxMessage:
    """Add a message to the outbox in the current transaction (the caller commits)."""
    msg = build_message(to, subject, template, **context)
    row = OutboxMessage(recipient=to, subject=subject, raw=bytes(msg))
    db.session.add(row)
    return row


def _settings() -> dict | None:
    settings = current_app.extensions["portal"]["integrations"].get("email")
    # PORTAL_MAIL=outbox keeps demos and staging copies from e-mailing real clients
    if not settings or os.environ.get("PORTAL_MAIL") == "outbox":
        return None
    return settings


def _deliver(raw: bytes, settings: dict | None) -> None:
    if settings is None:
        outbox = Path(current_app.config["PORTAL_OUTBOX_DIR"])
        outbox.mkdir(parents=True, exist_ok=True)
        (outbox / f"{utcnow():%Y%m%d%H%M%S%f}-{uuid.uuid4().hex[:8]}.eml").write_bytes(raw)
        return
    password = os.environ.get(settings.get("password_env") or "", "")
    try:
        if settings["security"] == "ssl":
            server = smtplib.SMTP_SSL(settings["host"], settings["port"], timeout=15,
                                      context=ssl.create_default_context())
        else:
            server = smtplib.SMTP(settings["host"], settings["port"], timeout=15)
        with server:
            if settings["security"] == "starttls":
                server.starttls(context=ssl.create_default_context())
            if settings.get("username"):
                server.login(settings["username"], password)
            server.send_message(message_from_bytes(raw, policy=policy.SMTP))
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(str(exc) or type(exc).__name__) from exc


def deliver_pending(limit: int = 200) -> tuple[int, int]:
    """Try every pending message, oldest first; return (sent, still pending)."""
    settings = _settings()
    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.status == "pending")
                              .order_by(OutboxMessage.id).limit(limit)).all()
    sent = failed = 0
    for row in rows:
        row.attempts += 1
        try:
            _deliver(row.raw, settings)
        except MailError as exc:
            current_app.logger.warning("e-mail to %s not sent (attempt %d): %s",
                                       row.recipient, row.attempts, exc)
            row.last_error = str(exc)[:500]
            if row.attempts >= MAX_ATTEMPTS:
                row.status = "failed"
            failed += 1
            db.session.commit()
            break  # the server is down: the rest waits for the next try
        row.status, row.sent_at = "sent", utcnow()
        sent += 1
        db.session.commit()
    return sent, failed


def send_template(to: str, subject: str, template: str, **context) -> bool:
    """Queue, commit and try to deliver now; False when it stays queued for a retry."""
    row = queue(to, subject, template, **context)
    db.session.commit()
    deliver_pending()
    return row.status == "sent"
