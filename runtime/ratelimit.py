"""Request rate limits (Flask-Limiter): how often anyone may ask for the costly things.

The lockout (runtime/throttle.py) counts failed logins per account and per address and
stays exactly as it is. These limits come on top and bound the raw rate of the requests
that cost the server or other people something, whatever their outcome: a password check
(login), a reset e-mail (forgot), a new request or message (write) and a file (upload).
Only POSTs count; over the limit the answer is 429, the themed error page saying when to
try again, with a Retry-After header.

A view takes part with `@limited("login")`; `init_app` (after every blueprint is
registered) gives each app its own Limiter and applies the app's rate to the views so
marked, so several instances in one process never share counters. Rates are the
defaults below, changed per instance with RATE_LIMITS (runtime/settings.py).

Where the counters live: Redis when PORTAL_REDIS_URL is set, under the instance's prefix,
so every worker of every node counts together; otherwise in the memory of each process,
so with W workers on N nodes a client gets up to W×N times the rate (the embedded default
is one node; the lockout in the database stays exact either way).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TypeVar

from flask import Flask, current_app, g, render_template, request
from flask_babel import ngettext
from flask_limiter import Limiter, RateLimitExceeded
from flask_login import current_user

F = TypeVar("F", bound=Callable)
MARK = "portal_rate_limit"
# per client address (login, forgot) or per logged-in user (write, upload); limits syntax
DEFAULTS = {
    "login": "60 per minute",  # each one is a password hash check (tens of ms of CPU)
    "forgot": "5 per minute;30 per hour",  # each one may send an e-mail
    "write": "30 per minute",  # a new request, a message on one, a form sent to the desk
    "upload": "60 per minute",  # staff sending photos and documents, one form at a time
}
BY_USER = ("write", "upload")


def limited(name: str) -> Callable[[F], F]:
    """Mark a view for the rate `name` (a key of DEFAULTS); applied by init_app."""
    if name not in DEFAULTS:
        raise ValueError(f"unknown rate limit {name!r}: one of {', '.join(DEFAULTS)}")

    def mark(view: F) -> F:
        setattr(view, MARK, name)
        return view

    return mark


def _address() -> str:
    # behind PROXY_COUNT proxies, ProxyFix has already put the client's address here
    return "ip:" + (request.remote_addr or "unknown")


def _user_or_address() -> str:
    if current_user.is_authenticated:
        return f"user:{current_user.get_id()}"
    return _address()


def storage_uri(redis_url: str | None) -> str:
    """The `limits` storage of a PORTAL_REDIS_URL (redis://, rediss://, unix://), or memory."""
    if not redis_url:
        return "memory://"
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://"):]
    return redis_url


def _too_many(exc: RateLimitExceeded):
    g.rate_limited = True  # the metrics tell it from the lockout's 429
    limit = current_app.extensions["portal"].limiter.current_limit
    seconds = 60
    if limit:  # when the oldest counted request leaves the window (never past the window)
        seconds = min(max(1, math.ceil(limit.reset_at - time.time())), limit.limit.get_expiry())
    message = ngettext("Too many attempts in a short time. Try again in %(num)d second.",
                       "Too many attempts in a short time. Try again in %(num)d seconds.",
                       seconds)
    headers = {"Retry-After": str(seconds)}
    if request.accept_mimetypes.best == "application/json":
        return {"error": message}, 429, headers
    return render_template("errors/error.html", code=429, message=message), 429, headers


def init_app(app: Flask) -> None:
    """Give the app its Limiter and rate-limit the marked views (call after the blueprints)."""
    rates = {**DEFAULTS, **app.config.get("PORTAL_RATE_LIMITS", {})}
    limiter = Limiter(_address, storage_uri=storage_uri(app.config.get("PORTAL_REDIS_URL")),
                      key_prefix=app.config["PORTAL_REDIS_PREFIX"] + "limits",
                      # Retry-After on our own 429 only: the lockout's 429 has its own wait
                      strategy="moving-window", headers_enabled=False,
                      # Redis away: the request goes through (logged); sessions report it
                      swallow_errors=True)
    limiter.init_app(app)
    app.extensions["portal"].limiter = limiter
    for endpoint, view in list(app.view_functions.items()):
        name = getattr(view, MARK, None)
        if name is None:
            continue
        key = _user_or_address if name in BY_USER else _address
        # one counter per name: a client's new requests and messages add up together
        app.view_functions[endpoint] = limiter.shared_limit(
            rates[name], scope=name, key_func=key, methods=["POST"])(view)
    app.register_error_handler(RateLimitExceeded, _too_many)
