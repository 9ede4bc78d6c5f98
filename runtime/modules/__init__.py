"""Portal modules: one blueprint package each, registered only when the tenant enables it.

A new module is one new folder plus one line in REGISTRY.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Blueprint, Flask


@dataclass(frozen=True)
class StaffLink:
    label: str  # a lazy_gettext string
    endpoint: str
    icon: str
    also: tuple[str, ...] = ()  # other screens under this entry (it stays highlighted)

    def active(self, endpoint: str | None) -> bool:
        return endpoint == self.endpoint or endpoint in self.also


@dataclass(frozen=True)
class Manifest:
    """What create_app needs to know of a module."""

    name: str
    blueprint: Blueprint
    endpoint: str | None  # where its menu entry points
    staff_links: tuple[StaffLink, ...] = field(default_factory=tuple)


def _registry() -> dict[str, Manifest]:
    from .construction import manifest as construction
    from .contracts import manifest as contracts
    from .documents import manifest as documents
    from .faq import manifest as faq
    from .finance import manifest as finance
    from .notices import manifest as notices
    from .pages import manifest as pages
    from .profile import manifest as profile
    from .property import manifest as property_
    from .tickets import manifest as tickets
    from .tickets import service_manifest as service
    from .unit import manifest as unit

    return {m.name: m for m in (notices, faq, pages, tickets, service, finance, profile, unit,
                                contracts, construction, documents, property_)}


def register_modules(app: Flask) -> None:
    """Register the blueprints of the modules the tenant enables (and pages, when used)."""
    portal = app.extensions["portal"]
    registry = _registry()
    enabled = [name for name in portal["modules"] if name in registry]
    if portal["pages"]:
        enabled.append("pages")
    if portal["divisions"]:  # the contact tree and the staff desk
        enabled.append("service")
    if {"unit", "contracts", "construction", "documents"} & set(portal["modules"]):
        enabled.append("property")  # developments in the staff console, viewing as a client
    missing = [name for name in portal["modules"] if name not in registry]
    if missing:
        app.logger.info("modules without screens in this release: %s", ", ".join(missing))
    manifests = [registry[name] for name in enabled]
    for manifest in manifests:
        app.register_blueprint(manifest.blueprint)
    app.extensions["portal"].modules = {m.name: m for m in manifests}
