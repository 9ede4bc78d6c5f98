"""Accounts and what protects them. Module tables live in runtime/modules/<name>/models.py."""

from __future__ import annotations

from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_login import UserMixin
from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import db

ROLES = ("client", "syndic", "staff", "admin")
STAFF_ROLES = ("staff", "admin")
_hasher = PasswordHasher()


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
    address: Mapped[str | None] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(10), default="client")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    invited_at: Mapped[datetime | None]  # when the last first-access link was sent

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


class LoginFailure(db.Model):
    """Failed logins by address, to slow down guessing across accounts."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class OutboxMessage(db.Model):
    """An e-mail waiting to be delivered: nothing is lost while SMTP is down."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    raw: Mapped[bytes] = mapped_column(LargeBinary)  # the whole message, as sent
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
