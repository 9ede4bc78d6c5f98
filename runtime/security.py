"""Secure defaults: headers on every response, Secure cookies under HTTPS."""

from __future__ import annotations

from flask import Flask, Response, request
from flask.sessions import SecureCookieSessionInterface

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


class SessionInterface(SecureCookieSessionInterface):
    """Mark the session cookie Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure


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
    return response


def init_app(app: Flask) -> None:
    app.session_interface = SessionInterface()
    app.after_request(_headers)
    # content-hashed files never change: cache them for a year
    default_max_age = app.get_send_file_max_age

    def max_age(name: str | None) -> int | None:
        if name and _is_hashed(name):
            return 31536000
        return default_max_age(name) if default_max_age(name) is not None else 3600

    app.get_send_file_max_age = max_age  # type: ignore[method-assign]


def _is_hashed(name: str) -> bool:
    parts = name.rsplit("/", 1)[-1].split(".")
    return len(parts) >= 3 and len(parts[-2]) == 10 and all(c in "0123456789abcdef"
                                                            for c in parts[-2])
