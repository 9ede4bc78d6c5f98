"""Creating accounts: shared by the staff console, the CLI and the demo."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import func, select

from .brdocs import digits, is_document
from .extensions import db
from .models import ROLES, User


class AccountError(ValueError):
    pass


def create_account(*, email: str, name: str, role: str = "client", password: str | None = None,
                   document: str | None = None, phone: str | None = None) -> User:
    """Create and commit an account; raise AccountError with a readable reason."""
    email = email.strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise AccountError(f"{email}: not an e-mail address")
    if role not in ROLES:
        raise AccountError(f"{role}: unknown role (use {', '.join(ROLES)})")
    if document and not is_document(document):
        raise AccountError(f"{document}: not a valid CPF or CNPJ (check the digits)")
    if password is not None and len(password) < 8:
        raise AccountError("the password needs at least 8 characters")
    if email_taken(email):
        raise AccountError(f"{email}: an account with this e-mail exists")
    number = digits(document) if document else None
    if number and db.session.scalar(select(User).where(User.document == number)):
        raise AccountError(f"{document}: an account with this CPF/CNPJ exists")
    user = User(email=email, name=name.strip(), role=role, document=number,
                phone=(phone or "").strip() or None)
    if password is not None:
        user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


def email_taken(email: str, user: User | None = None) -> bool:
    """Whether an account other than `user` has this e-mail (compared ignoring case)."""
    owner = db.session.scalar(select(User.id).where(
        func.lower(User.email) == email.strip().lower()))
    return owner is not None and (user is None or owner != user.id)


def send_first_access(user: User) -> str:
    """Queue the first-access e-mail outside a request and commit; say where it will go."""
    from .auth.routes import send_link

    domains = current_app.extensions["portal"]["tenant"]["domains"]
    base = f"https://{domains[0]}" if domains else "http://127.0.0.1:5000"
    with current_app.test_request_context(base_url=base):
        send_link(user, "first-access")
    db.session.commit()
    settings = current_app.extensions["portal"]["integrations"].get("email")
    return "by SMTP" if settings and not _outbox_forced() else "to the outbox folder"


def _outbox_forced() -> bool:
    import os

    return os.environ.get("PORTAL_MAIL") == "outbox"
