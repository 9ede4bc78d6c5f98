"""Documents: files of a development, a unit or a contract, by category."""

from __future__ import annotations

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from .. import Manifest, StaffLink

bp = Blueprint("documents", __name__, template_folder="templates")

from . import models, parts, routes  # noqa: E402,F401

manifest = Manifest(
    "documents", bp, "documents.index",
    staff_links=(StaffLink(_l("Documents"), "documents.staff_list", "folder2-open",
                           ("documents.staff_new", "documents.staff_document")),),
    requires=("property",),
    seed=parts.seed,
)
