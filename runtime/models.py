"""Accounts and what protects them. Module tables live in runtime/modules/<name>/models.py."""

from __future__ import annotations

from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, LargeBinary, String, true
from sqlalchemy.orm import Mapped, mapped_column, validates

from .extensions import db
from .phones import national

ROLES = ("client", "syndic", "staff", "admin")
STAFF_ROLES = ("staff", "admin")
_hasher = PasswordHasher()
_dummy_hash: list[str] = []


def dummy_password_check(password: str) -> None:
    """Spend the time of a real check, for an unknown account (no timing oracle)."""
    if not _dummy_hash:
        _dummy_hash.append(_hasher.hash("no account has this password"))
    try:
        _hasher.verify(_dummy_hash[0], password)
    except (VerificationError, InvalidHashError):
        pass


def utcnow() -> datetime:
    """Naive UTC now: stored naive, shown in the tenant's time zone."""
    return datetime.now(UTC).replace(tzinfo=None)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # ERP customers may have no e-mail: they log in with their CPF/CNPJ
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    document: Mapped[str | None] = mapped_column(String(14), unique=True)  # CPF/CNPJ digits
    erp_id: Mapped[str | None] = mapped_column(String(64), unique=True)  # the ERP's customer id
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(30))
    # the phone as area code + number, to log in by phone (set with phone; shared numbers exist)
    phone_digits: Mapped[str | None] = mapped_column(String(11), index=True)
    address: Mapped[str | None] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(10), default="client")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    invited_at: Mapped[datetime | None]  # when the last first-access link was sent
    # staff switch a client's access to the portal off (with a reason) without deactivating
    # the account: its data stays, its logins are refused with "contact the company"
    portal_access: Mapped[bool] = mapped_column(default=True, server_default=true())
    access_note: Mapped[str | None] = mapped_column(String(300))

    @validates("phone")
    def _phone(self, key: str, value: str | None) -> str | None:
        self.phone_digits = national(value)
        return value

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def has_password(self) -> bool:
        return self.password_hash is not None

    def set_password(self, password: str) -> None:
        self.password_hash = _hasher.hash(password)

    def check_password(self, password: str) -> bool:
        if not self.password_hash:
            return False
        try:
            _hasher.verify(self.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        if _hasher.check_needs_rehash(self.password_hash):
            self.set_password(password)
        return True

    @property
    def token_state(self) -> str:
        """Changes whenever the password does: a link used once stops working."""
        return (self.password_hash or "none")[-16:]


class LoginAttempt(db.Model):
    """Login attempts counted per account or address in a fixed window (runtime/throttle.py).

    The embedded store of the attempt counter; with PORTAL_REDIS_URL the counters live in Redis.
    """

    __tablename__ = "login_attempts"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)
    window_start: Mapped[datetime] = mapped_column(index=True)


class StoredSession(db.Model):
    """Server-side session data (runtime/sessions.py), when Redis is not configured."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class LoginSession(db.Model):
    """One logged-in session of a user: listed in "Active sessions", ended one by one or all."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    sid: Mapped[str] = mapped_column(String(100), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))


class OutboxMessage(db.Model):
    """An e-mail queued by a request and delivered by the outbox worker (runtime/mail.py).

    status: pending (due at next_attempt_at), sending (claimed by a worker), sent,
    failed (refused, or unreachable for 24 hours) or unknown (delivery interrupted after
    it may have reached the server: never re-sent without a person deciding so).
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    raw: Mapped[bytes] = mapped_column(LargeBinary)  # the whole message, as sent
    # the Message-ID inside raw: a re-send carries the same one, so it can be deduplicated
    message_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    failing_since: Mapped[datetime | None]  # first failure of the current retry window
    claimed_at: Mapped[datetime | None]
    claim_token: Mapped[str | None] = mapped_column(String(32))
    sent_at: Mapped[datetime | None]
