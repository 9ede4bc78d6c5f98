"""Staff side of "my property": developments, syndic assignments, viewing as a client.

Registered whenever the tenant enables unit, contracts, construction or documents.
"""

from __future__ import annotations

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from .. import Manifest, StaffLink

bp = Blueprint("property", __name__, template_folder="templates")

from . import routes, view_as  # noqa: E402,F401

manifest = Manifest("property", bp, None, (
    StaffLink(_l("Developments"), "property.staff_developments", "building",
              ("property.staff_development", "construction.staff_new_update")),))
