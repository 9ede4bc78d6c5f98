"""Documents: files of a development, a unit or a contract, by category."""

from __future__ import annotations

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from .. import BUYER, SYNDIC, Manifest, MenuEntry, Part, StaffLink

bp = Blueprint("documents", __name__, template_folder="templates")

from . import models, parts, routes, sample  # noqa: E402,F401

manifest = Manifest(
    "documents", bp, "documents.index",
    staff_links=(StaffLink(_l("Documents"), "documents.staff_list", "folder2-open",
                           ("documents.staff_new", "documents.staff_document")),),
    requires=("property",),
    parts=(Part("pending", "documents/_pending.html", parts.since_last_visit, order=50),),
    seed=parts.seed,
    sample=sample.seed,
    views=(BUYER, SYNDIC),  # a syndic's scope holds development documents only
    syndic_entry=MenuEntry(_l("Documents"), "folder2-open", 30),
)
