"""The service desk: clients open requests from the contact tree and follow them in
"My tickets"; staff answer them in the console.

Two modules in one package: `service` (contact tree and staff desk, on whenever the
tenant has a service tree) and `tickets` (a client's "My tickets", the `tickets` module).
Other modules use the desk through `api.py` only.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from .. import BUYER, SYNDIC, Manifest, MenuEntry, Part, StaffLink

service_bp = Blueprint("service", __name__, template_folder="templates")
tickets_bp = Blueprint("tickets", __name__, template_folder="templates")

from . import client, contact, delete, models, parts, sample, staff, stages, syndic  # noqa: E402,F401

desk = Manifest(
    "service", service_bp,
    staff_links=(StaffLink(_l("Tickets"), "service.staff_queue", "inbox",
                           ("service.staff_ticket",)),
                 StaffLink(_l("Service dashboard"), "service.staff_dashboard", "bar-chart")),
    parts=(Part("staff.account", "tickets/_account_divisions.html", parts.division_limits),),
    enabled_when=lambda portal: bool(portal["divisions"]),  # the tenant has a service tree
    views=(BUYER, SYNDIC),  # a building manager opens requests about common areas only
    seed=parts.seed,
    sample=sample.seed,
)
manifest = Manifest(
    "tickets", tickets_bp, "tickets.index",
    parts=(Part("home.cards", "tickets/_home_card.html", parts.waiting_card),
           Part("unit.sections", "tickets/_unit_requests.html", parts.unit_requests),
           Part("syndic.home.cards", "tickets/_home_card.html", parts.waiting_card),
           Part("pending", "tickets/_pending.html", parts.pending_item, order=20)),
    # a building manager's "My tickets" lists the common-area requests (tickets/syndic.py)
    views=(BUYER, SYNDIC),
    syndic_entry=MenuEntry(_l("Common-area requests"), "tools", 10),
    migrations=Path(__file__).resolve().parent / "migrations",  # the desk's tables too
    # each client's own (models.Ticket.page_cache_scope); the staff queue changes with
    # any write (runtime/pagecache.py's STAFF generation)
    cached_pages=("tickets.index", "tickets.show", "service.staff_queue"),
)
