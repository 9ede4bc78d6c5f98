"""Interface language and time zone come from the tenant; times are stored in UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from flask_babel import get_translations

from .extensions import babel


def portal_locale() -> str:
    return current_app.extensions["portal"]["tenant"]["locale"].replace("-", "_")


def portal_timezone() -> str:
    return current_app.extensions["portal"]["tenant"]["timezone"]


def to_utc(local: datetime | None) -> datetime | None:
    """A naive time typed in the tenant's zone -> naive UTC, as stored."""
    if local is None:
        return None
    aware = local.replace(tzinfo=ZoneInfo(portal_timezone()))
    return aware.astimezone(UTC).replace(tzinfo=None)


def to_local(utc: datetime | None) -> datetime | None:
    """A stored naive UTC time -> naive time in the tenant's zone (for form fields)."""
    if utc is None:
        return None
    return utc.replace(tzinfo=UTC).astimezone(ZoneInfo(portal_timezone())).replace(tzinfo=None)


def bind_catalogue(app: Flask) -> None:
    """Templates translate with the tenant's catalogue itself, loaded once.

    Flask-Babel's template callables find the catalogue again on every call (context,
    domain, locale: some 13 us each, 20 and more a page), although a portal speaks one
    language, the tenant's: BABEL_DEFAULT_LOCALE is that locale, so the `force_locale`
    around e-mails to staff selects this same catalogue. A language changed in a running
    app's config (only tests do that) needs this called again.
    """
    with app.app_context():
        catalogue = get_translations()
    app.jinja_env.install_gettext_callables(
        gettext=catalogue.ugettext, ngettext=catalogue.ungettext, newstyle=True,
        pgettext=catalogue.upgettext, npgettext=catalogue.unpgettext)


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=portal_locale, timezone_selector=portal_timezone)
    bind_catalogue(app)
