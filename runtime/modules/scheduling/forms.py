"""Forms of the scheduling screens (CSRF through PortalForm)."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from ...inputs import PortalForm


class SlotForm(PortalForm):
    """A client picks one of the listed times (a radio group of the week shown)."""

    slot = StringField(_l("Time"), validators=[InputRequired(_l("Choose a time."))])
    note = TextAreaField(_l("Anything we should know? (optional)"),
                         validators=[Optional(), Length(max=500)])

    def validate_slot(self, field) -> None:
        try:
            field.local = datetime.strptime(field.data, "%Y-%m-%dT%H:%M")
        except (TypeError, ValueError):
            raise ValidationError(_l("Choose one of the times listed.")) from None


class ConfirmForm(PortalForm):
    """Only the CSRF token: the appointment is in the URL."""


class StatusForm(PortalForm):
    status = SelectField(_l("New status"), choices=(), validators=[DataRequired()])


class TechnicianForm(PortalForm):
    technician = SelectField(_l("Technician"), choices=(), coerce=int)


class TicketForm(PortalForm):
    description = TextAreaField(_l("What the request is about"),
                                validators=[DataRequired(_l("Describe what needs to be done.")),
                                            Length(max=4000)])


class BlockForm(PortalForm):
    day = DateField(_l("Date"), validators=[InputRequired(_l("Enter the date."))])
    development = SelectField(_l("Development"), choices=(), coerce=int,
                              validators=[InputRequired()])
    reason = StringField(_l("Reason"), description=_l("E.g. a holiday; shown to nobody but staff."),
                         validators=[Optional(), Length(max=200)])
