from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ...inputs import PortalForm


class CheckboxesField(SelectMultipleField):
    """Several choices as a list of check boxes (a fieldset in the template)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class NoticeForm(PortalForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    summary = TextAreaField(_l("Summary"), validators=[DataRequired(), Length(max=500)],
                            description=_l("Shown on the timeline; up to 500 characters."))
    content = TextAreaField(_l("Content"), validators=[Length(max=200_000)])
    thumbnail = FileField(_l("Thumbnail"),
                          description=_l("JPEG, PNG, GIF or WebP, up to 5 MB."))
    remove_thumbnail = BooleanField(_l("Remove the current thumbnail"))
    publish_from = DateTimeLocalField(_l("Publish from"), format="%Y-%m-%dT%H:%M",
                                      validators=[DataRequired()])
    publish_until = DateTimeLocalField(_l("Publish until"), format="%Y-%m-%dT%H:%M",
                                       validators=[Optional()],
                                       description=_l("Leave empty to keep it published."))
    active = BooleanField(_l("Active"), default=True)
    roles = CheckboxesField(_l("Who"), choices=[
        SelectChoice("buyers", _l("Buyers")),
        SelectChoice("syndics", _l("Building managers (syndics)"))],
                            description=_l("Tick none to reach every client."))
    # choices: the developments, set by the view; a forged id is refused as not a choice
    developments = CheckboxesField(_l("Developments"), coerce=int, choices=[],
                                   description=_l("Tick none for every development."))
    send_email = BooleanField(_l("Also send by e-mail"),
                              description=_l("One e-mail to each client of the audience who "
                                             "has an address, when the notice is published. "
                                             "Nobody receives it twice, even after edits."))

    def validate_publish_until(self, field) -> None:
        if field.data and self.publish_from.data and field.data <= self.publish_from.data:
            raise ValidationError(_l("Must be later than the publishing start."))
