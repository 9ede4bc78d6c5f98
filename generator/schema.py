"""The tenant JSON Schema: loaded from schemas/, the one source of truth."""

from __future__ import annotations

import functools
import json
import zoneinfo

import email_validator
from jsonschema import Draft202012Validator, FormatChecker

from .resources import data_folder

SCHEMA_PATH = data_folder("schemas") / "tenant.schema.json"


@functools.cache
def load_schema() -> dict:
    """The published tenant schema, exactly as `portal schema` prints it."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@functools.cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


format_checker = FormatChecker(formats=())


@format_checker.checks("iana-timezone")
def _is_timezone(value: object) -> bool:
    return not isinstance(value, str) or value in _timezones()


@format_checker.checks("email")
def _is_email(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        email_validator.validate_email(value, check_deliverability=False)
    except email_validator.EmailNotValidError:
        return False
    return True


@functools.cache
def validator() -> Draft202012Validator:
    """The validator every command uses, built from the published schema."""
    schema = load_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=format_checker)


