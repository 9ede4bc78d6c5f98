"""The portal runtime: create_app(instance_path) serves one built instance.

It reads the instance's resolved config (release/config.json) only: never the
tenant YAML, never the generator.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from pathlib import Path

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from .extensions import csrf, db, login_manager, migrate
from .releases import ReleaseLease

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class InstanceError(RuntimeError):
    """The folder is not a built portal instance."""


def load_config(instance: Path, release: Path | None = None) -> dict:
    path = (release or instance / "release") / "config.json"
    if not path.is_file():
        raise InstanceError(f"{instance} is not a built portal instance (no release/config.json); "
                            "run: portal build <tenant.yaml>")
    return json.loads(path.read_text(encoding="utf-8"))


def _secret_key(data_dir: Path) -> str:
    """PORTAL_SECRET_KEY, or one generated once and kept in the data folder."""
    if os.environ.get("PORTAL_SECRET_KEY"):
        return os.environ["PORTAL_SECRET_KEY"]
    path = data_dir / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()


def database_url(data_dir: Path) -> str:
    url = os.environ.get("PORTAL_DATABASE_URL")
    if not url:
        # store the database in the instance's data folder, which builds never touch
        return f"sqlite:///{data_dir / 'portal.db'}"
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def create_app(instance_path: str | os.PathLike, test_config: dict | None = None) -> Flask:
    """Create the Flask app of one built portal instance."""
    instance = Path(instance_path).resolve()
    load_config(instance)  # a clear error for a folder that was never built
    # this process keeps its release on disk while it runs, whatever builds happen meanwhile
    lease = ReleaseLease.take(instance)
    release = lease.folder
    portal = load_config(instance, release)
    data_dir = instance / "data"
    data_dir.mkdir(exist_ok=True)
    app = Flask(__name__, instance_path=str(instance), instance_relative_config=True,
                static_folder=str(release / "static"), static_url_path="/static")
    app.config.from_mapping(
        SECRET_KEY=_secret_key(data_dir),
        SQLALCHEMY_DATABASE_URI=database_url(data_dir),
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
        PORTAL_UPLOAD_MAX_BYTES=int(os.environ.get("PORTAL_UPLOAD_MAX_MB", "10")) * 2**20,
        PORTAL_TICKET_MAX_BYTES=int(os.environ.get("PORTAL_TICKET_MAX_MB", "10")) * 2**20,
        PORTAL_IMAGE_MAX_PIXELS=int(os.environ.get("PORTAL_IMAGE_MAX_MPX", "40")) * 10**6,
        PORTAL_LOGIN_MAX_FAILURES=5,
        PORTAL_LOGIN_LOCK_MINUTES=15,
        PORTAL_PROXY_COUNT=int(os.environ.get("PORTAL_PROXY_COUNT", "0")),
        # sessions and login counters live in Redis when it is set, else in the database
        PORTAL_REDIS_URL=os.environ.get("PORTAL_REDIS_URL") or None,
        PORTAL_REDIS_PREFIX=f"portal:{portal['tenant']['id']}:",
    )
    if test_config:
        app.config.update(test_config)
    proxies = app.config["PORTAL_PROXY_COUNT"]
    if proxies:  # behind a TLS-terminating proxy: trust its X-Forwarded-* headers
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    app.extensions["portal"] = portal
    app.extensions["portal_release"] = lease
    _wire(app, release)
    return app


def _wire(app: Flask, release: Path) -> None:
    from . import i18n, inputs, releases, security, sessions, templating, throttle, views
    from .auth import bp as auth_bp
    from .erp import models as _erp_models  # noqa: F401  (tables every module may join)
    from .modules import register_modules
    from .modules.construction import models as _construction  # noqa: F401
    from .modules.documents import models as _documents  # noqa: F401
    from .staff import bp as staff_bp

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
    register_modules(app)
    views.init_app(app)
