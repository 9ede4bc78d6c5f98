"""The portal runtime: create_app(instance_path) serves one built instance.

It reads the instance's resolved config (release/config.json) only: never the
tenant YAML, never the generator.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from . import settings, storage
from .extensions import csrf, db, login_manager, migrate
from .portal import InstanceError, Portal, Settings, check_release
from .releases import ReleaseLease

__all__ = ["InstanceError", "create_app", "load_config"]
log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
FLEET_OVERFLOW = 7  # connections a tenant of a fleet opens beyond its one under a burst


def load_config(instance: Path, release: Path | None = None) -> dict:
    """The resolved tenant config of the instance's release, or InstanceError."""
    path = (release or instance / "release") / "config.json"
    if not path.is_file():
        raise InstanceError(f"{instance} is not a built portal instance (no release/config.json); "
                            "run: portal build <tenant.yaml>")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InstanceError(f"{path}: unreadable ({exc}); rebuild it: portal build "
                            f"<tenant.yaml> --out {instance.parent}") from None


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def create_app(instance_path: str | os.PathLike, test_config: dict | None = None, *,
               fleet: bool = False) -> Flask:
    """Create the Flask app of one built portal instance.

    Settings come from the instance's settings.py, then the PORTAL_* variables, then
    `test_config`; this is the one place that reads the process environment. `fleet`: one
    of many instances in this process (runtime/fleet.py), so it keeps one idle database
    connection at most (and the fleet lets only its busiest tenants keep theirs).
    """
    instance = Path(instance_path).resolve()
    check_release(load_config(instance), instance)  # a clear error before anything is held
    # this process keeps its release on disk while it runs, whatever builds happen meanwhile
    lease = ReleaseLease.take(instance)
    release = lease.folder
    portal = load_config(instance, release)
    check_release(portal, instance)  # a build may have swapped the release meanwhile
    data_dir = instance / "data"
    data_dir.mkdir(exist_ok=True)
    app = Flask(__name__, instance_path=str(instance), instance_relative_config=True,
                static_folder=str(release / "static"), static_url_path="/static")
    app.config.from_mapping(
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        MAX_CONTENT_LENGTH=64 * 1024 * 1024,  # per-file limits answer first, with the form kept
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME=f"portal_{portal['tenant']['id']}",
        PERMANENT_SESSION_LIFETIME=12 * 3600,
        WTF_CSRF_TIME_LIMIT=8 * 3600,
        BABEL_TRANSLATION_DIRECTORIES=str(release / "translations"),
        BABEL_DEFAULT_LOCALE=portal["tenant"]["locale"].replace("-", "_"),
        BABEL_DEFAULT_TIMEZONE=portal["tenant"]["timezone"],
        PORTAL_DATA_DIR=str(data_dir),
        PORTAL_UPLOAD_DIR=str(data_dir / "uploads"),
        PORTAL_OUTBOX_DIR=str(data_dir / "outbox"),
        PORTAL_LOGIN_MAX_FAILURES=5,
        PORTAL_LOGIN_LOCK_MINUTES=15,
        PORTAL_REDIS_PREFIX=f"portal:{portal['tenant']['id']}:",
    )
    email = portal["integrations"].get("email") or {}
    settings.load(app.config, instance, email.get("password_env"), os.environ,
                  portal["tenant"]["id"])
    if test_config:
        app.config.update(test_config)
    if fleet and ":memory:" not in app.config["SQLALCHEMY_DATABASE_URI"]:
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = dict(
            app.config["SQLALCHEMY_ENGINE_OPTIONS"], pool_size=1, max_overflow=FLEET_OVERFLOW)
    app.extensions["portal"] = Portal(portal, Settings(app.config), lease)
    storage.init_app(app)  # the upload folder, or the S3 bucket (a bad setting stops here)
    _wire(app, release)
    proxies = app.config["PORTAL_PROXY_COUNT"]
    if proxies:  # behind a TLS-terminating proxy: trust its X-Forwarded-* headers (in front
        # of the page cache's fast path too: it sees the client's host and scheme)
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    return app


def _wire(app: Flask, release: Path) -> None:
    from . import (
        banners,
        delivery,
        i18n,
        inputs,
        observability,
        pending,
        ratelimit,
        releases,
        security,
        sessions,
        syndic,
        templating,
        throttle,
        views,
    )
    from .auth import bp as auth_bp
    from .erp import models as _erp_models  # noqa: F401  (tables every module may join)
    from .modules import register_modules  # every registered module's tables, too
    from .staff import bp as staff_bp

    delivery.init_app(app)  # first: Flask runs after_request hooks last-registered first
    observability.init_app(app)  # request id before any other hook; counts the final status
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=True)
    inputs.init_app(app)  # before csrf and the blueprints: clean values, bounded ids
    csrf.init_app(app)
    login_manager.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    sessions.init_app(app)
    throttle.init_app(app)
    releases.init_app(app)
    app.jinja_env.loader = templating.template_loader(release, app.jinja_env.loader)
    app.register_blueprint(auth_bp)
    app.register_blueprint(staff_bp)
    banners.init_app(app)  # the images uploaded for the home page's banners
    register_modules(app)
    views.init_app(app)
    syndic.init_app(app)  # after the modules: viewing as a client swaps the user first
    pending.init_app(app)  # after-login gates and the pending-actions pop-up
    ratelimit.init_app(app)  # last: it wraps the views of every blueprint marked @limited
