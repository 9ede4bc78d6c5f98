"""FAQ: questions and answers from the tenant file."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from markupsafe import Markup

from .. import BUYER, SYNDIC, Manifest, MenuEntry

bp = Blueprint("faq", __name__, template_folder="templates")


@bp.get("/faq")
@login_required
def index():
    items = current_app.extensions["portal"]["modules"]["faq"]["items"]
    # answers were rendered from Markdown and sanitised by the build
    entries = [{"q": item["q"], "a": Markup(item["a_html"])} for item in items]
    return render_template("faq/index.html", entries=entries)


manifest = Manifest("faq", bp, "faq.index", views=(BUYER, SYNDIC),
                    syndic_entry=MenuEntry(_l("Frequently asked questions"), "question-circle", 90))
