from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..banners import link_problem
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


def _stripped(value):
    return value.strip() if isinstance(value, str) else value


class BannerForm(PortalForm):
    """A home banner: its image, what it says, where it leads and when it shows."""

    image = FileField(_l("Image"), description=_l("JPEG, PNG, GIF or WebP, up to 5 MB; "
                                                  "wide, ideally 1600 × 500 pixels."))
    file_image = BooleanField(_l("Show the tenant file's image again"))
    alt = StringField(_l("Alternative text"), validators=[DataRequired(), Length(max=200)],
                      filters=[_stripped],
                      description=_l("What the banner says, read to people who cannot see it."))
    link = StringField(_l("Link"), validators=[Optional(), Length(max=500)], filters=[_stripped],
                       description=_l("A page of the portal, like /notices, or an address "
                                      "starting with https://. Leave empty for no link."))
    starts_on = DateField(_l("Show from"), validators=[Optional()])
    ends_on = DateField(_l("Show until"), validators=[Optional()],
                        description=_l("Both days included. Leave empty to show it for good."))

    def validate_link(self, field) -> None:
        problem = link_problem(field.data) if field.data else None
        if problem:
            raise ValidationError(problem)

    def validate_ends_on(self, field) -> None:
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError(_l("Must not be before the first day."))


class ButtonForm(PortalForm):
    """A button of a list (move, hide, show, delete): only its CSRF token."""
