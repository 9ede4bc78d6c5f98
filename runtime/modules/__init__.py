"""Portal modules: one folder each, named only here, registered when the tenant enables it.

A new module is one new folder plus one line in REGISTRY. Its manifest declares all the
core needs from it (see docs/architecture.md): the core loops over manifests and never
names a module.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from blinker import ANY, NamedSignal
from flask import Blueprint, Flask, current_app

# One line per module: its name (the key under `modules:` in a tenant file, when it has a
# schema fragment) and the package holding its manifest (`package:attribute` when a package
# holds two). Home cards, staff links and demo seeds follow this order.
REGISTRY: dict[str, str] = {
    "notices": "runtime.modules.notices",
    "faq": "runtime.modules.faq",
    "pages": "runtime.modules.pages",
    "tickets": "runtime.modules.tickets",
    "service": "runtime.modules.tickets:desk",
    "finance": "runtime.modules.finance",
    "profile": "runtime.modules.profile",
    "unit": "runtime.modules.unit",
    "contracts": "runtime.modules.contracts",
    "construction": "runtime.modules.construction",
    "documents": "runtime.modules.documents",
    "property": "runtime.modules.property",
    "vouchers": "runtime.modules.vouchers",
    "scheduling": "runtime.modules.scheduling",
    "survey": "runtime.modules.survey",
    "referrals": "runtime.modules.engage:referrals_manifest",  # features.refer_a_friend
    "address": "runtime.modules.engage:address_manifest",  # features.address_confirmation
}


# click's ctx.meta key of the INSTANCE argument the portal CLI gives every module command
INSTANCE = "portal.instance"


@dataclass(frozen=True)
class StaffLink:
    """An entry of the staff console's menu (and of its overview's buttons)."""

    label: str  # a lazy_gettext string
    endpoint: str
    icon: str
    also: tuple[str, ...] = ()  # other screens under this entry (it stays highlighted)
    admin: bool = False  # shown to administrators only (their screens refuse other staff)

    def active(self, endpoint: str | None) -> bool:
        return endpoint == self.endpoint or endpoint in self.also


@dataclass(frozen=True)
class Part:
    """A template partial a module adds to a named place of a core (or another) screen.

    `context(**args)` returns the partial's data (as `part.data`), or None to add nothing;
    without it the partial is always included. Places: "home.cards" and "home.sections"
    (the client's home page; "syndic.home.cards" and "syndic.home.sections" in the
    building manager's portal), "banner" and "user_menu" (every client page),
    "staff.account" (an account in the staff console; args: user), "staff.development"
    (a development in the staff console; args: development), "unit.sections" (below a
    client's unit on "My unit"; args: unit), "pending" (one `<li>` of the pop-up listing
    what waits for a client after login; args: user; see runtime/pending.py).
    Parts of one place come in `order`, then in module order: the pending items use
    10 address confirmation, 20 requests awaiting the client, 30 open surveys,
    40 upcoming appointments, 50 documents since the last visit.
    """

    place: str
    template: str
    context: Callable[..., Any] | None = None
    order: int = 50


@dataclass(frozen=True)
class Gate:
    """A screen a client must pass after logging in, before the portal (runtime/pending.py).

    `due(user)` gives the URL of the gate's screen while it waits for this client, or None.
    The screen's own endpoints (`endpoints`) stay open while the gate waits; when the client
    is done (or postpones), the screen calls `runtime.pending.passed(name)` and redirects
    to `runtime.pending.next_url()`. Gates run in `order`: 10 address confirmation,
    20 the first-login survey.
    """

    name: str
    due: Callable[..., str | None]
    endpoints: tuple[str, ...] = ()
    order: int = 50


@dataclass(frozen=True)
class MenuEntry:
    """A module's entry in a menu the tenant file does not write out (the syndic's default)."""

    label: str  # a lazy_gettext string
    icon: str
    order: int = 50  # entries are sorted by this, then by REGISTRY order


# The client portals a user may see: a buyer's ("My units") and a building manager's
# (syndic). runtime/syndic.py decides which one a request is in.
BUYER, SYNDIC = "buyer", "syndic"


@dataclass(frozen=True)
class Included:
    """A part ready for `{% include part.template %}`, its data in `part.data`."""

    template: str
    data: Any


@dataclass(frozen=True)
class Handler:
    """A receiver a module connects to a signal another part of the portal sends."""

    signal: NamedSignal
    receiver: Callable[..., Any]
    sender: Any = ANY


@dataclass(frozen=True)
class Manifest:
    """What the core needs to know of a module; see docs/architecture.md for each field."""

    name: str
    blueprint: Blueprint
    endpoint: str | None = None  # where its menu entry points
    staff_links: tuple[StaffLink, ...] = ()
    parts: tuple[Part, ...] = ()
    # on although the tenant does not list it under `modules:`, e.g. when it has pages
    enabled_when: Callable[[Mapping[str, Any]], bool] | None = None
    requires: tuple[str, ...] = ()  # modules switched on with this one
    handlers: tuple[Handler, ...] = ()
    gates: tuple[Gate, ...] = ()  # screens a client passes after login (Gate)
    seed: Callable[[Any], None] | None = None  # demo content; receives runtime.demo.Demo
    # sample content for any tenant, in its language (portal seed --sample); receives
    # runtime.sample.Sample. A module without one has its `seed` run instead
    sample: Callable[[Any], None] | None = None
    migrations: Path | None = None  # its Alembic versions folder (a branch named after it)
    # the client portals whose users may open its client screens; in any other one they
    # answer 404 (runtime/syndic.py), except `shared_endpoints` (they check scope themselves)
    views: tuple[str, ...] = (BUYER,)
    shared_endpoints: tuple[str, ...] = ()
    syndic_entry: MenuEntry | None = None  # its entry of the syndic's default menu
    # ERP files `portal import` reads for it: runtime.erp.importer.ErpFile (table, upsert)
    erp_files: tuple[Any, ...] = ()
    # screens served from the page cache (runtime/pagecache.py): endpoint names; each
    # must have no side effect but idempotent ones, and its models say what their writes
    # change (`page_cache_scope`); a staff screen is kept per staff member and changes
    # with any write
    cached_pages: tuple[str, ...] = ()

    @property
    def commands(self) -> Iterable:
        """Its click commands (blueprint.cli): `portal NAME INSTANCE ...` in the CLI."""
        return self.blueprint.cli.commands.values()


def load(entry: str) -> Manifest:
    """The manifest a REGISTRY entry names: `package` (its `manifest`) or `package:attr`."""
    package, _, attribute = entry.partition(":")
    return getattr(importlib.import_module(package), attribute or "manifest")


def manifests() -> dict[str, Manifest]:
    """Every registered module's manifest, by name, in REGISTRY order."""
    return {name: load(entry) for name, entry in REGISTRY.items()}


def _registry() -> dict[str, Manifest]:  # the name older tests use
    return manifests()


def resolve(portal: Mapping[str, Any], registry: Mapping[str, Manifest]) -> list[Manifest]:
    """The modules an instance runs, in REGISTRY order: listed, on by a predicate, or required."""
    listed = set(portal["modules"])
    wanted = [m.name for m in registry.values()
              if m.name in listed or (m.enabled_when is not None and m.enabled_when(portal))]
    closed: list[str] = []

    def visit(name: str, chain: tuple[str, ...]) -> None:
        if name in closed:
            return
        if name in chain:
            raise RuntimeError(f"modules require each other in a loop: {' -> '.join(chain)}")
        if name not in registry:
            raise RuntimeError(f"module {chain[-1]} requires {name}, which is not registered")
        for required in registry[name].requires:
            visit(required, (*chain, name))
        closed.append(name)

    for name in wanted:
        visit(name, ())
    return [m for m in registry.values() if m.name in closed]


def register_modules(app: Flask) -> None:
    """Register the blueprints, handlers and migrations of the modules the instance runs."""
    portal = app.extensions["portal"]
    registry = manifests()
    missing = [name for name in portal["modules"] if name not in registry]
    if missing:
        app.logger.info("modules without screens in this release: %s", ", ".join(missing))
    enabled = resolve(portal, registry)
    for manifest in enabled:
        app.register_blueprint(manifest.blueprint, cli_group=None)
        for handler in manifest.handlers:
            _connect(manifest.name, handler)
    portal.modules = {m.name: m for m in enabled}
    # every registered module's tables exist, enabled or not: switching one on later needs
    # no migration, and the models and migrations are checked as one whole
    portal.migrations = [m.migrations for m in registry.values() if m.migrations is not None]
    _init_migrations()


_connected: dict[tuple, Callable[..., Any]] = {}


def _connect(module: str, handler: Handler) -> None:
    """Connect a module's receiver once per process, acting only in apps that enable it."""
    key = (id(handler.signal), handler.receiver, handler.sender, module)
    if key in _connected:
        return

    def receiver(sender: Any, **kwargs: Any) -> Any:
        if module in current_app.extensions["portal"].modules:
            return handler.receiver(sender, **kwargs)
        return None

    receiver.portal_module = module  # type: ignore[attr-defined]
    _connected[key] = receiver  # a strong reference: blinker keeps weak ones
    handler.signal.connect(receiver, sender=handler.sender, weak=False)


def handled(signal: NamedSignal, sender: Any) -> bool:
    """Whether a module this app runs receives `signal` from `sender`."""
    enabled = current_app.extensions["portal"].modules
    return any(getattr(r, "portal_module", None) in enabled
               for r in signal.receivers_for(sender))


def enabled(name: str) -> bool:
    """Whether the current app runs module `name` (for optional links between modules)."""
    return name in current_app.extensions["portal"].modules


def parts(place: str, **args: Any) -> list[Included]:
    """The partials the enabled modules add to `place`, with their data, in module order.

    On a client's screens, only modules serving the portal they are in (Manifest.views)
    add to it: a buyer's shortcut never shows in the building manager's portal.
    """
    from ..syndic import current_view  # the core's, which imports this package

    view = None if place.startswith("staff.") else current_view()
    found = []
    for manifest in current_app.extensions["portal"].modules.values():
        if view is not None and view not in manifest.views:
            continue
        found.extend(part for part in manifest.parts if part.place == place)
    out = []
    for part in sorted(found, key=lambda p: p.order):  # stable: module order within one
        data = part.context(**args) if part.context is not None else True
        if data is not None and data is not False:
            out.append(Included(part.template, data))
    return out


def gates() -> list[tuple[str, Gate]]:
    """The after-login gates of the modules this app runs, in order, with their module."""
    found = [(m.name, g) for m in current_app.extensions["portal"].modules.values()
             for g in m.gates]
    return sorted(found, key=lambda pair: pair[1].order)


def _configure_migrations(config):
    """Alembic sees the core's versions and every module's: one chain, a branch each."""
    import os

    folders = [Path(config.get_main_option("script_location")) / "versions",
               *current_app.extensions["portal"].migrations]
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(str(f) for f in folders))
    return config


def _init_migrations() -> None:
    """Teach Flask-Migrate the modules' version folders (once per process)."""
    from ..extensions import migrate

    if _configure_migrations not in migrate.configure_callbacks:
        migrate.configure(_configure_migrations)
