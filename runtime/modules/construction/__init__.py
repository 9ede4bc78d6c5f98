"""Construction progress: the latest updates of each development a client or syndic follows."""

from __future__ import annotations

from flask import Blueprint

from .. import Manifest, Part

bp = Blueprint("construction", __name__, template_folder="templates")

from . import models, parts, routes  # noqa: E402,F401

manifest = Manifest(
    "construction", bp, "construction.index",
    parts=(Part("home.cards", "construction/_home_card.html", parts.progress),
           Part("staff.development", "construction/_staff_development.html",
                parts.development_updates)),
    requires=("property",),  # developments and viewing as a client, in the staff console
    seed=parts.seed,
)
