"""Notices: announcements on a timeline, published by staff for a period."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from .. import BUYER, SYNDIC, Manifest, MenuEntry, Part, StaffLink

bp = Blueprint("notices", __name__, template_folder="templates")

from . import models, parts, routes, sample  # noqa: E402,F401

manifest = Manifest(
    "notices", bp, "notices.index",
    staff_links=(StaffLink(_l("Notices"), "notices.staff_list", "megaphone",
                           ("notices.staff_new", "notices.staff_edit")),),
    parts=(Part("home.sections", "notices/_home_section.html", parts.latest),
           Part("syndic.home.sections", "notices/_home_section.html", parts.latest)),
    views=(BUYER, SYNDIC),
    syndic_entry=MenuEntry(_l("Notices"), "megaphone", 40),
    seed=parts.seed,
    sample=sample.seed,
    migrations=Path(__file__).resolve().parent / "migrations",
    cached_pages=("notices.index",),  # notices are shared: any write changes every page
)
