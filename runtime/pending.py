"""After a client logs in: the gates they pass first, then one pop-up of what waits for them.

Gates (Manifest.gates, runtime.modules.Gate) are screens that come before the portal, in
order (address confirmation, then the first-login survey): while one is due for the
client, every other client page redirects to it, with the page asked for as `next`. The
gate's screen calls `passed(name)` when the client is done or postpones it, and sends
them on to `next_url()`; the next gate (if any) takes over from there.

When no gate waits, the first client page fetches the pending-actions pop-up (GET
/pending, so that page keeps its statement budget): the items the enabled modules add to
the Part place "pending" (args: user), in their order. It shows once per session:
"Later" (or Escape) closes it until the next login.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote, urlsplit

from flask import Flask, make_response, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from .modules import gates, parts

GATES = "portal.gates"  # gates may be due: checked on each client page until none is
PASSED = "portal.gates.passed"  # gates done or postponed in this session
POPUP = "portal.pending"  # the pop-up still has to show in this session
PREVIOUS = "portal.previous_visit"  # the client's login before this one (ISO, UTC)


def start(user, previous_login: datetime | None) -> None:
    """Called by the login: gates and the pop-up for a client, nothing for staff."""
    for key in (GATES, PASSED, POPUP, PREVIOUS):
        session.pop(key, None)
    if user.is_staff:
        return
    session[POPUP] = True
    if previous_login is not None:
        session[PREVIOUS] = previous_login.isoformat()
    # checked here once, so that the first page a client with nothing due opens pays nothing
    if _first_due(user) is not None:
        session[GATES] = True


def previous_visit() -> datetime | None:
    """When the client logged in before this session (None: this is their first login)."""
    value = session.get(PREVIOUS)
    return datetime.fromisoformat(value) if value else None


def passed(name: str) -> None:
    """The client is done with gate `name` for this session (answered or postponed)."""
    session[PASSED] = sorted({*session.get(PASSED, ()), name})


def next_url() -> str:
    """Where a gate's screen sends the client on: the page they asked for, or home."""
    target = request.values.get("next", "")
    parts_ = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts_.scheme \
            and not parts_.netloc:
        return target
    return url_for("home")


def _open_endpoints() -> set[str]:
    return {e for _, gate in gates() for e in gate.endpoints}


def _gate():
    """Redirect a client to the first gate still due for them (a GET of a client page)."""
    if not session.get(GATES) or not current_user.is_authenticated or current_user.is_staff:
        return None
    endpoint = request.endpoint or ""
    if request.method != "GET" or endpoint == "static" or endpoint.startswith(
            ("auth.", "staff.")) or endpoint in ("healthz", "ready", "switch_view") \
            or endpoint in _open_endpoints():
        return None
    target = _first_due(current_user)
    if target is None:
        session.pop(GATES, None)
        return None
    wanted = request.full_path.rstrip("?")
    separator = "&" if "?" in target else "?"
    return redirect(f"{target}{separator}next={quote(wanted, safe='/')}")


def _first_due(user) -> str | None:
    """The URL of the first gate due for `user` and not passed in this session."""
    done = set(session.get(PASSED, ()))
    for name, gate in gates():
        if name in done:
            continue
        target = gate.due(user)
        if target:
            return target
    return None


def waiting() -> bool:
    """Whether this page should fetch the pop-up (no SQL: the page's own budget stays)."""
    return bool(session.get(POPUP)) and not session.get(GATES) \
        and current_user.is_authenticated and not current_user.is_staff \
        and request.endpoint not in _open_endpoints()


def popup():
    """GET /pending: the pop-up (a fragment portal.js puts in the page and opens), once
    per session, after every gate; 204 when nothing waits or it was shown already."""
    if not waiting():
        return "", 204
    session.pop(POPUP, None)
    items = parts("pending", user=current_user)
    if not items:
        return "", 204
    response = make_response(render_template("pending.html", pending_items=items))
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    # after the modules and the syndic guard: a 404 in the wrong portal stays a 404
    app.before_request(_gate)
    app.add_url_rule("/pending", "pending_actions", login_required(popup))
    app.jinja_env.globals["portal_pending"] = waiting
