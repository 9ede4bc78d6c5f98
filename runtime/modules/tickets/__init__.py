"""The service desk: clients open requests from the contact tree and follow them in
"My tickets"; staff answer them in the console.

Two modules in one package: `service` (contact tree and staff desk, on whenever the
tenant has a service tree) and `tickets` (a client's "My tickets", the `tickets` module).
Other modules use the desk through `api.py` only.
"""

from __future__ import annotations

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from .. import Manifest, Part, StaffLink

service_bp = Blueprint("service", __name__, template_folder="templates")
tickets_bp = Blueprint("tickets", __name__, template_folder="templates")

from . import client, contact, models, parts, staff  # noqa: E402,F401

desk = Manifest(
    "service", service_bp,
    staff_links=(StaffLink(_l("Tickets"), "service.staff_queue", "inbox",
                           ("service.staff_ticket",)),
                 StaffLink(_l("Service dashboard"), "service.staff_dashboard", "bar-chart")),
    parts=(Part("staff.account", "tickets/_account_divisions.html", parts.division_limits),),
    enabled_when=lambda portal: bool(portal["divisions"]),  # the tenant has a service tree
    seed=parts.seed,
)
manifest = Manifest(
    "tickets", tickets_bp, "tickets.index",
    parts=(Part("home.cards", "tickets/_home_card.html", parts.waiting_card),),
)
