from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired, MultipleFileField
from wtforms import DateField, StringField
from wtforms.validators import Length, Optional, ValidationError

from ...inputs import PortalForm


class ImportForm(PortalForm):
    file = FileField(_l("Voucher list"),
                     validators=[FileRequired(_l("Choose the CSV or JSON file of the vouchers."))],
                     description=_l("CSV (comma or semicolon, UTF-8 or Latin-1) or JSON; "
                                    "one row per offer."))
    images = MultipleFileField(_l("Images"),
                               description=_l("The pictures the image column names: "
                                              "JPEG, PNG, GIF or WebP, up to 5 MB each."))

    def validate_file(self, field) -> None:
        if not field.data.filename.lower().endswith((".csv", ".json")):
            raise ValidationError(_l("Send the list as a .csv or .json file."))


class ConfirmForm(PortalForm):
    """Only the CSRF token: the checked file waits on the server under the URL's token."""


class RedemptionFilter(PortalForm):
    class Meta:
        csrf = False  # a GET filter: nothing changes

    q = StringField(_l("Search"), validators=[Optional(), Length(max=120)])
    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("Until"), validators=[Optional()])

    def validate_end(self, field) -> None:
        if field.data and self.start.data and field.data < self.start.data:
            raise ValidationError(_l("Must not be before the start."))
