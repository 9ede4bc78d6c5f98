"""Switching a client's portal access on and off from their account page."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import access
from ..extensions import db
from ..models import User
from . import bp, staff_required
from .forms import AccessSwitchForm, ClientForm


def access_form(user: User, *, posted: bool = False) -> AccessSwitchForm:
    """The switch of `user`'s access: to off (a reason needed) or back on."""
    form = AccessSwitchForm(prefix="portal") if posted else \
        AccessSwitchForm(formdata=None, prefix="portal")
    form.switching_off = user.portal_access
    return form


@bp.post("/clients/<int:user_id>/access")
@staff_required
def client_access(user_id: int):
    """Switch a client's (or syndic's) access: off, with a reason, ends their sessions."""
    from .routes import _client_page, _role_choices

    user = db.get_or_404(User, user_id)
    if user.is_staff:
        abort(400)  # staff accounts are deactivated instead
    form = access_form(user, posted=True)
    if form.validate_on_submit():
        turning_on = not user.portal_access
        access.switch_client(user, turning_on, form.note.data, current_user)
        flash(_("Portal access switched on for %(name)s.", name=user.name) if turning_on
              else _("Portal access switched off for %(name)s; their sessions have ended.",
                     name=user.name), "success")
        return redirect(url_for("staff.client", user_id=user.id))
    account = ClientForm(formdata=None, obj=user)
    account.role.choices = _role_choices()
    return _client_page(user, account, 400, access_switch=form)
