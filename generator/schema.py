"""The tenant JSON Schema: the core (schemas/tenant.core.json) plus each module's fragment.

A module's fragment is `runtime/modules/<name>/schema.json`, the schema of its key under
`modules:`; the menu's module enum is the list of fragments. The assembly is published as
schemas/tenant.schema.json (what editors point to; a test keeps it equal) and printed by
`portal schema`. Only JSON files are read here: the generator never imports the runtime.
"""

from __future__ import annotations

import functools
import json
import zoneinfo
from pathlib import Path

import email_validator
from jsonschema import Draft202012Validator, FormatChecker

from .resources import data_folder, runtime_folder

CORE_PATH = data_folder("schemas") / "tenant.core.json"
SCHEMA_PATH = data_folder("schemas") / "tenant.schema.json"
# folders whose sub-folders are modules; a test adds its own module folder here
MODULE_FOLDERS: list[Path] = [runtime_folder("modules")]


def fragments() -> dict[str, dict]:
    """Each module's schema fragment by module name, in name order."""
    found = {}
    for folder in MODULE_FOLDERS:
        for path in sorted(folder.glob("*/schema.json")):
            found[path.parent.name] = json.loads(path.read_text(encoding="utf-8"))
    return dict(sorted(found.items()))


def assemble() -> dict:
    """The whole tenant schema: the core with every module's fragment put in its place."""
    schema = json.loads(CORE_PATH.read_text(encoding="utf-8"))
    modules = fragments()
    schema["properties"]["modules"]["properties"] = modules
    schema["$defs"]["menu_node"]["properties"]["module"]["enum"] = list(modules)
    return schema


def render(schema: dict) -> str:
    """The schema as published: the text of schemas/tenant.schema.json."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


@functools.cache
def load_schema() -> dict:
    """The tenant schema every command uses, exactly as `portal schema` prints it."""
    return assemble()


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


