"""The service desk: clients open requests from the contact tree and follow them in
"My tickets"; staff answer them in the console.

Two blueprints: `service` (contact tree and staff desk, on whenever the tenant has a
service tree) and `tickets` (a client's "My tickets", the `tickets` module).
"""

from __future__ import annotations

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from .. import Manifest, StaffLink

service_bp = Blueprint("service", __name__, template_folder="templates")
tickets_bp = Blueprint("tickets", __name__, template_folder="templates")

from . import client, contact, models, staff  # noqa: E402,F401

service_manifest = Manifest("service", service_bp, None,
                   (StaffLink(_l("Tickets"), "service.staff_queue", "inbox",
                              ("service.staff_ticket",)),
                    StaffLink(_l("Service dashboard"), "service.staff_dashboard",
                              "bar-chart")))
manifest = Manifest("tickets", tickets_bp, "tickets.index")
