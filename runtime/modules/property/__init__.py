"""Staff side of "my property": developments, syndic assignments, viewing as a client; and
the ERP import (`portal import`) that fills the property data every such module reads.

Switched on by the modules that require it (unit, contracts, construction, documents).
"""

from __future__ import annotations

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from .. import BUYER, SYNDIC, Manifest, Part, StaffLink

bp = Blueprint("property", __name__, template_folder="templates")

from . import access, commands, common_areas, parts, routes, view_as  # noqa: E402,F401

manifest = Manifest(
    "property", bp,
    staff_links=(StaffLink(_l("Developments"), "property.staff_developments", "building",
                           ("property.staff_development", "construction.staff_new_update",
                            "property.staff_common_areas")),),
    parts=(Part("banner", "property/_view_as_banner.html", parts.viewing_as),
           Part("syndic.home.cards", "property/_syndic_developments.html", parts.managed),
           Part("staff.account", "property/_account_view_as.html", parts.view_as_button),
           Part("staff.account", "property/_account_syndic.html", parts.syndic_developments),
           Part("staff.development", "property/_development_access.html", access.panel),
           Part("staff.development", "property/_development_common_areas.html",
                common_areas.panel)),
    seed=parts.seed,
    views=(BUYER, SYNDIC),  # staff screens, and the building manager's developments
)
