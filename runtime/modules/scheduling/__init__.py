"""Scheduling: visits and inspections clients book in free slots, and staff run.

Appointment types (duration, weekdays, hours, capacity per slot, developments) come from
the tenant file; staff block dates and assign the technician. Clients pick a free slot in
the tenant's time zone and get an e-mail with an .ics file; they may reschedule or cancel
until `change_limit_hours` before. Staff see the list and a day / week calendar, confirm,
mark done or no-show, and open a request from a visit (through the desk's api.py). The
outbox worker queues the reminders of the next day on each pass (`outbox_pass`), and
`portal scheduling remind INSTANCE` does the same once. See service.py for capacity.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from ... import mail
from .. import Handler, Manifest, Part, StaffLink

bp = Blueprint("scheduling", __name__, template_folder="templates")

from . import commands, models, parts, routes, sample, service, staff  # noqa: E402,F401

manifest = Manifest(
    "scheduling", bp, "scheduling.index",
    staff_links=(StaffLink(_l("Appointments"), "scheduling.staff_index", "calendar-event",
                           ("scheduling.staff_show", "scheduling.staff_blocked")),),
    parts=(Part("pending", "scheduling/_pending.html", parts.pending, order=40),
           Part("home.cards", "scheduling/_home_card.html", parts.home_card)),
    handlers=(Handler(mail.outbox_pass, service.on_outbox_pass),),
    seed=parts.seed,
    sample=sample.seed,
    migrations=Path(__file__).resolve().parent / "migrations",
)
