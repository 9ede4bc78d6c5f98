from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, DateTimeLocalField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ...inputs import PortalForm


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

    def validate_publish_until(self, field) -> None:
        if field.data and self.publish_from.data and field.data <= self.publish_from.data:
            raise ValidationError(_l("Must be later than the publishing start."))
