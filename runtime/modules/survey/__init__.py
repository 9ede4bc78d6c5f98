"""Satisfaction survey (`modules.survey`): the tenant file's questions, asked after login.

With `first_login: true` the survey is a Gate after a client logs in (after the address
confirmation): they answer, or postpone it (asked again at the next login, at most 3 times;
it then waits in the menu and the pending-actions pop-up). Staff may also send it later to
a development's clients (an e-mail through the outbox, with a link): each sending is a
round answered once per client. Staff see the results: NPS, per-question distributions as
server-rendered SVG charts with a table alternative, free-text answers, filters by
development, sending and period, and a CSV export.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from .. import Gate, Manifest, Part, StaffLink

bp = Blueprint("survey", __name__, template_folder="templates")

from . import models, parts, routes, sample, staff  # noqa: E402,F401

manifest = Manifest(
    "survey", bp, "survey.index",
    staff_links=(StaffLink(_l("Survey results"), "survey.staff_results", "clipboard-data"),
                 StaffLink(_l("Send the survey"), "survey.staff_send", "send")),
    parts=(Part("pending", "survey/_pending.html", parts.pending_item, order=30),
           Part("staff.development", "survey/_staff_development.html")),
    gates=(Gate("survey", parts.due, ("survey.answer", "survey.submit"), order=20),),
    seed=parts.seed,
    sample=sample.seed,
    migrations=Path(__file__).resolve().parent / "migrations",
)
