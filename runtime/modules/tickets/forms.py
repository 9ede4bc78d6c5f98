from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    MultipleFileField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from ...inputs import PortalForm


class ReplyForm(PortalForm):
    body = TextAreaField(_l("Message"), validators=[DataRequired(), Length(max=10_000)])
    files = MultipleFileField(_l("Attach files"))


class RejectForm(PortalForm):
    reason = TextAreaField(_l("What is still wrong?"),
                           validators=[DataRequired(), Length(min=3, max=5000)])


class CancelForm(PortalForm):
    reason = TextAreaField(_l("Why are you cancelling? (optional)"),
                           validators=[Optional(), Length(max=2000)])


class RateForm(PortalForm):
    rating = RadioField(_l("Your rating"), choices=[str(i) for i in range(1, 6)],
                        validators=[DataRequired(message=_l("Choose from 1 to 5 stars."))])
    comment = TextAreaField(_l("Comment (optional)"), validators=[Optional(), Length(max=2000)])


class StaffReplyForm(PortalForm):
    body = TextAreaField(_l("Message"), validators=[DataRequired(), Length(max=10_000)])
    internal = BooleanField(_l("Internal note (never shown to the client)"))
    files = MultipleFileField(_l("Attach files"))


class StaffMoveForm(PortalForm):
    to = SelectField(_l("New status"), choices=[])
    note = TextAreaField(_l("Message to the client"), validators=[Optional(), Length(max=10_000)])


class AssignForm(PortalForm):
    assignee = SelectField(_l("Assigned to"), choices=[], validate_choice=True)


class ExportForm(PortalForm):
    class Meta:
        csrf = False  # a GET download that changes nothing

    start = DateField(_l("From"), validators=[DataRequired()])
    end = DateField(_l("To"), validators=[DataRequired()])


class QueueFilterForm(PortalForm):
    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Optional(), Length(max=100)])
