"""The side menu: the tenant's tree, with each entry resolved to a link the runtime serves."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app, request, url_for
from werkzeug.routing import BuildError


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
    try:
        return url_for(endpoint, **values)
    except BuildError:  # the screen belongs to a module this release does not serve
        return None


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
    modules = current_app.extensions["portal_modules"]
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


def build_menu() -> list[Entry]:
    """The client menu for the current request, active entry marked."""
    entries = [e for e in map(_resolve, current_app.extensions["portal"]["menu"]) if e]
    _mark_active(entries, request.path)
    return entries
