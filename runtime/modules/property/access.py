"""A development's portal access switch, on its page in the staff console."""

from __future__ import annotations

from datetime import date

from flask import flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from ... import access
from ...erp.models import Development
from ...extensions import db
from ...staff import staff_required
from ...staff.forms import AccessSwitchForm
from .. import parts
from . import bp


def _form(development: Development, *, posted: bool = False) -> AccessSwitchForm:
    form = AccessSwitchForm(prefix="portal") if posted else \
        AccessSwitchForm(formdata=None, prefix="portal")
    form.switching_off = development.portal_access
    return form


def panel(development: Development) -> dict:
    """The switch panel's data: its form (a failed post's, with its errors) and who it reaches."""
    return {"form": g.get("development_access_form") or _form(development),
            "members": access.development_members(development.id)}


@bp.post("/staff/developments/<int:development_id>/access")
@staff_required
def staff_development_access(development_id: int):
    """Switch a development's access: off, with a reason, shuts out its buyers and syndics."""
    from .routes import DevelopmentForm

    development = db.get_or_404(Development, development_id)
    form = _form(development, posted=True)
    if form.validate_on_submit():
        if development.portal_access:
            ended = access.switch_development(development, False, form.note.data, current_user)
            flash(ngettext("Portal access switched off for %(name)s: %(num)d account can no "
                           "longer log in.",
                           "Portal access switched off for %(name)s: %(num)d accounts can no "
                           "longer log in.", ended, name=development.name), "success")
        else:
            access.switch_development(development, True, None, current_user)
            flash(_("Portal access switched on for %(name)s.", name=development.name),
                  "success")
        return redirect(url_for("property.staff_development", development_id=development.id))
    g.development_access_form = form
    edit = DevelopmentForm(formdata=None, delivery_forecast=development.delivery_forecast,
                           description=development.description_html)
    return render_template("property/staff_development.html", form=edit,
                           development=development, today=date.today(),
                           panels=parts("staff.development", development=development)), 400
