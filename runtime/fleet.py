"""Many tenants, one process: every instance built under a folder, chosen by the Host header.

`portal serve --fleet DIR` and `gunicorn 'runtime.fleet:Fleet("DIR")'` serve a Fleet (the
folder is the factory's argument: the runtime reads no environment outside create_app).
A request goes to the instance whose tenant lists its host in `domains`, or whose id it
names as `<id>.localhost` (local work); any other host gets a bare 404 that names no
tenant. A host nobody claims makes the fleet look at the folder again (at most once per
RESCAN_SECONDS), so a tenant built meanwhile is served.

Each instance's app is made on its first request and kept: a LiveInstance, which follows
the instance's rebuilds by itself (runtime/releases.py). An instance that cannot be made
(a corrupt release, a bad settings file) answers 503 with one log line and is tried
again RETRY_SECONDS later; the other instances never notice.

Probes: an orchestrator asks /healthz and /healthz/ready by the pod's address, a host no
tenant claims. The fleet answers those itself: alive while the process answers; ready
while a tenant that can be served says it is (its database, and Redis if it uses it), so
one broken tenant does not take the pod out of service and a database that is down does.

Isolation: each app reads its own instance folder, so it has its own secret key (data/
secret_key), session cookie (portal_<id>), database, uploads and outbox. Settings that
the process environment gives every tenant at once could undo that: the fleet refuses an
instance whose database or secret key is already another served instance's (a fleet-wide
PORTAL_SECRET_KEY, or a PostgreSQL PORTAL_DATABASE_URL without PORTAL_DATABASE_SCHEMA).
Apps are made with `fleet=True` (one idle database connection at most), and only the
IDLE_TENANTS tenants that used theirs last keep it: the connections of a process follow
its concurrent requests plus a small constant, not its tenant count.
"""

from __future__ import annotations

import hashlib
import logging
import os
import resource
import threading
import time
from collections import OrderedDict
from pathlib import Path

from jinja2.bccache import Bucket, BytecodeCache

from .portal import InstanceError
from .releases import CHECK_SECONDS, LiveInstance
from .status import instances

log = logging.getLogger(__name__)
RESCAN_SECONDS = 2.0
RETRY_SECONDS = 10.0
IDLE_TENANTS = 8  # tenants per process that keep an idle database connection
LOCAL = ".localhost"
# plain text in the portal's three languages: no tenant (nor its language) is known here
NOT_FOUND = ("Not Found: no portal answers on this host name.\n"
             "Não encontrado: nenhum portal responde neste endereço.\n"
             "No encontrado: ningún portal responde en esta dirección.\n").encode()
UNAVAILABLE = ("Service Unavailable: this portal cannot be served at the moment; try again "
               "in a few minutes.\n"
               "Serviço indisponível: este portal não pode ser exibido agora; tente de novo "
               "em alguns minutos.\n"
               "Servicio no disponible: este portal no puede mostrarse ahora; inténtelo de "
               "nuevo en unos minutos.\n").encode()


HEALTH_PATHS = ("/healthz", "/healthz/ready")
READY_TRIES = 3  # servable tenants asked, at most, before the fleet says it is not ready


def host_of(environ: dict) -> str:
    """The request's host name: lower case, without the port or a final dot."""
    host = (environ.get("HTTP_HOST") or environ.get("SERVER_NAME") or "").strip().lower()
    if host.startswith("["):  # an IPv6 address: [::1]:5000
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0].rstrip(".")


def hosts_of(instance: Path) -> list[str] | None:
    """The host names the instance's tenant answers on, or None if its release is unreadable."""
    from . import load_config

    try:
        tenant = load_config(instance)["tenant"]
        return [tenant["id"] + LOCAL, *tenant.get("domains", [])]
    except (InstanceError, KeyError, TypeError, AttributeError):
        return None


def _plain(start_response, status: str, body: bytes) -> list[bytes]:
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"),
                            ("Content-Length", str(len(body))), ("Cache-Control", "no-store")])
    return [body]


class UrlMaps:
    """One URL map per distinct set of routes, shared by the apps that have that set.

    A werkzeug Map compiles every rule (a regex, a state machine, a URL builder): about a
    third of a megabyte for the portal's routes, per app. Tenants that enable the same
    modules have the same routes, so their apps match and build URLs with one Map; the
    views stay each app's own (a rule names an endpoint; `app.view_functions` maps it).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._maps: dict[tuple, object] = {}

    def share(self, app) -> None:
        """Give `app` the map of an earlier app with the very same routes, if any."""
        url_map = app.url_map
        key = (_map_settings(url_map), tuple(sorted(_rule_key(r) for r in url_map.iter_rules())))
        with self._lock:
            app.url_map = self._maps.setdefault(key, url_map)


def _map_settings(url_map) -> tuple:
    converters = sorted((name, f"{c.__module__}.{c.__qualname__}")
                        for name, c in url_map.converters.items())
    return (url_map.default_subdomain, url_map.strict_slashes, url_map.merge_slashes,
            url_map.redirect_defaults, url_map.host_matching, url_map.sort_parameters,
            repr(url_map.sort_key), tuple(converters))


def _rule_key(rule) -> tuple:
    """Everything a rule matches and builds by (a callable keeps its identity in the repr)."""
    return (rule.rule, rule.endpoint, tuple(sorted(rule.methods or ())),
            repr(sorted((rule.defaults or {}).items())), rule.subdomain, rule.host,
            rule.strict_slashes, rule.merge_slashes, repr(rule.redirect_to), rule.build_only,
            rule.alias, rule.websocket)


class CompiledTemplates(BytecodeCache):
    """Compiled templates shared by the apps of a fleet, by template name and source.

    Every release carries its own copy of the theme, so Jinja's own cache key (the file's
    path) would never match across tenants: each new tenant parsed and compiled the same
    layout again, half of its first request. Keyed by name and source checksum instead,
    a template is compiled once per process; the apps still render it with their own
    environment (filters, globals, translations are looked up when it runs).
    """

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def get_bucket(self, environment, name: str, filename: str | None, source: str) -> Bucket:
        checksum = self.get_source_checksum(source)
        bucket = Bucket(environment, f"{name}\0{checksum}", checksum)
        self.load_bytecode(bucket)
        return bucket

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()  # one assignment: thread-safe


class IdleConnections:
    """Only the `cap` tenants that used the database last keep an idle connection.

    A fleet's app keeps one idle connection at most (create_app(fleet=True): pool_size
    1); 500 tenants would still keep 500 per process. Each time a connection goes back
    to its pool, its tenant becomes the most recent; past `cap` tenants, the least
    recent one's idle connection is closed (its pool stays usable and connects again
    when asked). A process so holds at most `cap` idle connections plus those of the
    requests it is answering: busy tenants skip the connection set-up, cold ones pay it.
    """

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._recent: OrderedDict[object, None] = OrderedDict()  # engines, least recent first
        self._lock = threading.Lock()

    def watch(self, engine) -> None:
        from sqlalchemy import event

        event.listen(engine, "checkin", lambda *_: self._returned(engine))  # kept by dispose()

    def _returned(self, engine) -> None:
        with self._lock:
            self._recent[engine] = None
            self._recent.move_to_end(engine)
            stale = [self._recent.popitem(last=False)[0]
                     for _ in range(len(self._recent) - self.cap)]
        for old in stale:
            old.pool.dispose()  # closes what is idle in it; checked-out connections go on

    def idle(self) -> int:
        """Idle connections held now (for tests and tools)."""
        with self._lock:
            engines = list(self._recent)
        return sum(engine.pool.checkedin() for engine in engines)


class Shared:
    """What the apps of one fleet process share, so that a tenant costs little more than
    its own settings and state: URL maps, compiled templates, the idle database
    connections (IdleConnections) and the page cache's budget (runtime/pagecache.py keeps
    PAGE_CACHE_MB of pages per app; 500 apps would each keep that much, so the fleet's
    apps fill one store of that size, least recently used dropped first; a page's key
    holds its release and host, so no tenant gets another's)."""

    def __init__(self, idle_tenants: int = IDLE_TENANTS) -> None:
        self.url_maps = UrlMaps()
        self.templates = CompiledTemplates()
        self.connections = IdleConnections(idle_tenants)
        self._pages = None
        self._lock = threading.Lock()

    def adopt(self, app) -> None:
        """Make `app` use the fleet's shared parts (before its first request)."""
        from .extensions import db

        with app.app_context():
            self.connections.watch(db.engine)
        self.url_maps.share(app)
        app.jinja_env.bytecode_cache = self.templates
        cache = app.extensions.get("pagecache")
        if cache is not None:
            with self._lock:
                if self._pages is None:  # the first app's store (PAGE_CACHE_MB) serves all
                    self._pages = cache.pages
            cache.pages = self._pages


class _FleetInstance(LiveInstance):
    """A LiveInstance whose apps keep no idle database connection and share what they
    can with the rest of the fleet."""

    def __init__(self, instance: Path, check_seconds: float, shared: Shared) -> None:
        self.shared = shared  # before LiveInstance makes the first app
        super().__init__(instance, check_seconds)

    def _make_app(self):
        from . import create_app

        app = create_app(self.instance, fleet=True)
        self.shared.adopt(app)
        return app


class _Slot:
    """One instance of the fleet: its app once made, or when to try making it again."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.live: LiveInstance | None = None
        self.retry_at = 0.0


class Owners:
    """Who holds each database and secret key: two instances of one fleet never share them."""

    FIXES = {"database": "give each tenant its own: PORTAL_DATABASE_SCHEMA=t_{tenant} (one "
                         "schema per tenant) or DATABASE_URL in each instance's settings.py",
             "secret key": "unset PORTAL_SECRET_KEY (each instance keeps its own generated "
                           "data/secret_key) or set SECRET_KEY in each instance's settings.py"}

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owners: dict[tuple[str, str], str] = {}  # (what, digest of the value) -> instance

    def claim(self, name: str, config) -> None:
        """Note the instance `name`'s database and secret key, or InstanceError if taken."""
        own = {
            "database": f"{config['SQLALCHEMY_DATABASE_URI']} "
                        f"schema {config.get('PORTAL_DATABASE_SCHEMA') or 'public'}",
            "secret key": str(config["SECRET_KEY"]),
        }
        keys = {what: (what, hashlib.sha256(value.encode()).hexdigest())
                for what, value in own.items()}
        with self._lock:
            for what, key in keys.items():
                other = self._owners.get(key)
                if other is not None and other != name:
                    raise InstanceError(f"its {what} is {other}'s too; {self.FIXES[what]}")
            for key in keys.values():
                self._owners[key] = name


class Fleet:
    """The WSGI app of every instance built under `folder`."""

    def __init__(self, folder: str | os.PathLike, *, check_seconds: float = CHECK_SECONDS,
                 rescan_seconds: float = RESCAN_SECONDS,
                 retry_seconds: float = RETRY_SECONDS) -> None:
        self.folder = Path(folder).resolve()
        if not self.folder.is_dir():
            raise InstanceError(f"{folder}: no such folder of built instances")
        self.check_seconds = check_seconds
        self.rescan_seconds = rescan_seconds
        self.retry_seconds = retry_seconds
        self._lock = threading.Lock()
        self._hosts: dict[str, Path] = {}
        self._known: dict[Path, list[str]] = {}  # the last readable host names of each
        self._clashes: set[tuple[str, Path]] = set()  # (host, instance that lost it)
        self._slots: dict[Path, _Slot] = {}
        self._owners = Owners()
        self.shared = Shared()
        self._scanned = 0.0
        _more_open_files()  # one release lease (a file) per served instance
        self.scan()

    @property
    def hosts(self) -> dict[str, Path]:
        """Host name -> instance folder, as of the last scan."""
        return dict(self._hosts)

    def scan(self) -> None:
        """Map each instance's host names to it, from the folder as it is now."""
        hosts: dict[str, Path] = {}
        for instance in instances(self.folder):
            names = hosts_of(instance)
            if names is None:  # broken now: keep answering its hosts (with 503), not 404
                names = self._known.get(instance, [])
            else:
                self._known[instance] = names
            for name in dict.fromkeys([instance.name + LOCAL, *names]):
                first = hosts.setdefault(name, instance)
                if first != instance and (name, instance) not in self._clashes:
                    self._clashes.add((name, instance))  # said once, not at every scan
                    log.error("fleet: %s and %s both answer on %s; %s serves it",
                              first.name, instance.name, name, first.name)
        self._hosts = hosts
        self._scanned = time.monotonic()

    def app_of(self, instance: Path):
        """The Flask app serving `instance` now, made if need be (None: it cannot be served)."""
        live = self._live(instance)
        return live.app if live is not None else None

    def _find(self, host: str) -> Path | None:
        instance = self._hosts.get(host)
        if instance is None and time.monotonic() - self._scanned >= self.rescan_seconds:
            with self._lock:
                if time.monotonic() - self._scanned >= self.rescan_seconds:
                    self.scan()
            instance = self._hosts.get(host)
        return instance

    def _live(self, instance: Path) -> LiveInstance | None:
        slot = self._slots.get(instance)
        if slot is None:
            with self._lock:
                slot = self._slots.setdefault(instance, _Slot())
        if slot.live is not None:
            return slot.live
        with slot.lock:  # one app per instance, even under concurrent first requests
            if slot.live is None and time.monotonic() >= slot.retry_at:
                try:
                    live = _FleetInstance(instance, self.check_seconds, self.shared)
                except Exception as exc:  # noqa: BLE001 - one tenant must not stop the others
                    self._failed(slot, instance, exc)
                    return None
                try:
                    self._owners.claim(instance.name, live.app.config)
                except InstanceError as exc:
                    _close(live.app)
                    self._failed(slot, instance, exc)
                    return None
                slot.live = live
        return slot.live

    def _failed(self, slot: _Slot, instance: Path, exc: Exception) -> None:
        slot.retry_at = time.monotonic() + self.retry_seconds
        if isinstance(exc, InstanceError):
            log.error("fleet: %s cannot be served: %s (its hosts answer 503; tried again in "
                      "%.0f s)", instance.name, exc, self.retry_seconds)
        else:
            log.exception("fleet: %s cannot be served (its hosts answer 503; tried again in "
                          "%.0f s)", instance.name, self.retry_seconds)

    def ready(self) -> bool:
        """Whether the fleet can serve: the first tenants that can be made answer their own
        readiness check (a tenant that cannot be made is skipped, not counted as down)."""
        asked = 0
        for instance in sorted(set(self._hosts.values())):
            live = self._live(instance)
            if live is None:
                continue
            if live.app.test_client().get("/healthz/ready").status_code == 200:
                return True
            asked += 1
            if asked == READY_TRIES:
                break
        return False

    def _health(self, environ, start_response) -> list[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            return _plain(start_response, "200 OK", b"ok\n")
        if self.ready():
            return _plain(start_response, "200 OK", b"ready\n")
        return _plain(start_response, "503 Service Unavailable", b"not ready\n")

    def __call__(self, environ, start_response):
        instance = self._find(host_of(environ))
        if instance is None:
            if environ.get("PATH_INFO") in HEALTH_PATHS:
                return self._health(environ, start_response)
            return _plain(start_response, "404 Not Found", NOT_FOUND)
        live = self._live(instance)
        if live is None:
            return _plain(start_response, "503 Service Unavailable", UNAVAILABLE)
        try:
            return live(environ, start_response)
        except Exception:  # noqa: BLE001 - the app answers its own errors; this is the folder
            log.exception("fleet: %s failed to answer", instance.name)
            return _plain(start_response, "503 Service Unavailable", UNAVAILABLE)


def _close(app) -> None:
    """Let go of an app that will not serve: its release lease and its engine."""
    from .extensions import db

    portal = app.extensions["portal"]
    lease, portal.lease = portal.lease, None
    if lease is not None:
        lease.close()
    with app.app_context():
        db.engine.dispose()


def _more_open_files() -> None:
    """Raise this process's open-file limit to its ceiling (a server may hold thousands)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass  # the limit stays as it was: fine for a few hundred tenants



class Outboxes:
    """The mail worker of a fleet: a delivery pass over each instance's outbox, in one process.

    `portal outbox work --all DIR` runs it (and `portal serve --fleet` starts that as its
    child). Each instance's app is kept and made again when its release link moves, so
    mail is rendered with the current release; one that cannot be made is logged once
    per release and skipped, the others deliver. Each pass opens the instance's own
    database (its schema, with DATABASE_SCHEMA) and writes to its own outbox folder.
    """

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder).resolve()
        if not self.folder.is_dir():
            raise InstanceError(f"{folder}: no such folder of built instances")
        self._apps: dict[Path, tuple[str, object]] = {}  # instance -> (release, app)
        self._failed: dict[Path, str] = {}  # instance -> the release that could not be made
        self._owners = Owners()
        self._connections = IdleConnections(IDLE_TENANTS)

    def app_of(self, instance: Path):
        """The app of the instance's current release (None: it cannot be made)."""
        from . import create_app
        from .extensions import db

        target = os.readlink(instance / "release")
        held = self._apps.get(instance)
        if held is not None and held[0] == target:
            return held[1]
        if self._failed.get(instance) == target:
            return None
        try:
            app = create_app(instance, fleet=True)
        except Exception as exc:  # noqa: BLE001 - one tenant must not stop the others' mail
            self._failed[instance] = target
            log.error("fleet outbox: %s skipped: %s", instance.name, exc)
            return None
        try:
            self._owners.claim(instance.name, app.config)
        except InstanceError as exc:
            _close(app)
            self._failed[instance] = target
            log.error("fleet outbox: %s skipped: %s", instance.name, exc)
            return None
        if held is not None:
            _close(held[1])
        with app.app_context():
            self._connections.watch(db.engine)
        self._failed.pop(instance, None)
        self._apps[instance] = (target, app)
        return app

    def deliver(self) -> dict:
        """One pass over every instance: {instance name: PassReport}."""
        from sqlalchemy.exc import SQLAlchemyError

        from .extensions import db
        from .mail import PassReport, deliver_pending

        reports = {}
        for instance in instances(self.folder):
            app = self.app_of(instance)
            if app is None:
                continue
            with app.app_context():
                try:
                    reports[instance.name] = deliver_pending()
                except SQLAlchemyError as exc:  # its database is away: the others go on
                    db.session.rollback()
                    log.warning("fleet outbox: %s: database unavailable: %s", instance.name, exc)
                    reports[instance.name] = PassReport(server_down=f"database: {exc}")
                finally:
                    db.session.remove()
        return reports

    def work(self, stop: threading.Event, interval: float, on_pass=None) -> None:
        """Deliver until `stop` is set, a pass every `interval` seconds."""
        while not stop.is_set():
            reports = self.deliver()
            if on_pass:
                on_pass(reports)
            stop.wait(interval)
