"""FAQ: questions and answers, seeded from the tenant file and edited by the company.

The tenant file gives the categories and the first entries; administrators then edit,
add, order, hide and delete entries in the staff console (staff.py), and a rebuild never
overwrites what they edited (runtime/filecontent.py).
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from .. import BUYER, SYNDIC, Manifest, MenuEntry, StaffLink

bp = Blueprint("faq", __name__, template_folder="templates")

from . import content, models, staff  # noqa: E402,F401


@bp.get("/faq")
@login_required
def index():
    return render_template("faq/index.html", sections=content.shown())


manifest = Manifest(
    "faq", bp, "faq.index", views=(BUYER, SYNDIC),
    staff_links=(StaffLink(_l("Frequently asked questions"), "faq.staff_list",
                           "question-circle", ("faq.staff_new", "faq.staff_edit",
                                               "faq.staff_delete"), admin=True),),
    syndic_entry=MenuEntry(_l("Frequently asked questions"), "question-circle", 90),
    migrations=Path(__file__).resolve().parent / "migrations",
)
