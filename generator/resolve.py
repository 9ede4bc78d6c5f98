"""Fill schema defaults and turn a valid document into the instance's resolved config."""

from __future__ import annotations

import copy
import re
from typing import Any

import nh3
from markdown_it import MarkdownIt

from . import colours
from .schema import load_schema

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
# Markdown is rendered here once, and sanitised: the runtime trusts these fragments.
ALLOWED_TAGS = {"a", "p", "br", "strong", "em", "b", "i", "u", "s", "ul", "ol", "li", "h1", "h2",
                "h3", "h4", "h5", "h6", "blockquote", "code", "pre", "hr", "table", "thead",
                "tbody", "tr", "th", "td", "img"}
# A wide table scrolls inside its own box on a phone instead of widening the page; the box is
# focusable so that a keyboard can scroll it too. Added after sanitising: nh3 allows no div.
TABLE_OPEN = '<div class="table-scroll" tabindex="0"><table>'


def _deref(schema: dict, root: dict) -> dict:
    ref = schema.get("$ref")
    if not ref:
        return schema
    target = root
    for part in ref.lstrip("#/").split("/"):
        target = target[part]
    merged = {**_deref(target, root), **{k: v for k, v in schema.items() if k != "$ref"}}
    return merged


def fill_defaults(data: Any, schema: dict | None = None, root: dict | None = None) -> Any:
    """Set every absent key that has a schema default, in place; return `data`."""
    root = root or load_schema()
    schema = _deref(schema or root, root)
    if isinstance(data, dict):
        for key, sub in schema.get("properties", {}).items():
            sub = _deref(sub, root)
            if key not in data and "default" in sub:
                data[key] = copy.deepcopy(sub["default"])
            if key in data:
                fill_defaults(data[key], sub, root)
    elif isinstance(data, list) and "items" in schema:
        for item in data:
            fill_defaults(item, schema["items"], root)
    return data


def render_markdown(text: str) -> str:
    """Markdown -> sanitised HTML fragment; every heading level kept, tables scrollable."""
    html = nh3.clean(_markdown.render(text), tags=ALLOWED_TAGS, link_rel="noopener noreferrer",
                     attributes={"a": {"href", "title"}, "img": {"src", "alt", "title"}},
                     url_schemes={"http", "https", "mailto", "tel"})
    # nh3 writes every <table> bare (it keeps no attribute on it), so this finds them all
    return html.replace("<table>", TABLE_OPEN).replace("</table>", "</table></div>")


def slugify(text: str) -> str:
    text = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return text or "page"


def colour_tokens(colors: dict[str, str]) -> dict[str, str]:
    """The on-colour (black or white) of every colour, for WCAG AA text."""
    return {name: colours.on_colour(value) for name, value in colors.items()}


def normalise_menu(nodes: list[dict], pages: dict[str, str]) -> list[dict]:
    """Give every menu node the same keys: label, icon, kind, target, children."""
    out = []
    for node in nodes:
        for kind in ("module", "division_group", "page", "url", "children"):
            if kind in node:
                break
        target = node[kind]
        if kind == "page":
            target = pages[node["page"]]
        out.append({
            "label": node["label"],
            "icon": node.get("icon"),
            "kind": kind,
            "target": None if kind == "children" else target,
            "children": normalise_menu(node["children"], pages) if kind == "children" else [],
        })
    return out
