"""The one e-mail address rule of the runtime: forms, accounts, the CLI and the ERP import.

An address is checked by email-validator with the options the generator's schema format
uses (generator/schema.py: syntax only, never a DNS lookup), after surrounding spaces are
dropped; it is stored lower-cased, which is how accounts are found by e-mail.
"""

from __future__ import annotations

import email_validator
from wtforms import Field, Form
from wtforms.validators import ValidationError

# the longest path SMTP carries (RFC 5321); every e-mail field says Length(max=254) too
MAX_LENGTH = 254
# the same options as generator/schema.py's "email" format: deliverability needs DNS
OPTIONS = {"check_deliverability": False}


class EmailError(ValueError):
    """An address the portal refuses; the message (English) says why, for the CLI and import."""


class EmailTooLong(EmailError):
    """Longer than any address SMTP carries (the message does not repeat the value)."""


def normalise_email(value: str) -> str:
    """The address as stored (trimmed, lower-cased); EmailError when it is not one."""
    address = value.strip()
    if len(address) > MAX_LENGTH:  # before the parser: say the rule, not its symptom
        raise EmailTooLong(f"longer than {MAX_LENGTH} characters")
    try:
        email_validator.validate_email(address, **OPTIONS)
    except email_validator.EmailNotValidError:
        raise EmailError("not an e-mail address") from None
    return address.lower()


def is_email(value: str) -> bool:
    """Whether `value` passes the rule."""
    try:
        normalise_email(value)
    except EmailError:
        return False
    return True


# WTForms' own message for its Email validator, translated by WTForms' catalogue as before
INVALID = "Invalid email address."


class EmailAddress:
    """The WTForms validator of the rule, with WTForms' own translated message."""

    def __call__(self, form: Form, field: Field) -> None:
        if not isinstance(field.data, str) or not is_email(field.data):
            raise ValidationError(field.gettext(INVALID))
