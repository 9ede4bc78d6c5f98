"""Edge validation: what a request may carry, checked once before any view runs.

Every id in a URL goes through the bounded `int` converter, every numeric query or form
argument through `int_arg`/`page_arg`, every text value is freed of NUL before a view
reads it, and every form derives from `PortalForm`, whose date and number fields refuse
values the database or Python's calendar cannot hold. Views then never see input that
would make PostgreSQL or SQLite raise, so bad input is a 4xx, never a 500.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from flask import Flask, abort, g, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.form import _Auto  # "read the request", as opposed to given data
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.routing import IntegerConverter
from wtforms import DateTimeField, DecimalField, Field, FloatField, IntegerField, PasswordField
from wtforms.validators import StopValidation

# ids are INTEGER columns (SERIAL on PostgreSQL): a larger number names nothing, and
# PostgreSQL would refuse to even compare it ("integer out of range")
MAX_ID = 2**31 - 1
# LIMIT/OFFSET are 64-bit on both databases
MAX_OFFSET = 2**63 - 1
# a margin of years on both sides keeps time-zone conversions and "+1 day" inside
# Python's calendar (years 1..9999)
FIRST_YEAR, LAST_YEAR = 1900, 2999
# powers of ten beyond these cannot be meant, and 1e50000000 written out is 50 MB of zeros
LARGEST_POWER, SMALLEST_POWER = 14, -9
NUL = "\x00"  # the one character PostgreSQL text cannot store; nobody types it on purpose
_DIGITS = re.compile(r"[0-9]+")  # ASCII only: "²".isdigit() is True, int("²") fails


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: 1 to MAX_ID, anything else matches no page (404)."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = 1,  # noqa: A002
                 max: int | None = MAX_ID, signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def whole_number(value: str | None, maximum: int = MAX_ID, minimum: int = 1) -> int | None:
    """A whole number from `minimum` to `maximum` written in ASCII digits, else None."""
    value = (value or "").strip()
    # more than 19 digits is past 64 bits (and int() refuses past 4,300 digits)
    if not _DIGITS.fullmatch(value) or len(value.lstrip("0")) > 19:
        return None
    number = int(value)
    return number if minimum <= number <= maximum else None


def int_arg(name: str, default: int | None = None, *, maximum: int = MAX_ID,
            source: MultiDict | None = None) -> int | None:
    """A numeric query (or form) argument: missing -> default; not a number -> 400;
    outside 1..maximum -> 404, as a path id would be."""
    raw = (request.args if source is None else source).get(name, "").strip()
    if not raw:
        return default
    if not _DIGITS.fullmatch(raw):
        abort(400)
    number = whole_number(raw, maximum)
    if number is None:
        abort(404)
    return number


def page_arg(per_page: int) -> int:
    """The `page` query argument for a list of `per_page` rows (1 when absent)."""
    return int_arg("page", 1, maximum=MAX_OFFSET // per_page) or 1


# -- NUL ------------------------------------------------------------------------------------

def _has_nul(values: MultiDict) -> bool:
    # every value, not only the first of each name (getlist("developments"), ?q=a&q=b)
    return any(NUL in v for _, v in values.items(multi=True)) if values else False


def _without_nul(values: MultiDict) -> MultiDict:
    return type(values)([(k, v.replace(NUL, "")) for k, v in values.items(multi=True)])


def _clean_request() -> None:
    """Drop NUL from every query and form value (a password with one is refused by its form)."""
    if request.view_args and any(isinstance(v, str) and NUL in v
                                 for v in request.view_args.values()):
        abort(404)  # a path with NUL in it names nothing
    if _has_nul(request.args):
        request.args = _without_nul(request.args)
        request.__dict__.pop("values", None)  # rebuilt from the cleaned args and form
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if _has_nul(request.form):
            g.nul_fields = {k for k, v in request.form.items(multi=True) if NUL in v}
            request.form = _without_nul(request.form)
            request.__dict__.pop("values", None)
        storage: FileStorage
        for _name, storage in request.files.items(multi=True):
            if storage.filename and NUL in storage.filename:
                storage.filename = storage.filename.replace(NUL, "")


# -- forms ----------------------------------------------------------------------------------

def _password_as_typed(form, field: Field) -> None:
    # stripping the NUL would silently set (or try) a password other than the one typed
    if field.name in g.get("nul_fields", ()):
        raise StopValidation(_l("The password contains a character that cannot be used. "
                                "Type it again."))


def _stop_if_unreadable(field: Field) -> None:
    # "Not a valid date value." is the reason; a later DataRequired would replace it with
    # "This field is required." although the user did type something (an empty field is
    # left to Optional and DataRequired)
    if field.process_errors and any(str(v).strip() for v in field.raw_data or ()):
        raise StopValidation()


def _in_calendar(form, field: Field) -> None:
    _stop_if_unreadable(field)
    value = field.data
    if isinstance(value, date | datetime) and not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise StopValidation(_l("Enter a date between the years %(first)d and %(last)d.",
                                first=FIRST_YEAR, last=LAST_YEAR))


def _a_number(form, field: Field) -> None:
    _stop_if_unreadable(field)
    value = field.data
    if value is None:
        return
    if isinstance(value, int):
        if abs(value) > MAX_ID:
            raise StopValidation(_l("This number is out of range."))
        return
    number = Decimal(value) if isinstance(value, float) else value
    if not number.is_finite():  # NaN, sNaN, Infinity
        raise StopValidation(_l("Enter a number."))
    # adjusted() is the power of ten of the first digit; abs() or < would overflow here
    if number and not SMALLEST_POWER <= number.adjusted() <= LARGEST_POWER:
        raise StopValidation(_l("This number is out of range."))


# most specific first: each field gets the check of the first class it is an instance of
_EDGE_CHECKS = ((PasswordField, _password_as_typed), (DateTimeField, _in_calendar),
                (DecimalField, _a_number), (FloatField, _a_number), (IntegerField, _a_number))


class PortalForm(FlaskForm):
    """The base of every portal form: edge checks run before the field's own validators."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            field = super().bind_field(form, unbound_field, options)
            for kind, check in _EDGE_CHECKS:
                if isinstance(field, kind):
                    # first, so that NumberRange never compares a NaN (which raises)
                    field.validators = [check, *field.validators]
                    break
            return field

        def wrap_formdata(self, form, formdata):
            # Flask-WTF would take a JSON body as form data, handing its numbers, lists and
            # objects to text fields; the portal's forms are HTML forms only
            if formdata is _Auto and request.is_json:
                return None
            return super().wrap_formdata(form, formdata)


def init_app(app: Flask) -> None:
    """Before any blueprint: the converter applies to rules as they are added."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(_clean_request)
