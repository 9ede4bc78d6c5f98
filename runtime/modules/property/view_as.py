"""Staff view the portal as a client sees it: read-only, with a banner, and audited.

While a staff member views as a client, that client is the current user for every
client screen; any change (a POST other than stopping) is refused, and every page or
file seen is written to the audit log.

Only viewers who may see everything a client sees may do it: administrators, and staff
not limited to some divisions. A view filtered by the viewer's limits would not be the
client's view, and every client screen would have to apply those limits (one missed
query would leak); a limited staff member still answers those clients' requests in
their own divisions from the desk.
"""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ...erp.models import AuditEntry
from ...extensions import db
from ...models import User
from ...staff import staff_required
from . import bp

KEY = "view_as"
# everything else is read-only; switching between a client's two portals changes nothing
ALLOWED_POSTS = ("property.stop_view_as", "auth.logout", "switch_view")


@bp.before_app_request
def _swap_user() -> None:
    target_id = session.get(KEY)
    if target_id is None:
        return
    real = current_user._get_current_object()
    target = db.session.get(User, target_id)
    if not real.is_authenticated or not real.is_staff or target is None or target.is_staff:
        session.pop(KEY, None)
        return
    if not may_view_as(real):  # e.g. limited to some divisions since the view began
        session.pop(KEY, None)
        return
    if request.method not in ("GET", "HEAD") and request.endpoint not in ALLOWED_POSTS:
        return _read_only(real, target)  # nothing may change in the client's name
    if request.endpoint == "auth.logout":
        session.pop(KEY, None)
        return  # log the staff member out, not the client
    g.view_as_by = real
    g._login_user = target  # Flask-Login's current_user for this request
    if request.endpoint != "static" and request.endpoint not in ALLOWED_POSTS:
        _audit(real, "view_as_page", target.id, request.full_path.rstrip("?"))
        db.session.commit()


@bp.app_template_global()
def may_view_as(viewer: User) -> bool:
    """Whether `viewer` may see everything a client sees: admins, staff without limits."""
    from ..tickets.api import staff_division_ids

    if viewer.role == "admin":
        return True
    return viewer.is_staff and staff_division_ids(viewer) is None


def _audit(actor: User, action: str, subject_id: int, detail: str | None = None) -> None:
    db.session.add(AuditEntry(actor_id=actor.id, action=action, subject_id=subject_id,
                              detail=detail[:300] if detail else None))


def _read_only(real: User, target: User):
    """The answer to a form sent while viewing as a client: nothing was saved, and why.

    Shown in the client's layout, banner and "Stop viewing" button included, so that the
    staff member sees where they are, not a bare "no access".
    """
    message = _("This is a read-only view of the portal as %(client)s sees it: nothing was "
                "sent or saved. Stop viewing to work in the staff console.", client=target.name)
    if request.accept_mimetypes.best == "application/json":
        return {"error": message}, 403
    g.view_as_by = real
    g._login_user = target
    return render_template("errors/error.html", code=403, message=message), 403


@bp.post("/staff/clients/<int:user_id>/view-as")
@staff_required
def view_as(user_id: int):
    target = db.get_or_404(User, user_id)
    if target.is_staff:
        abort(400)
    if not may_view_as(current_user):
        return render_template("errors/error.html", code=403, message=_(
            "Your account answers only some divisions, so it cannot view the portal as a "
            "client, who sees the requests of every division. An administrator can.")), 403
    _audit(current_user, "view_as", target.id, request.remote_addr)
    db.session.commit()
    session[KEY] = target.id
    return redirect(url_for("home"))


@bp.post("/view-as/stop")
@login_required
def stop_view_as():
    target_id = session.pop(KEY, None)
    real = getattr(g, "view_as_by", None)
    if real is not None and target_id is not None:
        _audit(real, "view_as_end", target_id)
        db.session.commit()
        flash(_("You are back in the staff console."), "info")
        return redirect(url_for("staff.client", user_id=target_id))
    return redirect(url_for("home"))
