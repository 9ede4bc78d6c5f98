"""Talking to the tenant's SMTP server, and what each way of failing means for a message.

The outbox worker (runtime/mail.py) needs to know more than "it failed": whether to try
again later (the server is down or busy), to give up on this message (the server refused
it), or to stop and ask a person (the connection broke after the message was handed over,
so the server may have accepted it). The steps of smtplib's sendmail are taken one by one
here for that reason.
"""

from __future__ import annotations

import smtplib
import ssl
from email import message_from_bytes, policy
from email.utils import getaddresses, parseaddr

TIMEOUT = 15  # seconds, for each step of the conversation


class MailError(RuntimeError):
    """A message was not delivered."""


class TemporaryFailure(MailError):
    """Try again later; server_down when the server itself is away (stop the pass)."""

    def __init__(self, message: str, server_down: bool = True) -> None:
        super().__init__(message)
        self.server_down = server_down


class PermanentFailure(MailError):
    """The server refused this message (5xx): trying again would give the same answer."""


class UncertainDelivery(MailError):
    """The connection broke after the message was sent: the server may have accepted it."""


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) \
            else str(exc.smtp_error)
        return f"{exc.smtp_code} {text}"
    return str(exc) or type(exc).__name__


def _refused(code: int, reply: bytes, what: str) -> MailError:
    text = f"{what}: {code} {reply.decode('utf-8', 'replace')}"
    if 500 <= code < 600:
        return PermanentFailure(text)
    return TemporaryFailure(text, server_down=False)


class SmtpTransport:
    """One SMTP connection, opened on the first message and kept for a delivery pass."""

    def __init__(self, settings: dict, password: str) -> None:
        self.settings = settings
        self.password = password
        self.server: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s["security"] == "ssl":
            server = smtplib.SMTP_SSL(s["host"], s["port"], timeout=TIMEOUT,
                                      context=ssl.create_default_context())
        else:
            server = smtplib.SMTP(s["host"], s["port"], timeout=TIMEOUT)
        try:
            server.ehlo()
            if s["security"] == "starttls":
                server.starttls(context=ssl.create_default_context())
                server.ehlo()
            if s.get("username"):
                server.login(s["username"], self.password)
        except BaseException:
            server.close()
            raise
        return server

    def send(self, raw: bytes) -> None:
        """Deliver one message as stored, or raise one of the MailError kinds."""
        try:
            if self.server is None:
                self.server = self._connect()
            self._envelope(raw)
        except MailError:
            raise
        except (OSError, smtplib.SMTPException) as exc:
            self.close()  # the connection is in an unknown state: the next send reconnects
            raise TemporaryFailure(_describe(exc)) from exc
        try:
            code, reply = self.server.data(raw)
        except smtplib.SMTPResponseException as exc:  # DATA itself refused: nothing was sent
            raise _refused(exc.smtp_code, _as_bytes(exc.smtp_error), "message") from exc
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise UncertainDelivery(_describe(exc)) from exc
        if code != 250:
            raise _refused(code, reply, "message")

    def _envelope(self, raw: bytes) -> None:
        """MAIL FROM and RCPT TO; a refused recipient refuses this message only."""
        assert self.server is not None
        msg = message_from_bytes(raw, policy=policy.SMTP)
        sender = parseaddr(str(msg["From"]))[1]
        recipients = [addr for _, addr in getaddresses([str(v) for v in msg.get_all("To", [])])]
        options = []
        if not (sender + "".join(recipients)).isascii() and self.server.has_extn("smtputf8"):
            options = ["SMTPUTF8", "BODY=8BITMIME"]
        elif not raw.isascii() and self.server.has_extn("8bitmime"):
            options = ["BODY=8BITMIME"]
        code, reply = self.server.mail(sender, options)
        if code != 250:
            self._reset()
            raise TemporaryFailure(f"sender {sender}: {code} {reply.decode('utf-8', 'replace')}")
        refusals = []
        for recipient in recipients:
            code, reply = self.server.rcpt(recipient)
            if code not in (250, 251):
                refusals.append((code, reply))
        if refusals:
            self._reset()
            code, reply = max(refusals)  # a 5xx outweighs a 4xx: do not retry a dead address
            raise _refused(code, reply, "recipient")

    def _reset(self) -> None:
        assert self.server is not None
        try:
            self.server.rset()
        except (OSError, smtplib.SMTPException):
            self.close()

    def close(self) -> None:
        if self.server is None:
            return
        try:
            self.server.quit()
        except (OSError, smtplib.SMTPException):
            self.server.close()
        self.server = None


def _as_bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()
