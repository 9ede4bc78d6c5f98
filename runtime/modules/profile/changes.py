"""Applying the profile change a client asked for, when staff approve its ticket."""

from __future__ import annotations

from flask_babel import gettext as _

from ...accounts import email_taken
from ...erp import changes as erp_changes
from ...models import User
from ..tickets.api import ApplyRefused

EDITABLE = ("name", "email", "phone", "address")
REQUIRED = ("name", "email")  # the others may be cleared


ChangeRefused = ApplyRefused  # the desk shows its message to the staff member


def apply_ticket(_origin: str, *, ticket, client: User, by: User) -> list[str]:
    """The desk's apply_requested signal for a profile ticket: apply what it asks."""
    return apply_requested(client, ticket.answers, by)


def apply_requested(client: User, answers: list[dict], by: User) -> list[str]:
    """Apply a profile ticket's changes, recorded so ERP imports keep them (caller commits).

    Returns the fields that changed; raises ChangeRefused when another account already
    uses the new e-mail.
    """
    values = {a["id"]: a["value"]["new"] for a in answers if a["id"] in EDITABLE}
    if "email" in values:
        values["email"] = values["email"].strip().lower()
        if email_taken(values["email"], client):
            raise ChangeRefused(_("Another account uses %(email)s; the change was not applied.",
                                  email=values["email"]))
    return erp_changes.record(client, {k: v if k in REQUIRED else (v or None)
                                       for k, v in values.items()}, by)
