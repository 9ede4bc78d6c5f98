from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from ..inputs import PortalForm

IDENTIFIER_HELP = _l("Your e-mail, CPF/CNPJ or mobile number with area code, e.g. "
                     "(11) 98765-4321.")


class LoginForm(PortalForm):
    identifier = StringField(_l("E-mail, CPF/CNPJ or phone"), description=IDENTIFIER_HELP,
                             validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=128)])
    kind = HiddenField(default="client")


class ForgotForm(PortalForm):
    identifier = StringField(_l("E-mail, CPF/CNPJ or phone"), description=IDENTIFIER_HELP,
                             validators=[DataRequired(), Length(max=254)])


class SetPasswordForm(PortalForm):
    password = PasswordField(_l("New password"), validators=[
        DataRequired(), Length(min=8, max=128, message=_l("Use 8 to 128 characters."))])
    confirm = PasswordField(_l("Repeat the new password"), validators=[
        DataRequired(), EqualTo("password", message=_l("The passwords do not match."))])

    def validate_password(self, field) -> None:
        if len(set(field.data)) < 4:
            raise ValidationError(_l("This password is too easy to guess."))
