"""Accounts: create, invite and the clash checks, for the staff console, the CLI, the demo
and the ERP import alike.

Views call this service; it never calls a view. Links are queued here (the outbox worker
delivers them), so a first-access link is the same whoever asked for it.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import current_app, url_for
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, func, select

from . import mail
from .auth.tokens import make_token
from .brdocs import digits, is_document
from .emails import EmailError, normalise_email
from .extensions import db
from .models import ROLES, User, utcnow

# the columns two accounts may not share; each value is compared as `_normal` writes it
UNIQUE = ("email", "document", "erp_id")
# the IN lists of one query stay well under SQLite's limit on bound parameters
CHUNK = 900


class AccountError(ValueError):
    """An account that cannot be created; the message (English) is for the CLI.

    `field` names the form field at fault, so a form can show its own translated message.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _normal(column: str, value: str) -> str:
    if column == "email":
        return value.strip().lower()  # accounts are found by e-mail ignoring case
    if column == "document":
        return digits(value)
    return value.strip()


def _column(column: str) -> ColumnElement:
    return func.lower(User.email) if column == "email" else getattr(User, column)


def taken(column: str, values: Iterable[str], user: User | None = None) -> set[str]:
    """Those of `values` that an account other than `user` has in `column` (one of UNIQUE).

    Values are compared normalised: e-mails ignoring case, CPF/CNPJ by their digits.
    """
    wanted = sorted({_normal(column, v) for v in values if v} - {""})
    found: set[str] = set()
    for start in range(0, len(wanted), CHUNK):
        query = select(_column(column)).where(_column(column).in_(wanted[start:start + CHUNK]))
        if user is not None and user.id is not None:
            query = query.where(User.id != user.id)
        found.update(db.session.scalars(query))
    return found


def clashes(user: User | None = None, **values: str | None) -> list[str]:
    """The columns whose given value another account than `user` already has."""
    return [column for column, value in values.items() if value and taken(column, [value], user)]


def email_taken(email: str, user: User | None = None) -> bool:
    """Whether an account other than `user` has this e-mail (compared ignoring case)."""
    return bool(clashes(user, email=email))


def _checked(email: str, role: str, document: str | None, password: str | None) -> str:
    """The e-mail as stored, once every rule of a new account holds."""
    try:
        email = normalise_email(email)
    except EmailError as exc:
        raise AccountError(f"{email.strip().lower()}: {exc}", "email") from None
    if role not in ROLES:
        raise AccountError(f"{role}: unknown role (use {', '.join(ROLES)})", "role")
    if document and not is_document(document):
        raise AccountError(f"{document}: not a valid CPF or CNPJ (check the digits)", "document")
    if password is not None and len(password) < 8:
        raise AccountError("the password needs at least 8 characters", "password")
    for column in clashes(email=email, document=document):
        shown, what = (email, "e-mail") if column == "email" else (document, "CPF/CNPJ")
        raise AccountError(f"{shown}: an account with this {what} exists", column)
    return email


def create_account(*, email: str, name: str, role: str = "client", password: str | None = None,
                   document: str | None = None, phone: str | None = None) -> User:
    """Create and commit an account; raise AccountError with a readable reason."""
    email = _checked(email, role, document, password)
    user = User(email=email, name=name.strip(), role=role,
                document=digits(document) if document else None,
                phone=(phone or "").strip() or None)
    if password is not None:
        user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


def send_link(user: User, purpose: str) -> None:
    """Queue the e-mail with a first-access or reset link (in a request; the caller commits)."""
    endpoint = "auth.first_access" if purpose == "first-access" else "auth.reset"
    link = url_for(endpoint, token=make_token(user, purpose), _external=True)
    portal = current_app.extensions["portal"]
    if purpose == "first-access":
        subject = _("Your access to the %(name)s portal", name=portal["tenant"]["name"])
        template = "first_access"
        user.invited_at = utcnow()
    else:
        subject = _("Reset your password at %(name)s", name=portal["tenant"]["name"])
        template = "reset_password"
    mail.queue(user.email, subject, template, user=user, link=link)


def invite(user: User) -> str:
    """Queue the link an account needs now (the caller commits); return its purpose.

    An account without a password gets its first access; one with a password, a reset.
    """
    purpose = "reset" if user.has_password else "first-access"
    send_link(user, purpose)
    return purpose


def send_first_access(user: User) -> str:
    """Queue the first-access e-mail outside a request and commit; say where it will go."""
    domains = current_app.extensions["portal"]["tenant"]["domains"]
    base = f"https://{domains[0]}" if domains else "http://127.0.0.1:5000"
    with current_app.test_request_context(base_url=base):
        send_link(user, "first-access")
    db.session.commit()
    return "by SMTP" if mail.smtp_server() else "to the outbox folder"
