"""Benefits club: partners' offers that staff import from a CSV file and clients redeem.

Staff upload the list (or run `portal vouchers import`), preview it, switch offers on and
off, and see and export who revealed which code; clients browse the open offers by
partner or category and reveal a code: a `unique` offer gives each client a code of
their own, exactly once (service.py), a `shared` one the same code to all.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from .. import Manifest, Part, StaffLink

bp = Blueprint("vouchers", __name__, template_folder="templates")

from . import commands, models, parts, routes, sample, staff  # noqa: E402,F401

manifest = Manifest(
    "vouchers", bp, "vouchers.index",
    staff_links=(StaffLink(_l("Benefits club"), "vouchers.staff_list", "gift",
                           ("vouchers.staff_import", "vouchers.staff_voucher",
                            "vouchers.staff_redemptions")),),
    parts=(Part("home.cards", "vouchers/_home_card.html", parts.home_card),),
    seed=parts.seed,
    sample=sample.seed,
    migrations=Path(__file__).resolve().parent / "migrations",
)
