from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..brdocs import is_document
from ..emails import EmailAddress
from ..inputs import PortalForm


class ClientForm(PortalForm):
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("E-mail"), validators=[DataRequired(), EmailAddress(), Length(max=254)])
    document = StringField(_l("CPF or CNPJ"), validators=[Optional(), Length(max=20)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=30)])
    role = SelectField(_l("Role"), choices=[])
    send_invite = BooleanField(_l("Send the first-access link by e-mail now"), default=True)

    def validate_document(self, field) -> None:
        if field.data and not is_document(field.data):
            raise ValidationError(_l("Not a valid CPF or CNPJ (check the digits)."))


class AccessEmailForm(PortalForm):
    """The e-mail address of an account that has none, to send it its link."""

    email = EmailField(_l("E-mail"), validators=[DataRequired(), EmailAddress(), Length(max=254)],
                       filters=[lambda value: value.strip() if isinstance(value, str) else value])


class AccessSwitchForm(PortalForm):
    """Switch portal access on or off (a client's or a development's); off needs a reason."""

    note = TextAreaField(_l("Reason (kept with the switch and in the audit log)"),
                         validators=[Length(max=300)],
                         filters=[lambda value: value.strip() if isinstance(value, str) else value])

    def validate_note(self, field) -> None:
        if self.switching_off and not field.data:
            raise ValidationError(_l("Say why access is switched off."))

    switching_off = False  # set by the view from the current state
