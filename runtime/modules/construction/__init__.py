"""Construction progress: the latest updates of each development a client or syndic follows."""

from __future__ import annotations

from flask import Blueprint

from .. import Manifest

bp = Blueprint("construction", __name__, template_folder="templates")

from . import models, routes  # noqa: E402,F401

manifest = Manifest("construction", bp, "construction.index")
