"""The side menu: the tenant's tree, with each entry resolved to a link the runtime serves."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from flask import current_app, request, url_for
from markupsafe import Markup


@dataclass
class Entry:
    label: str
    icon: str | None
    href: str | None = None
    external: bool = False
    active: bool = False
    children: list[Entry] = field(default_factory=list)

    @property
    def open(self) -> bool:
        return self.active or any(c.open for c in self.children)


def _link(endpoint: str, **values) -> str | None:
    if endpoint not in current_app.view_functions:
        return None  # the screen belongs to a module this release does not serve
    return url_for(endpoint, **values)


def _divisions(group_id: str) -> list[Entry]:
    portal = current_app.extensions["portal"]
    for group in portal["divisions"]:
        if group["group"] == group_id:
            return [Entry(d["label"], None, _link("service.division", division_id=d["id"]))
                    for d in group["divisions"] if d["accessible_to_contacts"]]
    return []


def _resolve(node: dict) -> Entry | None:
    entry = Entry(node["label"], node["icon"])
    kind, target = node["kind"], node["target"]
    modules = current_app.extensions["portal"].modules
    if kind == "module":
        manifest = modules.get(target)
        entry.href = _link(manifest.endpoint) if manifest and manifest.endpoint else None
    elif kind == "page":
        entry.href = _link("pages.show", slug=target)
    elif kind == "url":
        entry.href, entry.external = target, True
    elif kind == "division_group":
        entry.children = [e for e in _divisions(target) if e.href]
    else:
        entry.children = [e for e in map(_resolve, node["children"]) if e]
    if not entry.href and not entry.children:
        return None
    return entry


def _mark_active(entries: list[Entry], path: str) -> None:
    for entry in entries:
        if entry.href and not entry.external:
            entry.active = path == entry.href or path.startswith(entry.href.rstrip("/") + "/")
        _mark_active(entry.children, path)


def _resolved() -> list[Entry]:
    """The menu's links, resolved once per application (and script root)."""
    cache = current_app.extensions["portal"].menu_entries
    key = request.script_root
    if key not in cache:
        cache[key] = [e for e in map(_resolve, current_app.extensions["portal"]["menu"]) if e]
    return cache[key]


def build_menu() -> list[Entry]:
    """The client menu for the current request, active entry marked."""
    entries = copy.deepcopy(_resolved())
    _mark_active(entries, request.path)
    return entries


def _active_href(entries: list[Entry], path: str) -> str | None:
    for entry in entries:
        if entry.href and not entry.external and (
                path == entry.href or path.startswith(entry.href.rstrip("/") + "/")):
            return entry.href
        found = _active_href(entry.children, path)
        if found:
            return found
    return None


def menu_html() -> Markup:
    """The rendered menu: the same for every user, so rendered once per active entry."""
    cache = current_app.extensions["portal"].menu_html
    key = (request.script_root, _active_href(_resolved(), request.path))
    if key not in cache:
        template = current_app.jinja_env.from_string(
            '{% from "macros/menu.html" import menu_entries %}{{ menu_entries(entries) }}')
        cache[key] = Markup(template.render(entries=build_menu()))
    return cache[key]
