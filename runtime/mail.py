"""E-mail: through the tenant's SMTP server, or as .eml files in the outbox folder."""

from __future__ import annotations

import os
import smtplib
import ssl
import uuid
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from pathlib import Path

from flask import current_app, render_template


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


def send(msg: EmailMessage) -> None:
    """Deliver now through SMTP, or write to the outbox folder when none is configured."""
    settings = current_app.extensions["portal"]["integrations"].get("email")
    # PORTAL_MAIL=outbox keeps demos and staging copies from e-mailing real clients
    if not settings or os.environ.get("PORTAL_MAIL") == "outbox":
        _write_outbox(msg)
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
            server.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        current_app.logger.error("SMTP delivery to %s failed: %s", msg["To"], exc)
        _write_outbox(msg, folder="failed")
        raise MailError(str(exc)) from exc


def _write_outbox(msg: EmailMessage, folder: str = "") -> Path:
    outbox = Path(current_app.config["PORTAL_OUTBOX_DIR"]) / folder
    outbox.mkdir(parents=True, exist_ok=True)
    path = outbox / f"{uuid.uuid4().hex}.eml"
    path.write_bytes(bytes(msg))
    return path


def send_template(to: str, subject: str, template: str, **context) -> bool:
    """Render and send; False (logged) when the SMTP server refused it."""
    try:
        send(build_message(to, subject, template, **context))
    except MailError:
        return False
    return True
