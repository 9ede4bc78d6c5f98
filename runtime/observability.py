"""Request ids, structured logs and Prometheus metrics of a served instance.

Every request gets an id: the caller's `X-Request-ID` when it is sane (a proxy or load
balancer set it), else a new one; it is echoed in the response's `X-Request-ID` and put
on every log line the request writes. With `LOG_FORMAT = "json"` (PORTAL_LOG_FORMAT)
each log line is one JSON object (time, level, logger, message, request_id, tenant,
and for each request one `runtime.access` line with method, path, endpoint, status and
duration); the default, "text", leaves logging as Python and the server set it up.

`/metrics` answers in the Prometheus text format, only with
`Authorization: Bearer <METRICS_TOKEN>`: 404 while no token is set, 401 without the
header, 403 with a wrong token. It never opens a session, and CSRF does not apply.
Under gunicorn with several workers, set PROMETHEUS_MULTIPROC_DIR (read by
prometheus_client itself) to an empty folder before the server starts, so the counts
of every worker add up (see README, Operations).
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, Response, current_app, g, has_request_context, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from .extensions import csrf, db

HEADER = "X-Request-ID"
# letters, digits and a few separators: a UUID, a trace id, "req-42"; never a new line
SANE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/+=-]{0,127}")
ACCESS = logging.getLogger("runtime.access")
BACKLOG = ("pending", "sending", "failed", "unknown")  # outbox states not yet delivered

# one process-wide registry: a fleet serves several tenants from one process, so every
# series carries a tenant label and each tenant's /metrics shows its own series only
REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter("portal_http_requests", "HTTP requests answered, by endpoint and status.",
                   ["tenant", "method", "endpoint", "status"], registry=REGISTRY)
LATENCY = Histogram("portal_http_request_duration_seconds",
                    "Time to answer a request, by endpoint.", ["tenant", "endpoint"],
                    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
                    registry=REGISTRY)
FAILED_LOGINS = Counter("portal_failed_logins",
                        "Refused log-ins: reason credentials (wrong identifier or password), "
                        "locked (too many failures) or rate (too many attempts from the "
                        "address).", ["tenant", "reason"],
                        registry=REGISTRY)


def _tenant() -> str:
    return current_app.extensions["portal"]["tenant"]["id"]


# -- request id and logs -------------------------------------------------------------------

def request_id() -> str | None:
    """The current request's id (None outside a request)."""
    return g.get("request_id") if has_request_context() else None


def _start() -> None:
    incoming = request.headers.get(HEADER, "")
    g.request_id = incoming if SANE_ID.fullmatch(incoming) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _finish(response: Response) -> Response:
    rid = g.get("request_id")
    if rid:
        response.headers[HEADER] = rid
    started = g.get("request_started")
    if started is None:
        return response
    endpoint = request.endpoint or "unmatched"  # a 404 must not add one series per URL
    count(request.method, request.path, endpoint, response.status_code,
          time.perf_counter() - started, rid)
    if endpoint == "auth.login" and request.method == "POST" and response.status_code in (401,
                                                                                         429):
        reason = "credentials" if response.status_code == 401 else (
            "rate" if g.get("rate_limited") else "locked")  # runtime/ratelimit.py sets it
        FAILED_LOGINS.labels(_tenant(), reason).inc()
    return response


def count(method: str, path: str, endpoint: str, status: int, elapsed: float,
          rid: str | None) -> None:
    """One answer in the metrics and the access log (also the page cache's fast path, which
    answers before Flask: runtime/pagecache.py). In an app context."""
    tenant = _tenant()
    REQUESTS.labels(tenant, method, endpoint, str(status)).inc()
    LATENCY.labels(tenant, endpoint).observe(elapsed)
    if current_app.config.get("PORTAL_LOG_FORMAT") == "json" and endpoint != "static":
        ACCESS.info("%s %s %s", method, path, status, extra={
            "method": method, "path": path, "endpoint": endpoint, "status": status,
            "duration_ms": round(elapsed * 1000, 1), "tenant": tenant, "request_id": rid})


class RequestContextFilter(logging.Filter):
    """Puts the request id and the tenant on every record written during a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.request_id = g.get("request_id")
            try:
                record.tenant = _tenant()
            except (KeyError, RuntimeError):
                record.tenant = None
        return True


_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: what log collectors (Loki, CloudWatch, Elastic) index."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _json_logging() -> None:
    """Send every log record of the process to stderr as JSON, once per process."""
    root = logging.getLogger()
    if any(getattr(h, "portal_json", False) for h in root.handlers):
        return
    handler = logging.StreamHandler()
    handler.portal_json = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    for old in list(root.handlers):  # one format on the stream, not two
        if type(old) is logging.StreamHandler:  # a plain one (basicConfig's), not a test's
            root.removeHandler(old)
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    # Flask's own handler would write the app's records a second time, as text
    from flask.logging import default_handler

    current_app.logger.removeHandler(default_handler)


# -- metrics -------------------------------------------------------------------------------

class _OneTenant:
    """The process's series of one tenant (and every series that has no tenant label)."""

    def __init__(self, source: CollectorRegistry, tenant: str) -> None:
        self.source = source
        self.tenant = tenant

    def collect(self):
        for family in self.source.collect():
            family.samples = [s for s in family.samples
                              if s.labels.get("tenant", self.tenant) == self.tenant]
            yield family


class _Outbox:
    """The e-mail backlog, counted at scrape time (one statement)."""

    def __init__(self, tenant: str) -> None:
        self.tenant = tenant

    def collect(self):
        from .models import OutboxMessage

        family = GaugeMetricFamily("portal_outbox_messages",
                                   "E-mails in the outbox not delivered, by status (pending: "
                                   "due or waiting to retry; failed and unknown: need a "
                                   "person).", labels=["tenant", "status"])
        counts = dict.fromkeys(BACKLOG, 0)
        try:
            counts.update(db.session.execute(
                select(OutboxMessage.status, func.count()).where(
                    OutboxMessage.status.in_(BACKLOG)).group_by(OutboxMessage.status)).all())
        except SQLAlchemyError:
            db.session.rollback()
            current_app.logger.exception("metrics: the outbox could not be counted")
            return
        for status in BACKLOG:
            family.add_metric([self.tenant, status], counts[status])
        yield family


def _multiprocess() -> bool:
    """Whether prometheus_client started in multiprocess mode (PROMETHEUS_MULTIPROC_DIR set)."""
    from prometheus_client import values

    return values.ValueClass is not values.MutexValue


def _source() -> CollectorRegistry:
    if _multiprocess():  # gunicorn workers: add up every worker's files
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def metrics():
    token = current_app.config.get("PORTAL_METRICS_TOKEN")
    if not token:
        return Response("Not Found\n", 404, mimetype="text/plain")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return Response("A bearer token is required.\n", 401, mimetype="text/plain",
                        headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        return Response("This token is not valid for /metrics.\n", 403, mimetype="text/plain")
    tenant = _tenant()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_OneTenant(_source(), tenant))
    registry.register(_Outbox(tenant))
    return Response(generate_latest(registry), 200, content_type=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_finish)
    app.add_url_rule("/metrics", "metrics", csrf.exempt(metrics))
    app.jinja_env.globals["request_id"] = request_id  # the 5xx page shows it, for support
    if app.config.get("PORTAL_LOG_FORMAT") == "json":
        with app.app_context():
            _json_logging()
