"""The settings of one instance: its settings file, then PORTAL_* variables, read once.

`create_app` calls `load` once; afterwards nothing reads the process environment, so
two instances served by one process keep their own database, secret and mail mode.
Each setting has one name: `DATABASE_URL` in the instance's `settings.py` (a Flask
config file, Python syntax) is `PORTAL_DATABASE_URL` in the environment, which wins.
The resolved values land in the app's config under the keys Flask and the portal read
(`SQLALCHEMY_DATABASE_URI`, `SECRET_KEY`, `PORTAL_UPLOAD_MAX_BYTES`, ...).
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path

from flask import Config

from .portal import InstanceError

SETTINGS_FILE = "settings.py"
PREFIX = "PORTAL"
MB = 2**20
MPX = 10**6

# the key a resolved setting lands in -> the name a user sets it by
RESOLVED = {
    "SQLALCHEMY_DATABASE_URI": "DATABASE_URL",
    "PORTAL_MAIL": "MAIL",
    "PORTAL_SMTP_PASSWORD": "SMTP_PASSWORD",
    "PORTAL_UPLOAD_MAX_BYTES": "UPLOAD_MAX_MB",
    "PORTAL_TICKET_MAX_BYTES": "TICKET_MAX_MB",
    "PORTAL_IMAGE_MAX_PIXELS": "IMAGE_MAX_MPX",
    "PORTAL_PROXY_COUNT": "PROXY_COUNT",
    "PORTAL_REDIS_URL": "REDIS_URL",
    "PORTAL_LOG_FORMAT": "LOG_FORMAT",
    "PORTAL_METRICS_TOKEN": "METRICS_TOKEN",
    "PORTAL_DATABASE_SCHEMA": "DATABASE_SCHEMA",
    "PORTAL_RATE_LIMITS": "RATE_LIMITS",
    "PORTAL_PAGE_CACHE_BYTES": "PAGE_CACHE_MB",
    "PORTAL_S3_BUCKET": "S3_BUCKET",
    "PORTAL_S3_ENDPOINT_URL": "S3_ENDPOINT_URL",
    "PORTAL_S3_REGION": "S3_REGION",
    "PORTAL_S3_PREFIX": "S3_PREFIX",
}
MAIL_MODES = ("smtp", "outbox")
LOG_FORMATS = ("text", "json")
TENANT = "{tenant}"  # in DATABASE_SCHEMA: the tenant id, so one setting serves a whole fleet
SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")  # S3's rule for new buckets
S3_PREFIX = re.compile(r"[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*")  # S3's safe characters


def env_value(text: str) -> object:
    """A variable's JSON value, as Flask reads it, when the JSON spells exactly that value.

    `from_prefixed_env` keeps the text when this raises: `1e3` or `[1,2]` stay text, so
    a text setting read as a number (a secret key of digits) turns back into the same letters.
    """
    value = json.loads(text)
    if json.dumps(value, ensure_ascii=False) != text:
        raise ValueError("not written as JSON writes it")
    return value


class _Layers:
    """The settings file and the environment, merged, remembering where each value came from."""

    def __init__(self, instance: Path) -> None:
        self.values: dict[str, object] = {}
        self.origin: dict[str, str] = {}
        path = instance / SETTINGS_FILE
        from_file = Config(str(instance))
        try:
            from_file.from_pyfile(SETTINGS_FILE, silent=True)
        except SyntaxError as exc:
            raise InstanceError(f"{path}:{exc.lineno}: {exc.msg}") from None
        except Exception as exc:  # noqa: BLE001 - the file is code: any error is the user's
            raise InstanceError(f"{path}: {type(exc).__name__}: {exc}") from None
        from_env = Config(str(instance))
        from_env.from_prefixed_env(PREFIX, loads=env_value)
        for layer, where in ((from_file, f"{path}: {{}}"), (from_env, f"{PREFIX}_{{}}")):
            for key, value in layer.items():
                self.values[key] = value
                self.origin[key] = where.format(key)

    def where(self, name: str) -> str:
        return self.origin.get(name, name)

    def fail(self, name: str, expected: str) -> InstanceError:
        return InstanceError(f"{self.where(name)}: expected {expected}, "
                             f"got {_shown(self.values[name])}")

    def text(self, name: str) -> str:
        """A text setting ("" when unset); a number or true/false reads as it was written."""
        value = self.values.get(name)
        if value is None:
            return ""
        if isinstance(value, bool | int | float):
            return json.dumps(value)
        if not isinstance(value, str):
            raise self.fail(name, "text")
        return value.strip()

    def whole(self, name: str, default: int, least: int, unit: str) -> int:
        """A whole number of `unit`, at least `least`."""
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, str) and re.fullmatch(r"\s*\d+\s*", value):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise self.fail(name, f"a whole number of {unit} of at least {least}")
        return value


def _shown(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=lambda v: type(v).__name__)


def load(config: Config, instance: Path, password_env: str | None,
         environ: Mapping[str, str], tenant_id: str = "") -> None:
    """Resolve the settings file and the PORTAL_* variables into `config`, or raise InstanceError.

    `environ` is the process environment, passed by create_app: it holds the SMTP password
    under the name the tenant chose (`password_env`), which carries no PORTAL_ prefix.
    """
    layers = _Layers(instance)
    for key, name in RESOLVED.items():
        if key in layers.values:
            raise InstanceError(f"{layers.where(key)}: set {name} instead")
    config.update({k: v for k, v in layers.values.items() if k not in RESOLVED.values()})
    data_dir = Path(config["PORTAL_DATA_DIR"])
    mail = layers.text("MAIL") or "smtp"
    url = database_url(layers.text("DATABASE_URL"), data_dir)
    schema = _schema(layers, url, tenant_id)
    if mail not in MAIL_MODES:
        raise layers.fail("MAIL", '"outbox" (write e-mail to data/outbox/) or "smtp"')
    config.update(
        SECRET_KEY=_secret_key(layers, data_dir),
        SQLALCHEMY_DATABASE_URI=url,
        PORTAL_DATABASE_SCHEMA=schema,
        PORTAL_MAIL=mail,
        PORTAL_SMTP_PASSWORD=(environ.get(password_env or "") or layers.text("SMTP_PASSWORD")),
        PORTAL_UPLOAD_MAX_BYTES=layers.whole("UPLOAD_MAX_MB", 10, 1, "megabytes") * MB,
        PORTAL_TICKET_MAX_BYTES=layers.whole("TICKET_MAX_MB", 10, 1, "megabytes") * MB,
        PORTAL_IMAGE_MAX_PIXELS=layers.whole("IMAGE_MAX_MPX", 40, 1, "megapixels") * MPX,
        PORTAL_PROXY_COUNT=layers.whole("PROXY_COUNT", 0, 0, "proxies"),
        # sessions and login counters live in Redis when it is set, else in the database
        PORTAL_REDIS_URL=layers.text("REDIS_URL") or None,
        PORTAL_LOG_FORMAT=_log_format(layers),
        # /metrics answers 404 until a token is set (runtime/observability.py)
        PORTAL_METRICS_TOKEN=layers.text("METRICS_TOKEN") or None,
        PORTAL_RATE_LIMITS=_rate_limits(layers),
        # rendered client pages kept per process (runtime/pagecache.py); 0 switches it off
        PORTAL_PAGE_CACHE_BYTES=layers.whole("PAGE_CACHE_MB", 64, 0, "megabytes") * MB,
        **_s3(layers, tenant_id),
    )
    if schema:  # the instance sees its own schema only: its tables, its Alembic version
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            **config.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
            "connect_args": {"options": f"-c search_path={schema}"}}
    # the whole request may carry a ticket's files plus its form: the per-file and per-ticket
    # limits must answer first (with the form kept), not a bare 413 from Werkzeug
    config["MAX_CONTENT_LENGTH"] = max(64 * MB, config["PORTAL_TICKET_MAX_BYTES"] + 16 * MB,
                                       config["PORTAL_UPLOAD_MAX_BYTES"] + 16 * MB)


def _schema(layers: _Layers, url: str, tenant_id: str) -> str | None:
    """DATABASE_SCHEMA: the PostgreSQL schema holding the instance's tables (None: the server's
    default, `public`). `{tenant}` stands for the tenant id, hyphens as underscores, so
    `PORTAL_DATABASE_SCHEMA=t_{tenant}` gives every tenant of a fleet a schema of its own."""
    template = layers.text("DATABASE_SCHEMA")
    if not template:
        return None
    if not url.startswith("postgresql"):
        raise InstanceError(f"{layers.where('DATABASE_SCHEMA')}: a schema needs a PostgreSQL "
                            "DATABASE_URL (SQLite keeps each instance in its own file already)")
    schema = template.replace(TENANT, tenant_id.replace("-", "_"))
    if not SCHEMA_NAME.fullmatch(schema):
        raise layers.fail("DATABASE_SCHEMA", "a schema name of lower-case letters, digits and _ "
                          '(at most 63), where "{tenant}" stands for the tenant id, like '
                          '"t_{tenant}"')
    return schema


def _s3(layers: _Layers, tenant_id: str) -> dict[str, str | None]:
    """Stored files in an S3-compatible bucket (runtime/storage.py) when S3_BUCKET is set;
    each tenant under its own prefix (its id unless S3_PREFIX says otherwise). Credentials
    come from the AWS variables or boto3's chain, never from here."""
    bucket, endpoint = layers.text("S3_BUCKET"), layers.text("S3_ENDPOINT_URL")
    region, prefix = layers.text("S3_REGION"), layers.text("S3_PREFIX").strip("/")
    if not bucket:
        for name in ("S3_ENDPOINT_URL", "S3_REGION", "S3_PREFIX"):
            if layers.text(name):
                raise InstanceError(f"{layers.where(name)}: set S3_BUCKET too, or remove it")
        return {"PORTAL_S3_BUCKET": None}
    if not BUCKET_NAME.fullmatch(bucket) or ".." in bucket:
        raise layers.fail("S3_BUCKET", "a bucket name (3-63 lowercase letters, digits, . or -)")
    if endpoint and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", endpoint):
        raise layers.fail("S3_ENDPOINT_URL", "an http:// or https:// address")
    if region and not re.fullmatch(r"[a-z0-9-]{2,40}", region):
        raise layers.fail("S3_REGION", "a region name such as eu-west-1")
    if prefix and not S3_PREFIX.fullmatch(prefix):
        raise layers.fail("S3_PREFIX", "a key prefix of letters, digits and / ! _ . * ' ( ) -")
    return {"PORTAL_S3_BUCKET": bucket, "PORTAL_S3_ENDPOINT_URL": endpoint or None,
            "PORTAL_S3_REGION": region or None, "PORTAL_S3_PREFIX": prefix or tenant_id}


def _log_format(layers: _Layers) -> str:
    """text (readable lines, the default) or json (one object a line, for log collectors)."""
    value = layers.text("LOG_FORMAT").lower() or "text"
    if value not in LOG_FORMATS:
        raise layers.fail("LOG_FORMAT", '"text" or "json"')
    return value


def _rate_limits(layers: _Layers) -> dict[str, str]:
    """RATE_LIMITS: {"login": "10 per minute", ...}, the rates that differ from the defaults
    (runtime/ratelimit.py DEFAULTS); each checked here, so a typo stops the start, not a login."""
    from limits import parse_many

    from .ratelimit import DEFAULTS

    value = layers.values.get("RATE_LIMITS")
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise layers.fail("RATE_LIMITS", 'a mapping such as {"login": "10 per minute"}')
    for name, rate in value.items():
        if name not in DEFAULTS:
            raise InstanceError(f"{layers.where('RATE_LIMITS')}: unknown limit {name!r}; "
                                f"the limits are {', '.join(DEFAULTS)}")
        try:
            parse_many(rate)  # a number or a list raises too
        except (TypeError, ValueError):
            raise InstanceError(f"{layers.where('RATE_LIMITS')}: {name}: expected a rate such as "
                                f'"10 per minute" or "5 per minute;30 per hour", got '
                                f"{_shown(rate)}") from None
    return dict(value)


def _secret_key(layers: _Layers, data_dir: Path) -> str | bytes:
    """SECRET_KEY, or one generated once and kept in the data folder."""
    value = layers.values.get("SECRET_KEY")
    if isinstance(value, bytes) and value:  # a settings file may hold bytes, as Flask allows
        return value
    key = layers.text("SECRET_KEY")
    if key:
        return key
    path = data_dir / "secret_key"
    if not path.exists():
        # written whole under a name of its own, then linked into place: a worker starting
        # at the same moment never reads a half-written (empty) key, nor fails on ours
        part = data_dir / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        try:
            os.link(part, path)
        except FileExistsError:
            pass  # another process was first: its key is the instance's
        finally:
            part.unlink()
    return path.read_text().strip()


def database_url(url: str, data_dir: Path) -> str:
    """The SQLAlchemy URL of DATABASE_URL (psycopg 3 for PostgreSQL), SQLite by default."""
    if not url:
        # store the database in the instance's data folder, which builds never touch
        return f"sqlite:///{data_dir / 'portal.db'}"
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
