"""Interface language and time zone come from the tenant; times are stored in UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app

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


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=portal_locale, timezone_selector=portal_timezone)
