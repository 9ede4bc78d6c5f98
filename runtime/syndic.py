"""The two client portals: a buyer's ("My units") and a building manager's (syndic).

A `syndic` account is always in the building manager's portal. A `client` account that
also manages developments (staff assign them in the console) has both, on one login:
the switch in the layout, or the login page's tab, chooses; the choice is kept in the
session (runtime/erp/scope.py reads it, so every property query follows it).

Each module says which portals its client screens serve (`Manifest.views`): in any other
one they answer 404, as any page outside one's scope does. Each portal has its own menu
(`menu` and `menu_syndic`, runtime/menu.py) and home (the places `home.*` and
`syndic.home.*`).
"""

from __future__ import annotations

from flask import Flask, abort, current_app, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms import HiddenField

from .erp.models import SyndicDevelopment
from .erp.scope import VIEW_KEY, scope_of
from .extensions import db
from .inputs import PortalForm
from .modules import BUYER, SYNDIC

LABELS = {BUYER: _l("My units"), SYNDIC: _l("Building manager")}
ICONS = {BUYER: "house", SYNDIC: "buildings"}


class SwitchForm(PortalForm):
    view = HiddenField()


def current_view() -> str | None:
    """The client portal of this request: "buyer" or "syndic"; None for staff and visitors."""
    if not current_user.is_authenticated or current_user.is_staff:
        return None
    return scope_of(current_user).view


def switchable() -> bool:
    """Whether the current user has both portals (a buyer who also manages developments)."""
    if not current_user.is_authenticated or current_user.role != "client":
        return False
    return bool(scope_of(current_user).managed_ids)


def manages_developments(user) -> bool:
    """Whether `user` is a building manager of at least one development (login tab check)."""
    return db.session.scalar(db.select(SyndicDevelopment.user_id).where(
        SyndicDevelopment.user_id == user.id).limit(1)) is not None


def choose(view: str) -> None:
    """Remember the portal the user works in, for this session."""
    session[VIEW_KEY] = view


def _guard():
    """A module's client screens answer 404 in a portal it does not serve."""
    if request.blueprint is None or not current_user.is_authenticated or \
            current_user.is_staff:
        return None
    manifest = _by_blueprint().get(request.blueprint)
    if manifest is None or request.endpoint in manifest.shared_endpoints:
        return None
    if current_view() not in manifest.views:
        abort(404)
    return None


def _by_blueprint() -> dict:
    return {m.blueprint.name: m for m in current_app.extensions["portal"].modules.values()}


def switch():
    form = SwitchForm()
    if not form.validate_on_submit() or form.view.data not in LABELS or not switchable():
        abort(400)
    choose(form.view.data)
    return redirect(url_for("home"))


def _template_globals() -> dict:
    return {"portal_view": current_view, "portal_switchable": switchable,
            "portal_view_labels": LABELS, "portal_view_icons": ICONS,
            "portal_switch_form": SwitchForm}


def init_app(app: Flask) -> None:
    # after the modules: a module's before_app_request (viewing as a client) runs first
    app.before_request(_guard)
    app.add_url_rule("/view", "switch_view", login_required(switch), methods=["POST"])
    app.context_processor(_template_globals)
