"""Construction progress: the latest updates of each development a client or syndic follows."""

from __future__ import annotations

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from .. import BUYER, SYNDIC, Manifest, MenuEntry, Part

bp = Blueprint("construction", __name__, template_folder="templates")

from . import models, parts, routes, sample  # noqa: E402,F401

manifest = Manifest(
    "construction", bp, "construction.index",
    parts=(Part("home.cards", "construction/_home_card.html", parts.progress),
           Part("staff.development", "construction/_staff_development.html",
                parts.development_updates)),
    requires=("property",),  # developments and viewing as a client, in the staff console
    seed=parts.seed,
    sample=sample.seed,
    views=(BUYER, SYNDIC),
    syndic_entry=MenuEntry(_l("Construction progress"), "cone-striped", 20),
    cached_pages=("construction.index", "construction.development"),
)
