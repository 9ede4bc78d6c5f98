"""Validate a tenant file: every problem at once, each at its file:line:col."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import colours, crosscheck, language, themes
from .crosscheck import unique
from .diagnostics import Diagnostic, TenantError, sort_diagnostics
from .loader import Document, PathT, format_path, load
from .schema import accepts, load_schema, validator

SECRET_KEYS = {"password", "passwd", "secret", "token", "api_key", "apikey", "access_key",
               "private_key", "client_secret", "access_token"}
IMAGE_TYPES = {".svg", ".png", ".jpg", ".jpeg", ".webp", ".gif", ".ico"}
LOGO_WARN_BYTES = 500 * 1024
MAX_MENU_DEPTH = 3
YAML11_BOOLS = {"y", "n", "yes", "no", "on", "off"}

TYPE_PHRASES = {
    "string": "text", "integer": "a whole number", "number": "a number",
    "boolean": "true or false", "array": "a list", "object": "a mapping of keys",
    "null": "nothing",
}


@dataclass
class Result:
    """The outcome of validating one file."""

    file: str
    document: Document | None
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]


class _Checker:
    def __init__(self, doc: Document):
        self.doc = doc
        self.data = doc.data
        self.out: list[Diagnostic] = []
        self.skip_paths: set[PathT] = set()

    def report(self, path: PathT, message: str, *, at_key: bool = False,
               severity: str = "error") -> None:
        loc = self.doc.loc(path)
        line, column = (loc.key_line, loc.key_column) if at_key else (loc.line, loc.column)
        self.out.append(Diagnostic(loc.file, line, column, format_path(path), message, severity))

    def get(self, path: PathT, default: Any = None) -> Any:
        node = self.data
        for part in path:
            if isinstance(part, int):
                if not isinstance(node, list) or part >= len(node):
                    return default
            elif not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node


# -- values as a consultant would read them -------------------------------------------------

def _quoted(value: str) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:56] + '…"'


def describe(value: Any, raw: str | None, source_line: str) -> str:
    """'got ...' text for a value, with a hint when a YAML trap produced it."""
    if value is None:
        after = source_line.split(":", 1)[1] if ":" in source_line else ""
        if "#" in after and not after.split("#", 1)[0].strip():
            return "got null: '#' starts a YAML comment"
        return "got nothing"
    if isinstance(value, bool):
        word = "true" if value else "false"
        if raw is not None and raw.lower() in YAML11_BOOLS:
            return f"got {word}: YAML reads {raw} as {word}; quote it"
        return f"got {word}"
    if isinstance(value, int):
        if raw is not None and re.fullmatch(r"[-+]?0[0-9_]+|0o[0-7]+", raw):
            return f"got the number {value}: YAML reads {raw} as a number and drops the " \
                   "leading zero; quote it"
        return f"got {value}"
    if isinstance(value, float):
        return f"got {raw if raw is not None else value}"
    if isinstance(value, str):
        if value.lower() in YAML11_BOOLS | {"true", "false"}:
            return f"got the text {_quoted(value)}: write true or false, without quotes"
        return f"got {_quoted(value)}"
    if isinstance(value, list):
        return "got a list"
    return "got a mapping"


def did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f'; did you mean "{close[0]}"?' if close else ""


# -- schema errors ------------------------------------------------------------------------

def _schema_errors(ck: _Checker) -> None:
    if accepts(ck.data):  # a valid document never imports jsonschema (40 ms)
        return
    for error in validator().iter_errors(ck.data):
        _translate(ck, error)


@dataclass(frozen=True)
class _Found:
    """One jsonschema error, with what a message about it needs."""

    path: PathT
    error: Any  # jsonschema.ValidationError
    got: str  # the value as a consultant reads it: 'got ...'

    @property
    def value(self) -> Any:
        return self.error.instance

    @property
    def limit(self) -> Any:
        """The keyword's own value in the schema: the enum, the minimum, the required keys."""
        return self.error.validator_value

    @property
    def expected(self) -> str | None:
        """The schema's own wording for what belongs here (x-expected), if it has one."""
        return self.error.schema.get("x-expected")


def _translate(ck: _Checker, error) -> None:
    """Report one jsonschema error as a plain sentence, by the keyword that failed."""
    path: PathT = tuple(error.absolute_path)
    loc = ck.doc.loc(path)
    got = describe(error.instance, loc.raw if path in ck.doc.locs else None, loc.source_line)
    _KEYWORDS.get(error.validator, _not_valid)(ck, _Found(path, error, got))


def _unknown_keys(ck: _Checker, found: _Found) -> None:
    allowed = list(found.error.schema.get("properties", {}))
    for key in found.value:
        if key not in allowed and (*found.path, key) not in ck.skip_paths:
            hint = did_you_mean(key, allowed) or f"; allowed keys: {', '.join(allowed)}"
            ck.report((*found.path, key), f'unknown key "{key}"{hint}', at_key=True)


def _missing_keys(ck: _Checker, found: _Found) -> None:
    for key in found.limit:
        if isinstance(found.value, dict) and key not in found.value:
            ck.report(found.path, f'missing required key "{key}"', at_key=True)


def _one_of(ck: _Checker, found: _Found) -> None:
    # only "exactly one of these keys" has its own sentence; other oneOfs are generic
    if not all(set(s) == {"required"} for s in found.limit):
        _not_valid(ck, found)
        return
    options = [s["required"][0] for s in found.limit]
    present = [o for o in options if isinstance(found.value, dict) and o in found.value]
    detail = f"found {', '.join(present)}" if present else "found none"
    ck.report(found.path, f"needs exactly one of {', '.join(options)} ({detail})")


def _wrong_type(ck: _Checker, found: _Found) -> None:
    wanted = found.expected or _type_phrase(found.limit)
    ck.report(found.path, f"expected {wanted} ({found.got})")


def _wrong_form(ck: _Checker, found: _Found) -> None:
    wanted = found.expected or _format_phrase(found.error.schema.get("format"))
    ck.report(found.path, f"expected {wanted} ({found.got})")


def _not_a_choice(ck: _Checker, found: _Found) -> None:
    choices = [str(c) for c in found.limit]
    value = found.value
    hint = did_you_mean(str(value), choices) if isinstance(value, str) else ""
    ck.report(found.path, f"expected one of: {', '.join(choices)} ({found.got}{hint})")


def _not_the_constant(ck: _Checker, found: _Found) -> None:
    ck.report(found.path, f"expected {found.expected or json.dumps(found.limit)} ({found.got})")


def _out_of_range(ck: _Checker, found: _Found) -> None:
    word = RANGE_WORDS[found.error.validator]
    ck.report(found.path, f"must be {word} {found.limit} ({found.got})")


def _empty(ck: _Checker, found: _Found) -> None:
    ck.report(found.path, "must not be empty")


def _too_few(ck: _Checker, found: _Found) -> None:
    ck.report(found.path, f"needs at least {found.limit} item(s)")


def _repeated(ck: _Checker, found: _Found) -> None:
    ck.report(found.path, "lists the same item more than once")


def _not_valid(ck: _Checker, found: _Found) -> None:
    # a keyword the schema may gain later: still a plain sentence
    ck.report(found.path, f"is not valid here ({found.got})")


RANGE_WORDS = {"minimum": "at least", "exclusiveMinimum": "more than",
               "maximum": "at most", "exclusiveMaximum": "less than"}
_KEYWORDS: dict[str, Callable[[_Checker, _Found], None]] = {
    "additionalProperties": _unknown_keys, "required": _missing_keys, "oneOf": _one_of,
    "type": _wrong_type, "pattern": _wrong_form, "format": _wrong_form, "enum": _not_a_choice,
    "const": _not_the_constant, **dict.fromkeys(RANGE_WORDS, _out_of_range),
    "minLength": _empty, "minItems": _too_few, "uniqueItems": _repeated,
}


def _type_phrase(types: Any) -> str:
    names = types if isinstance(types, list) else [types]
    return " or ".join(TYPE_PHRASES.get(n, n) for n in names)


def _format_phrase(fmt: str | None) -> str:
    return {
        "email": "an e-mail address like \"atendimento@empresa.com.br\"",
        "iana-timezone": "an IANA time zone like \"America/Sao_Paulo\"",
    }.get(fmt or "", "a value of the right form")


# -- checks the schema cannot express --------------------------------------------------------

def _secrets(ck: _Checker, node: Any, path: PathT) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            lowered = key.lower()
            bare = lowered.rsplit("_", 1)[-1] if lowered not in SECRET_KEYS else lowered
            if (lowered in SECRET_KEYS or bare in SECRET_KEYS) and not lowered.endswith("_env") \
                    and value not in (None, ""):
                ck.skip_paths.add((*path, key))
                ck.report((*path, key),
                          f"a secret is written in clear; name an environment variable instead, "
                          f"e.g. {key}_env: {_env_example(ck)}", at_key=True)
            else:
                _secrets(ck, value, (*path, key))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            _secrets(ck, item, (*path, i))


def _env_example(ck: _Checker) -> str:
    tenant_id = ck.get(("tenant", "id"))
    if not isinstance(tenant_id, str):
        return "TENANT_SMTP_PASSWORD"
    prefix = re.sub(r"[^A-Z0-9]", "_", tenant_id.upper())
    return f"{prefix}_SMTP_PASSWORD"


def _file_exists(ck: _Checker, path: PathT, *, kinds: set[str] | None = None,
                 folder: bool = False) -> Path | None:
    value = ck.get(path)
    if not isinstance(value, str) or not value:
        return None
    target = Path(ck.doc.loc(path).file).parent / value
    if folder:
        if not target.is_dir():
            ck.report(path, f"folder not found: {_show(target)}")
            return None
        return target
    if not target.is_file():
        ck.report(path, f"file not found: {_show(target)}")
        return None
    if kinds and target.suffix.lower() not in kinds:
        ck.report(path, f"expected one of {', '.join(sorted(kinds))} (got {target.name})")
    return target


def _show(path: Path) -> str:
    from .diagnostics import display_path

    return display_path(str(path))


def _files(ck: _Checker) -> Path | None:
    """Check every file the tenant names; the template overrides folder, when it exists."""
    logo = _file_exists(ck, ("branding", "logo"), kinds=IMAGE_TYPES)
    if logo is not None and logo.stat().st_size > LOGO_WARN_BYTES:
        size = logo.stat().st_size // 1024
        ck.report(("branding", "logo"), f"the logo is {size} KB; keep it under 500 KB so "
                  "pages load fast on a phone", severity="warning")
    _file_exists(ck, ("branding", "favicon"), kinds=IMAGE_TYPES)
    _file_exists(ck, ("branding", "login_image"), kinds=IMAGE_TYPES)
    for i, _ in enumerate(_list(ck.get(("branding", "banners")))):
        _file_exists(ck, ("branding", "banners", i, "image"), kinds=IMAGE_TYPES)
    _font_files(ck)
    return _file_exists(ck, ("branding", "templates"), folder=True)


def _font_files(ck: _Checker) -> None:
    """A tenant's own font (`branding.font.file`): each file exists and is a font the
    build can cut and serve (fontTools reads it only here, when there is one)."""
    named = _dict(ck.get(("branding", "font"))).get("file")
    if named is None:  # most tenants: generator.fonts (its dataclasses) is not imported
        return
    from . import fonts

    key = ("branding", "font", "file")
    paths = [(*key, i) for i in range(len(named))] if isinstance(named, list) else [key]
    for path in paths:
        target = _file_exists(ck, path, kinds=fonts.FONT_TYPES)
        if target is not None and target.suffix.lower() in fonts.FONT_TYPES:
            for severity, message in fonts.problems(target):
                ck.report(path, message, severity=severity)


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _service_tree(ck: _Checker) -> dict[str, dict[str, Any]]:
    """Check ids and fields; return {division id: {request id: request}}."""
    groups = _list(ck.get(("divisions",)))
    unique(ck, groups, ("divisions",), "group", "group id")
    tree: dict[str, dict[str, Any]] = {}
    first_at: dict[str, PathT] = {}
    for g, group in enumerate(groups):
        for d, division in enumerate(_list(_dict(group).get("divisions"))):
            dpath: PathT = ("divisions", g, "divisions", d)
            ident = _dict(division).get("id")
            if isinstance(ident, str):
                if ident in first_at:
                    ck.report((*dpath, "id"), f'division id "{ident}" is used twice '
                              f"(first at {format_path(first_at[ident])}); ids are unique "
                              "across all groups")
                else:
                    first_at[ident] = dpath
                    tree[ident] = {}
            requests = _list(_dict(division).get("requests"))
            unique(ck, requests, (*dpath, "requests"), "id", "request id")
            for r, request in enumerate(requests):
                rpath: PathT = (*dpath, "requests", r)
                if isinstance(ident, str) and isinstance(_dict(request).get("id"), str):
                    tree[ident].setdefault(request["id"], request)
                fields = _list(_dict(request).get("fields"))
                unique(ck, fields, (*rpath, "fields"), "id", "field id")
                for f, fdef in enumerate(fields):
                    _field(ck, _dict(fdef), (*rpath, "fields", f))
    return tree


def _field(ck: _Checker, fdef: dict, path: PathT) -> None:
    kind = fdef.get("type")
    if kind in ("select", "multiselect") and "options" not in fdef:
        ck.report(path, f"a {kind} field needs options")
    if "options" in fdef and kind not in ("select", "multiselect"):
        ck.report((*path, "options"), "only select and multiselect fields have options",
                  at_key=True)
    for key in ("min", "max"):
        if key in fdef and kind != "number":
            ck.report((*path, key), f"only number fields have {key}", at_key=True)
    for key in ("multiple", "accept"):
        if key in fdef and kind != "file":
            ck.report((*path, key), f"only file fields have {key}", at_key=True)
    low, high = fdef.get("min"), fdef.get("max")
    if _is_num(low) and _is_num(high) and low > high:
        ck.report((*path, "min"), f"min ({low}) is greater than max ({high})")
    _stages(ck, fdef, path)


def _stages(ck: _Checker, fdef: dict, path: PathT) -> None:
    """A field's modes per ticket status that contradict its other keys."""
    stages = _dict(fdef.get("stages"))
    opening = stages.get("new")
    if fdef.get("required") is True and opening not in (None, "required"):
        ck.report((*path, "stages", "new"), f"the field is required: true, but new is "
                  f"{opening}; stages.new decides when the request is opened, so remove "
                  "required or write new: required")
    if fdef.get("type") == "file":
        for status, mode in stages.items():
            # (at resolved, finished and cancelled the schema itself allows no more)
            if status in ("in_progress", "awaiting_feedback", "feedback_returned") and \
                    mode in ("required", "editable"):
                ck.report((*path, "stages", status), f"a file field is filled when the "
                          f"request is opened; at {status} write read_only or hidden (a "
                          "reply carries its own attachments)")


def _change_request_place(ck: _Checker, tree: dict[str, dict[str, Any]]) -> None:
    """A profile change is about the person: its request must not ask for a place."""
    ref = _dict(ck.get(("modules", "profile", "change_request")))
    request = tree.get(ref.get("division"), {}).get(ref.get("request"))
    if isinstance(request, dict) and "location" in request:
        ck.report(("modules", "profile", "change_request", "request"),
                  f'request "{ref["request"]}" asks for a place (location: '
                  f'{request["location"]}), but a change of personal data opens it with '
                  "none; name a request without location")


def _is_num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _planned(ck: _Checker) -> None:
    """Warn at each module or switch the schema marks `x-planned`: it would do nothing yet.

    Such keys stay valid (a tenant may be written ahead of the release), but --strict
    fails on them, so nobody ships a portal expecting a screen that is not there.
    """
    from .schema import load_schema

    schema = load_schema()["properties"]
    for section, what in (("modules", "module"), ("features", "switch")):
        given = _dict(ck.get((section,)))
        for key, sub in schema[section]["properties"].items():
            # a module is on when listed; a switch only when set to true
            on = key in given and (section == "modules" or given[key] is True)
            if sub.get("x-planned") and on:
                ck.report((section, key), f"the {key} {what} is not available in this release "
                          "yet; it will have no effect", at_key=True, severity="warning")


def _menu(ck: _Checker, theme_name: str) -> None:
    enabled = set(_dict(ck.get(("modules",))))
    groups = {g.get("group") for g in map(_dict, _list(ck.get(("divisions",))))}
    icons = themes.icon_names(theme_name)

    def walk(nodes: list, base: PathT, depth: int, syndic: bool = False) -> None:
        for i, node in enumerate(nodes):
            node, path = _dict(node), (*base, i)
            if depth > MAX_MENU_DEPTH:
                ck.report(path, f"the menu is at most {MAX_MENU_DEPTH} levels deep")
                continue
            module = node.get("module")
            if isinstance(module, str) and module not in enabled and \
                    module in _module_names():
                ck.report((*path, "module"), f'module "{module}" is not enabled; add it under '
                          "modules or remove this entry")
            elif syndic and isinstance(module, str) and module in _module_names() and \
                    not _syndic_modules().get(module):
                offered = ", ".join(m for m, on in _syndic_modules().items() if on)
                ck.report((*path, "module"), f'module "{module}" has no screen in the building '
                          f"manager's portal; use one of: {offered}")
            group = node.get("division_group")
            if isinstance(group, str) and group not in groups:
                hint = did_you_mean(group, [g for g in groups if isinstance(g, str)])
                ck.report((*path, "division_group"), f'no division group "{group}"{hint}')
            icon = node.get("icon")
            if icons and isinstance(icon, str) and icon not in icons:
                hint = did_you_mean(icon, sorted(icons))
                ck.report((*path, "icon"), f'no icon "{icon}" in Bootstrap Icons{hint}')
            if "page" in node:
                _file_exists(ck, (*path, "page"), kinds={".md", ".markdown"})
            walk(_list(node.get("children")), (*path, "children"), depth + 1, syndic)

    walk(_list(ck.get(("menu",))), ("menu",), 1)
    walk(_list(ck.get(("menu_syndic",))), ("menu_syndic",), 1, syndic=True)


def _module_names() -> list[str]:
    from .schema import load_schema

    return list(load_schema()["properties"]["modules"]["properties"])


def _syndic_modules() -> dict[str, bool]:
    """Each module: whether it has screens in the building manager's portal (`x-syndic`)."""
    from .schema import load_schema

    modules = load_schema()["properties"]["modules"]["properties"]
    return {name: bool(sub.get("x-syndic")) for name, sub in modules.items()}


def _branding(ck: _Checker) -> str:
    name = ck.get(("branding", "theme"), "default")
    if not isinstance(name, str):
        return "default"
    theme = themes.get(name)
    if theme is None:
        hint = did_you_mean(name, themes.available())
        ck.report(("branding", "theme"), f'no theme "{name}" under themes/{hint}')
        return "default"
    font = ck.get(("branding", "font"))
    if isinstance(font, str) and font != "system" and font not in theme.fonts:
        hint = did_you_mean(font, [*theme.fonts, "system"])
        ck.report(("branding", "font"), f'theme "{name}" does not ship the font "{font}"{hint} '
                  f"(it ships {', '.join(theme.fonts)}; or write system, or name a font file "
                  "of your own: {file: fonts/Brand.woff2})")
    _contrast(ck)
    return name


def _contrast(ck: _Checker) -> None:
    """Warn when a colour pair the consultant set (one side may be a default) is hard to read."""
    from .schema import load_schema

    colour_schema = load_schema()["properties"]["branding"]["properties"]["colors"]["properties"]
    given = _dict(ck.get(("branding", "colors")))
    if "text" not in given and "background" not in given:
        return
    text = given.get("text", colour_schema["text"]["default"])
    background = given.get("background", colour_schema["background"]["default"])
    pattern = re.compile(r"^#[0-9A-Fa-f]{6}$")
    if isinstance(text, str) and isinstance(background, str) and pattern.match(text) \
            and pattern.match(background):
        ratio = colours.contrast(text, background)
        if ratio < colours.AA:
            ck.report(("branding", "colors", "text"),
                      f"text {text} on background {background} has contrast {ratio:.2f}:1, "
                      "under the WCAG AA minimum of 4.5:1", severity="warning")


def check_document(doc: Document) -> list[Diagnostic]:
    """Every diagnostic for a loaded document, sorted by file and position."""
    ck = _Checker(doc)
    _secrets(ck, doc.data, ())
    _schema_errors(ck)
    theme_name = _branding(ck)
    templates = _files(ck)
    if templates is not None:
        from . import overrides  # only for a tenant that has overrides

        ck.out.extend(overrides.check(templates, themes.get(theme_name).folder / "templates"))
    tree = _service_tree(ck)
    crosscheck.check(ck, load_schema(), tree)  # the modules' x- keywords
    _change_request_place(ck, tree)
    _planned(ck)
    _menu(ck, theme_name)
    ck.out.extend(language.check(doc))
    return sort_diagnostics([*doc.warnings, *ck.out])


def validate_file(file: str) -> Result:
    """Load and check one tenant file (and its bases)."""
    try:
        doc = load(file)
    except TenantError as exc:
        return Result(file, None, sort_diagnostics(exc.diagnostics))
    return Result(file, doc, check_document(doc))
