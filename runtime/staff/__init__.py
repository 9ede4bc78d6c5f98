"""The staff console (/staff): its own layout, staff and admin roles only."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort
from flask_login import current_user, login_required

bp = Blueprint("staff", __name__, url_prefix="/staff", template_folder="templates")


def staff_required(view):
    """Logged in with a staff or admin role; clients get 403."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_staff:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def admin_required(view):
    """Logged in as an administrator; other staff and clients get 403."""

    @wraps(view)
    @staff_required
    def wrapped(*args, **kwargs):
        if current_user.role != "admin":
            abort(403)
        return view(*args, **kwargs)

    return wrapped


from . import access, audit, banners, outbox, routes  # noqa: E402,F401
