"""Request forms generated from the tenant's `fields`, validated on the server."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    MultipleFileField,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from ...brdocs import format_document, is_cnpj, is_cpf
from ...emails import EmailAddress
from ...inputs import PortalForm


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def field_name(field_id: str) -> str:
    return "f_" + re.sub(r"[^a-zA-Z0-9_]", "_", field_id)


def _check_digits(kind: str):
    check = is_cpf if kind == "cpf" else is_cnpj
    message = _l("Not a valid CPF (check the digits).") if kind == "cpf" else \
        _l("Not a valid CNPJ (check the digits).")

    def validator(form, field):
        if field.data and not check(field.data):
            raise ValidationError(message)

    return validator


def _required_checkbox(form, field):
    if not field.data:
        raise ValidationError(_l("Please confirm to continue."))


def _make_field(spec: dict):
    required = spec["required"]
    presence = [DataRequired()] if required else [Optional()]
    kwargs = {"label": spec["label"], "description": spec.get("help") or ""}
    kind = spec["type"]
    if kind == "text":
        return StringField(validators=[*presence, Length(max=500)], **kwargs)
    if kind == "textarea":
        return TextAreaField(validators=[*presence, Length(max=5000)], **kwargs)
    if kind == "number":
        bounds = NumberRange(min=spec.get("min"), max=spec.get("max"))
        return DecimalField(validators=[InputRequired() if required else Optional(), bounds],
                            **kwargs)
    if kind == "date":
        return DateField(validators=presence, **kwargs)
    if kind == "select":
        choices = [SelectChoice("", "—"), *spec["options"]]
        return SelectField(choices=choices, validators=presence, validate_choice=True, **kwargs)
    if kind == "multiselect":
        return MultiCheckboxField(choices=list(spec["options"]),
                                  validators=presence, **kwargs)
    if kind == "checkbox":
        return BooleanField(validators=[_required_checkbox] if required else [], **kwargs)
    if kind == "file":
        return MultipleFileField(**kwargs)  # checked from the content in runtime/uploads.py
    if kind == "email":
        return EmailField(validators=[*presence, EmailAddress(), Length(max=254)], **kwargs)
    if kind == "phone":
        return TelField(validators=[*presence, Regexp(r"^\+?[0-9 ()-]{8,20}$",
                                                      message=_l("Not a phone number."))],
                        **kwargs)
    return StringField(validators=[*presence, _check_digits(kind)], **kwargs)  # cpf, cnpj


def request_form(request_spec: dict, formdata=None, place=None) -> PortalForm:
    """A form class for one request type: a description plus its extra fields (and the
    place it is about, when the request type asks for one: tickets/place.py)."""

    class RequestForm(PortalForm):
        description = TextAreaField(_l("Describe your request"),
                                    validators=[DataRequired(), Length(min=3, max=10_000)])

    if place is not None:
        RequestForm.place = place

    for spec in request_spec["fields"]:
        setattr(RequestForm, field_name(spec["id"]), _make_field(spec))
    return RequestForm() if formdata is None else RequestForm(formdata=formdata)


def _display(spec: dict, value) -> str | list | bool | None:
    if value in (None, "", []):
        return None
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")  # 30, 12.5: never 3E+1
    if spec["type"] in ("cpf", "cnpj"):
        return format_document(value)
    return value


def answers(form: PortalForm, request_spec: dict) -> list[dict]:
    """The answers to keep with the ticket (files are attachments, not answers)."""
    out = []
    for spec in request_spec["fields"]:
        if spec["type"] == "file":
            continue
        value = _display(spec, form[field_name(spec["id"])].data)
        if value is not None and value is not False:
            out.append({"id": spec["id"], "label": spec["label"], "type": spec["type"],
                        "value": value})
    return out
