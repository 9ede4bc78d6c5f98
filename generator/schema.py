"""The tenant JSON Schema: the core (schemas/tenant.core.json) plus each module's fragment.

A module's fragment is `runtime/modules/<name>/schema.json`, the schema of its key under
`modules:`; the menu's module enum is the list of fragments. The assembly is published as
schemas/tenant.schema.json (what editors point to; a test keeps it equal) and printed by
`portal schema`. Only JSON files are read here: the generator never imports the runtime.

`portal validate` runs in well under a second, so what this module costs at import counts:
the schema is checked against its metaschema by the tests (tests/test_schema.py), not on
every run; jsonschema is imported when a document is validated (a build where nothing
changed reads MODULE_FOLDERS only), and email_validator, whose import compiles large
Unicode patterns (20 ms), only for an address that is not of the everyday form.
"""

from __future__ import annotations

import functools
import json
import re
import zoneinfo
from pathlib import Path
from typing import TYPE_CHECKING

from .resources import data_folder, runtime_folder

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, FormatChecker

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


def _is_timezone(value: object) -> bool:
    """A zone the runtime can load (it calls ZoneInfo with this key).

    One lookup instead of zoneinfo.available_timezones(), which reads every zone file
    (20 ms); the same names it lists: not "posixrules" nor the posix/ and right/ copies.
    """
    if not isinstance(value, str):
        return True
    if not value or value == "posixrules" or value.startswith(("posix/", "right/")):
        return False
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # no such zone, not a
        return False  # normalised relative key, a folder
    return True


# Addresses of the everyday form: letters and digits joined by single dots, pluses, hyphens
# or underscores; a domain of such labels (hyphens inside only) ending in a name of letters.
# email_validator accepts each of them with the options below, when it is not too long nor
# under a special-use name (its SPECIAL_USE_DOMAIN_NAMES); tests/test_batch.py compares the
# two on thousands of addresses. Any other address is its to judge.
_EVERYDAY_EMAIL = re.compile(
    r"[a-z0-9]+(?:[._+-][a-z0-9]+)*@((?:[a-z0-9]+(?:-[a-z0-9]+)*\.)+([a-z]{2,63}))", re.I)
_SPECIAL_USE_TLDS = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})


def _everyday_email(value: str) -> bool:
    match = _EVERYDAY_EMAIL.fullmatch(value)
    return (match is not None and len(value) <= 254
            and match.group(2).lower() not in _SPECIAL_USE_TLDS
            and all(len(label) <= 63 for label in match.group(1).split(".")))


def _is_email(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if _everyday_email(value):
        return True
    import email_validator

    try:
        email_validator.validate_email(value, check_deliverability=False)
    except email_validator.EmailNotValidError:
        return False
    return True


def accepts(document: object) -> bool:
    """True when `document` is surely valid, found without jsonschema (generator/quickcheck.py);
    False when it may not be: then `validator()` finds and explains every problem."""
    from . import quickcheck

    return quickcheck.accepts(load_schema(), document, FORMATS)


FORMATS = {"iana-timezone": _is_timezone, "email": _is_email}


@functools.cache
def _format_checker() -> FormatChecker:
    from jsonschema import FormatChecker

    checker = FormatChecker(formats=())
    for name, check in FORMATS.items():
        checker.checks(name)(check)
    return checker


def __getattr__(name: str):
    """`format_checker`, made on first use (it needs jsonschema)."""
    if name == "format_checker":
        return _format_checker()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.cache
def validator() -> Draft202012Validator:
    """The validator every command uses, built once per process from the published schema
    (tests/test_schema.py checks that schema against the 2020-12 metaschema)."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(load_schema(), format_checker=_format_checker())


