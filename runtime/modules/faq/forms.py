from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from ...inputs import PortalForm


def _stripped(value):
    return value.strip() if isinstance(value, str) else value


class EntryForm(PortalForm):
    # choices: "no category" and the tenant file's categories, set by the view; a forged
    # value is refused as not a choice
    category = SelectField(_l("Category"), choices=[],
                           description=_l("The categories come from the tenant file."))
    question = StringField(_l("Question"), validators=[DataRequired(), Length(max=300)],
                           filters=[_stripped])
    answer = TextAreaField(_l("Answer"), validators=[DataRequired(), Length(max=50_000)])


class ActionForm(PortalForm):
    """A button of the list (move, hide, show, delete): only its CSRF token."""
