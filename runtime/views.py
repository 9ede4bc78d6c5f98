"""Home page, health check, template context and error pages."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFError
from markupsafe import Markup
from sqlalchemy import text
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from . import banners
from .brdocs import format_document
from .extensions import db
from .menu import build_menu, menu_html
from .modules import SYNDIC, parts
from .pagecache import cached_page
from .pagecache import init_app as init_page_cache
from .syndic import current_view

SOCIAL_ICONS = {"facebook": "facebook", "instagram": "instagram", "linkedin": "linkedin",
                "youtube": "youtube", "x": "twitter-x", "tiktok": "tiktok",
                "whatsapp": "whatsapp", "telegram": "telegram", "website": "globe"}
SOCIAL_NAMES = {"facebook": "Facebook", "instagram": "Instagram", "linkedin": "LinkedIn",
                "youtube": "YouTube", "x": "X", "tiktok": "TikTok", "whatsapp": "WhatsApp",
                "telegram": "Telegram", "website": "Site"}


def social_links(social: dict) -> list[dict]:
    links = []
    for network, value in social.items():
        href = value
        if network == "whatsapp":
            href = "https://wa.me/" + "".join(c for c in value if c.isdigit())
        links.append({"network": network, "href": href, "icon": SOCIAL_ICONS[network],
                      "name": SOCIAL_NAMES[network]})
    return links


def _context() -> dict:
    # the same for every request of this app: computed once
    portal = current_app.extensions["portal"]
    context = portal.context
    if context is None:
        context = portal.context = {
            "tenant": portal["tenant"],
            "branding": portal["branding"],
            "features": portal["features"],
            "portal_static": portal["static"],
            "html_lang": portal["tenant"]["locale"],
            "social_links": social_links(portal["social"]),
            "portal_menu": build_menu,
            "portal_menu_html": menu_html,
            "portal_footer": _footer,
            "portal_views": current_app.view_functions,
            "staff_links": [link for m in portal.modules.values()
                            for link in m.staff_links],
            "portal_parts": parts,
        }
    return context


def _isodate(value: str) -> str:
    """A stored ISO date ("2026-10-01") in the tenant's language."""
    from datetime import date

    from flask_babel import format_date

    try:
        return format_date(date.fromisoformat(value), "medium")
    except (TypeError, ValueError):
        return value


def machine_time(value: datetime) -> str:
    """A stored UTC time for `<time datetime>`: whole seconds, as HTML's valid global date
    and time string wants it (microseconds make validators reject the attribute)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def party_role(role: str) -> str:
    """A contract party's role ("holder") in the tenant's language ("Titular")."""
    from .erp.models import PARTY_ROLE_LABELS

    return str(PARTY_ROLE_LABELS.get(role, role))


def _footer():
    """The footer is the same on every page of a tenant: rendered once."""
    portal = current_app.extensions["portal"]
    cached = portal.footer_html
    if cached is None:
        template = current_app.jinja_env.get_template("footer.html")
        cached = portal.footer_html = Markup(template.render(**_context()))
    return cached


def home():
    if current_user.is_staff:
        return redirect(url_for("staff.dashboard"))
    # the core names no module: each enabled one adds its own cards and sections, to the
    # buyer's home ("home.*") or the building manager's ("syndic.home.*")
    syndic = current_view() == SYNDIC
    prefix = "syndic." if syndic else ""
    # the banners advertise to buyers; a building manager's home starts with their buildings
    return render_template("home.html", banners=[] if syndic else banners.shown(),
                           cards=parts(prefix + "home.cards"),
                           sections=parts(prefix + "home.sections"))


def healthz():
    """Liveness: the process answers. Touches nothing else, so an outage of the database
    does not get every web process restarted (that is what readiness is for)."""
    return {"status": "ok", "tenant": current_app.extensions["portal"]["tenant"]["id"]}


def _database_ready() -> None:
    try:
        db.session.execute(text("SELECT 1"))
    finally:
        db.session.rollback()


def _redis_ready() -> None:
    health = current_app.extensions.setdefault("portal_health", {})
    client = health.get("redis")
    if client is None:
        import redis

        client = health["redis"] = redis.Redis.from_url(
            current_app.config["PORTAL_REDIS_URL"], socket_connect_timeout=2, socket_timeout=2)
    client.ping()


def ready():
    """Readiness: the database answers, and Redis when the instance uses it; 503 naming
    what failed otherwise (the details go to the log, not to whoever asks)."""
    checks = {"database": _database_ready}
    if current_app.config.get("PORTAL_REDIS_URL"):
        checks["redis"] = _redis_ready
    failed = []
    for name, check in checks.items():
        try:
            check()
        except Exception as exc:  # any failure of a dependency means "not ready"
            current_app.logger.error("readiness: %s unavailable: %s", name, exc)
            failed.append(name)
    body = {"status": "unavailable" if failed else "ok",
            "tenant": current_app.extensions["portal"]["tenant"]["id"],
            "checks": {name: "failed" if name in failed else "ok" for name in checks}}
    if failed:
        body["failed"] = failed
    return body, 503 if failed else 200


def _error(exc: HTTPException):
    messages = {
        400: _("The request could not be understood."),
        403: _("You do not have access to this page."),
        404: _("This page does not exist, or is not available to you."),
        405: _("This action is not allowed here."),
        413: _("The file is too large. Send a smaller file."),
        429: _("Too many attempts. Wait a few minutes and try again."),
        500: _("Something went wrong on our side. Please try again in a moment."),
    }
    code = exc.code or 500
    if code < 400:  # routing redirects are HTTPExceptions too
        return exc
    if isinstance(exc, MethodNotAllowed) and not _served_by_another_method(exc):
        code = 404  # a path no rule serves, whatever the method (see below)
    if code >= 500:  # after a failed statement PostgreSQL refuses the queries this page makes
        db.session.rollback()
    message = messages.get(code, exc.description)
    if request.accept_mimetypes.best == "application/json":
        return {"error": message}, code
    return render_template("errors/error.html", code=code, message=message), code


def _served_by_another_method(exc: MethodNotAllowed) -> bool:
    """Whether a rule of another method really serves this path.

    Werkzeug answers 405 as soon as a rule of another method matches the path's pattern,
    before its converters check the values: `POST /x/0/edit` beside `GET /x/<int:id>/edit`
    would say "not allowed" for an id no row can have, where every other route says 404.
    """
    adapter = current_app.create_url_adapter(request)
    for method in exc.valid_methods or ():
        try:
            adapter.match(method=method)
        except NotFound:
            continue
        except HTTPException:  # a redirect or another answer: the path exists
            return True
        return True
    return False


def _csrf_error(exc: CSRFError):
    message = _("This form has expired or was not sent from the portal. Reload the page and "
                "try again; nothing was saved.")
    return render_template("errors/error.html", code=400, message=message), 400


def init_app(app: Flask) -> None:
    # after the modules: it serves their cached screens (Manifest.cached_pages), and home
    init_page_cache(app)
    app.add_url_rule("/", "home", login_required(cached_page(home)))
    app.add_url_rule("/healthz", "healthz", healthz)
    app.add_url_rule("/healthz/ready", "ready", ready)
    app.context_processor(_context)
    app.jinja_env.filters["format_document"] = format_document
    app.jinja_env.filters["isodate"] = _isodate
    app.jinja_env.filters["machine_time"] = machine_time
    app.jinja_env.filters["party_role"] = party_role
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _error)
