"""One object per served instance: `app.extensions["portal"]`.

It holds what the app of one instance knows and keeps: the tenant's resolved config
(release/config.json), its settings, and the state computed once per app (enabled
modules, template context, rendered menu and footer, login counter, release lease).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Config
    from flask_limiter import Limiter
    from markupsafe import Markup

    from .releases import ReleaseLease
    from .storage import Backend
    from .throttle import DatabaseCounter, RedisCounter

# The shape of a release (config.json keys, folder layout) this runtime reads. The build
# writes the same number (generator/build.py RELEASE_FORMAT); bump both on a change an
# older or newer runtime would misread, so such a release is refused with "rebuild it"
# instead of failing on a missing key in the middle of a request.
RELEASE_FORMAT = 2  # 2: one CSS bundle and one JS bundle, subset icons


class InstanceError(RuntimeError):
    """The folder is not a built portal instance the runtime can serve (a user's error)."""


def check_release(config: Mapping[str, Any], instance: Path) -> None:
    """Refuse a release written by a generator whose release format this runtime does not read."""
    # releases built before formats were numbered have the layout of format 1
    found = config.get("release_format", 1)
    if found != RELEASE_FORMAT:
        built_by = config.get("generator_version", "an unknown version")
        raise InstanceError(
            f"{instance}: its release was built by portal {built_by} in release format "
            f"{found}, and this portal serves format {RELEASE_FORMAT}; rebuild it with this "
            f"portal: portal build <tenant.yaml> --out {instance.parent}")


class Settings:
    """The instance's settings, typed: a read-only view of the app config they were resolved into.

    runtime/settings.py resolves the settings file and PORTAL_* variables into the app's
    config once (Flask extensions read it there); this view names them with their types.
    Being a view, a test that changes `app.config` changes what the portal sees.
    """

    def __init__(self, config: Config) -> None:
        self._config = config

    @property
    def database_url(self) -> str:
        return self._config["SQLALCHEMY_DATABASE_URI"]

    @property
    def secret_key(self) -> str | bytes:
        return self._config["SECRET_KEY"]

    @property
    def mail_outbox(self) -> bool:
        """MAIL = "outbox": e-mail is written to data/outbox/, never sent."""
        return self._config["PORTAL_MAIL"] == "outbox"

    @property
    def smtp_password(self) -> str:
        return self._config["PORTAL_SMTP_PASSWORD"]

    @property
    def upload_max_bytes(self) -> int:
        return self._config["PORTAL_UPLOAD_MAX_BYTES"]

    @property
    def ticket_max_bytes(self) -> int:
        return self._config["PORTAL_TICKET_MAX_BYTES"]

    @property
    def image_max_pixels(self) -> int:
        return self._config["PORTAL_IMAGE_MAX_PIXELS"]

    @property
    def proxy_count(self) -> int:
        return self._config["PORTAL_PROXY_COUNT"]

    @property
    def redis_url(self) -> str | None:
        return self._config["PORTAL_REDIS_URL"]


class Portal(Mapping[str, Any]):
    """The served instance: its tenant config as a read-only mapping, settings and state typed.

    Reading the tenant config stays `portal["tenant"]["name"]`, as it was when the config
    was a plain dict: the many readers of the resolved config are untouched, and the
    mapping has no way to set a key, since the build fixed the config. Everything else is
    an attribute with a type: `settings`, and the state each app computes once, which used
    to be separate `app.extensions["portal_*"]` keys.
    """

    def __init__(self, config: dict[str, Any], settings: Settings,
                 lease: ReleaseLease | None = None) -> None:
        self._config = config
        self.settings = settings
        self.lease = lease  # keeps the release folder on disk while this app serves it
        self.modules: dict[str, Any] = {}  # enabled module name -> its manifest
        self.migrations: list[Path] = []  # every registered module's migration versions
        self.context: dict[str, Any] | None = None  # template globals, built on first render
        self.counter: DatabaseCounter | RedisCounter | None = None  # login attempts
        self.limiter: Limiter | None = None  # request rates (runtime/ratelimit.py)
        self.storage: Backend | None = None  # stored files: a folder or a bucket (storage.py)
        self.proxy_warned = False  # the X-Forwarded-For warning is logged once
        self.menu_entries: dict[tuple[str, str], list] = {}  # (root, view) -> resolved menu
        # (script root, view, active entry) -> HTML
        self.menu_html: dict[tuple[str, str, str | None], Markup] = {}
        self.footer_html: Markup | None = None
        self.mail_logo: dict[str, bytes | None] = {}  # "png" -> the logo for e-mail, once

    def __getitem__(self, key: str) -> Any:
        return self._config[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._config)

    def __len__(self) -> int:
        return len(self._config)

    def __repr__(self) -> str:
        return f"<Portal {self._config.get('tenant', {}).get('id', '?')}>"
