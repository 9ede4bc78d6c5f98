"""Pages: Markdown files named by menu nodes, rendered and sanitised at build time."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Blueprint, abort, current_app, render_template
from flask_login import login_required
from markupsafe import Markup

from .. import BUYER, SYNDIC, Manifest

bp = Blueprint("pages", __name__, template_folder="templates")


@bp.get("/pages/<slug>")
@login_required
def show(slug: str):
    if slug not in current_app.extensions["portal"]["pages"]:
        abort(404)
    release = Path(current_app.instance_path) / "release"
    html = (release / "pages" / f"{slug}.html").read_text(encoding="utf-8")
    title = _label(current_app.extensions["portal"]["menu"], slug) or slug
    heading, body = split_heading(html)
    return render_template("pages/page.html", content=body, slug=slug, page_title=title,
                           heading=heading)


def split_heading(html: str) -> tuple[Markup | None, Markup]:
    """A page that opens with `# Title` shows that title as the screen's h1, above its text.

    The fragment was sanitised at build time, so the heading's inner HTML is safe as well.
    """
    match = re.match(r"\s*<h1>(.*?)</h1>\s*", html, re.DOTALL)
    if match is None:
        return None, Markup(html)
    return Markup(match.group(1)), Markup(html[match.end():])


def _label(nodes: list[dict], slug: str) -> str | None:
    for node in nodes:
        if node["kind"] == "page" and node["target"] == slug:
            return node["label"]
        found = _label(node["children"], slug)
        if found:
            return found
    return None


# on when menu nodes name Markdown pages (the tenant does not list it under modules)
manifest = Manifest("pages", bp, enabled_when=lambda portal: bool(portal["pages"]),
                    views=(BUYER, SYNDIC))
