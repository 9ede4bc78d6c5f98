"""Profile: clients see their data and ask for changes, which staff apply on approval."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms import EmailField, StringField, TelField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from ...brdocs import format_document
from ...emails import EmailAddress
from ...extensions import db
from ...inputs import PortalForm
from .. import Handler, Manifest, Part
from ..tickets import api as desk

bp = Blueprint("profile", __name__, template_folder="templates")
LABELS = {"name": _l("Full name"), "email": _l("E-mail"), "phone": _l("Phone"),
          "address": _l("Address")}


class ProfileForm(PortalForm):
    name = StringField(LABELS["name"], validators=[DataRequired(), Length(max=200)])
    email = EmailField(LABELS["email"],
                       validators=[DataRequired(), EmailAddress(), Length(max=254)])
    phone = TelField(LABELS["phone"], validators=[Optional(), Regexp(
        r"^\+?[0-9 ()-]{8,20}$", message=_l("Not a phone number."))])
    address = StringField(LABELS["address"], validators=[Optional(), Length(max=300)])


def _settings() -> dict:
    return current_app.extensions["portal"]["modules"]["profile"]


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def index():
    editable = _settings()["editable"]
    form = ProfileForm(obj=current_user)
    for name in ("name", "email", "phone", "address"):
        if name not in editable:
            delattr(form, name)
    pending = _pending()
    if editable and form.validate_on_submit():
        changes = []
        for name in editable:
            old = getattr(current_user, name) or ""
            new = (form[name].data or "").strip()
            if new != old:
                changes.append({"id": name, "label": str(LABELS[name]), "type": "change",
                                "value": {"old": old, "new": new}})
        if not changes:
            flash(_("Nothing changed."), "info")
            return redirect(url_for("profile.index"))
        ref = _settings()["change_request"]
        lines = [f"{c['label']}: {c['value']['old'] or '—'} → {c['value']['new'] or '—'}"
                 for c in changes]
        ticket = desk.open_ticket(current_user, ref["division"], ref["request"],
                                  description="\n".join(lines), answers=changes, files={},
                                  origin="profile")
        db.session.commit()
        flash(_("We received your request (protocol %(protocol)s). Your data changes once our "
                "team approves it.", protocol=ticket.protocol), "success")
        return redirect(url_for("profile.index"))
    status = 400 if request.method == "POST" else 200
    return render_template("profile/index.html", form=form, editable=editable, pending=pending,
                           document=format_document(current_user.document or ""),
                           labels=LABELS,
                           can_follow="tickets.show" in current_app.view_functions), status


def _pending():
    """The client's open change requests, shown so they do not ask twice."""
    return desk.open_requests(current_user, "profile")


from .changes import apply_ticket  # noqa: E402

manifest = Manifest(
    "profile", bp, "profile.index",
    parts=(Part("user_menu", "profile/_user_menu.html"),),
    # staff approving a change request apply it to the account (the desk sends the signal)
    handlers=(Handler(desk.apply_requested, apply_ticket, sender="profile"),))
