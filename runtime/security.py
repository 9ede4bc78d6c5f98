"""Secure defaults: headers on every response, Secure cookies under HTTPS."""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, request

CSP = "; ".join([
    "default-src 'self'",
    "img-src 'self' data: https:",
    "style-src 'self' 'unsafe-inline'",  # Bootstrap progress bars and carousels set style=""
    "script-src 'self'",
    "font-src 'self'",
    "frame-src 'self' https://www.youtube-nocookie.com https://www.youtube.com",  # 'self': PDFs
    "form-action 'self'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
    "object-src 'none'",
])


log = logging.getLogger(__name__)


def _warn_unconfigured_proxy() -> None:
    """Behind a proxy that is not declared, every client has the proxy's address."""
    if "X-Forwarded-For" in request.headers and not current_app.config["PORTAL_PROXY_COUNT"] \
            and not current_app.extensions["portal"].proxy_warned:
        current_app.extensions["portal"].proxy_warned = True
        log.warning("requests arrive with X-Forwarded-For but PORTAL_PROXY_COUNT is not set: "
                    "every client seems to come from %s, so the per-address login limit "
                    "counts them all together; set PORTAL_PROXY_COUNT to the number of "
                    "proxies in front of the portal", request.remote_addr)


def _headers(response: Response) -> Response:
    h = response.headers
    h.setdefault("Content-Security-Policy", CSP)
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.is_secure:
        h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if request.endpoint != "static" and "Cache-Control" not in h:
        h["Cache-Control"] = "no-store"  # pages hold personal data
    elif request.endpoint == "static" and is_hashed((request.view_args or {}).get("filename", "")):
        # a new content gets a new name: browsers need not even revalidate on reload
        response.cache_control.public = True
        response.cache_control.immutable = True
    return response


def init_app(app: Flask) -> None:
    app.after_request(_headers)
    app.before_request(_warn_unconfigured_proxy)
    # content-hashed files never change: cache them for a year
    default_max_age = app.get_send_file_max_age

    def max_age(name: str | None) -> int | None:
        if name and is_hashed(name):
            return 31536000
        return default_max_age(name) if default_max_age(name) is not None else 3600

    app.get_send_file_max_age = max_age  # type: ignore[method-assign]


def is_hashed(name: str) -> bool:
    parts = name.rsplit("/", 1)[-1].split(".")
    return len(parts) >= 3 and len(parts[-2]) == 10 and all(c in "0123456789abcdef"
                                                            for c in parts[-2])
