"""Notices: announcements on a timeline, published by staff for a period."""

from __future__ import annotations

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from .. import Manifest, Part, StaffLink

bp = Blueprint("notices", __name__, template_folder="templates")

from . import models, parts, routes  # noqa: E402,F401

manifest = Manifest(
    "notices", bp, "notices.index",
    staff_links=(StaffLink(_l("Notices"), "notices.staff_list", "megaphone",
                           ("notices.staff_new", "notices.staff_edit")),),
    parts=(Part("home.sections", "notices/_home_section.html", parts.latest),),
    seed=parts.seed,
)
