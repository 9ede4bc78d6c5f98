"""The side menu: the tenant's tree, with each entry resolved to a link the runtime serves.

Each client portal has its own tree: `menu` for buyers, `menu_syndic` for building
managers (when the tenant file has none, one entry per enabled module that serves them,
from its manifest's `syndic_entry`). A module entry shows only in the portals its module
serves.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from flask import current_app, request, url_for
from markupsafe import Markup

from .modules import BUYER, SYNDIC
from .syndic import current_view


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


def _resolve(node: dict, view: str) -> Entry | None:
    entry = Entry(node["label"], node["icon"])
    kind, target = node["kind"], node["target"]
    modules = current_app.extensions["portal"].modules
    if kind == "module":
        manifest = modules.get(target)
        served = manifest is not None and manifest.endpoint and view in manifest.views
        entry.href = _link(manifest.endpoint) if served else None
    elif kind == "page":
        entry.href = _link("pages.show", slug=target)
    elif kind == "url":
        entry.href, entry.external = target, True
    elif kind == "division_group":
        entry.children = [e for e in _divisions(target) if e.href]
    else:
        entry.children = [e for e in (_resolve(n, view) for n in node["children"]) if e]
    if not entry.href and not entry.children:
        return None
    return entry


def _mark_active(entries: list[Entry], path: str) -> None:
    for entry in entries:
        if entry.href and not entry.external:
            entry.active = path == entry.href or path.startswith(entry.href.rstrip("/") + "/")
        _mark_active(entry.children, path)


def syndic_default() -> list[dict]:
    """The building manager's menu when the tenant file has no `menu_syndic`."""
    modules = current_app.extensions["portal"].modules.values()
    chosen = sorted((m for m in modules if m.syndic_entry and SYNDIC in m.views),
                    key=lambda m: m.syndic_entry.order)  # stable: REGISTRY order next
    return [{"label": m.syndic_entry.label, "icon": m.syndic_entry.icon, "kind": "module",
             "target": m.name, "children": []} for m in chosen]


def _nodes(view: str) -> list[dict]:
    portal = current_app.extensions["portal"]
    if view != SYNDIC:
        return portal["menu"]
    written = portal.get("menu_syndic")
    return syndic_default() if written is None else written


def _view() -> str:
    return current_view() or BUYER


def _resolved(view: str) -> list[Entry]:
    """A portal's menu links, resolved once per application (and script root)."""
    cache = current_app.extensions["portal"].menu_entries
    key = (request.script_root, view)
    if key not in cache:
        cache[key] = [e for e in (_resolve(n, view) for n in _nodes(view)) if e]
    return cache[key]


def build_menu() -> list[Entry]:
    """The client menu for the current request, active entry marked."""
    entries = copy.deepcopy(_resolved(_view()))
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
    """The rendered menu: the same for every user of a portal, so rendered once per portal
    and active entry."""
    cache = current_app.extensions["portal"].menu_html
    view = _view()
    key = (request.script_root, view, _active_href(_resolved(view), request.path))
    if key not in cache:
        template = current_app.jinja_env.from_string(
            '{% from "macros/menu.html" import menu_entries %}{{ menu_entries(entries) }}')
        cache[key] = Markup(template.render(entries=build_menu()))
    return cache[key]
