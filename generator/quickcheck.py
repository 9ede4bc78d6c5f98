"""A quick yes for a tenant document the schema accepts, without importing jsonschema.

Most documents `portal validate` and `portal build` see are valid, and importing
jsonschema (with attrs, referencing and the metaschemas) costs about 40 ms of a
validation that otherwise takes a hundred. This walker knows the keywords the tenant
schema uses, with Draft 2020-12's meaning (jsonschema's: `1.0` is an integer, `true` is
not `1`); the first thing it does not know, or the first problem it meets, hands the
document to jsonschema, which finds every problem and explains each. So it only ever
answers "valid"; tests/test_batch.py checks it agrees with jsonschema on thousands of
altered documents.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

# keywords that say nothing about validity
_ANNOTATIONS = {"$schema", "$id", "$defs", "$comment", "title", "description", "default",
                "examples"}


class _Unsure(Exception):
    """A keyword this walker does not know: jsonschema decides."""


def accepts(schema: dict, instance: Any, formats: dict[str, Callable[[Any], bool]]) -> bool:
    """True only when `instance` is valid against `schema` (with these format checks)."""
    try:
        return _valid(schema, instance, _Context(schema, formats))
    except _Unsure:
        return False


class _Context:
    def __init__(self, root: dict, formats: dict[str, Callable[[Any], bool]]):
        self.root, self.formats = root, formats

    def resolve(self, ref: str) -> Any:
        if not ref.startswith("#/"):
            raise _Unsure(ref)
        target: Any = self.root
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or part not in target:
                raise _Unsure(ref)
            target = target[part]
        return target


def _valid(schema: Any, instance: Any, ctx: _Context) -> bool:
    if schema is True or schema is False:
        return schema
    if not isinstance(schema, dict):
        raise _Unsure(schema)
    for key, value in schema.items():
        check = _KEYWORDS.get(key)
        if check is None:
            if key in _ANNOTATIONS or key.startswith("x-"):
                continue
            raise _Unsure(key)
        if not check(value, instance, schema, ctx):
            return False
    return True


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_TYPES: dict[str, Callable[[Any], bool]] = {
    "null": lambda v: v is None,
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: _is_number(v) and (isinstance(v, int) or v.is_integer()),
    "number": _is_number,
    "string": lambda v: isinstance(v, str),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def _type(value: Any, instance: Any, schema: dict, ctx: _Context) -> bool:
    names = value if isinstance(value, list) else [value]
    if any(name not in _TYPES for name in names):
        raise _Unsure(value)
    return any(_TYPES[name](instance) for name in names)


def _equal(one: Any, two: Any) -> bool:
    """JSON equality: `true` is not `1`, `1` is `1.0`, lists and mappings compared deeply."""
    if isinstance(one, bool) or isinstance(two, bool):
        return type(one) is type(two) and one == two
    if isinstance(one, list) and isinstance(two, list):
        return len(one) == len(two) and all(map(_equal, one, two))
    if isinstance(one, dict) and isinstance(two, dict):
        return one.keys() == two.keys() and all(_equal(one[k], two[k]) for k in one)
    if isinstance(one, list | dict) or isinstance(two, list | dict):
        return False
    return one == two


def _properties(value: dict, instance: Any, schema: dict, ctx: _Context) -> bool:
    return not isinstance(instance, dict) or all(
        _valid(sub, instance[key], ctx) for key, sub in value.items() if key in instance)


def _additional(value: Any, instance: Any, schema: dict, ctx: _Context) -> bool:
    if "patternProperties" in schema:
        raise _Unsure("patternProperties")
    if not isinstance(instance, dict):
        return True
    known = schema.get("properties", {})
    return all(_valid(value, item, ctx) for key, item in instance.items() if key not in known)


def _items(value: Any, instance: Any, schema: dict, ctx: _Context) -> bool:
    if "prefixItems" in schema:
        raise _Unsure("prefixItems")
    return not isinstance(instance, list) or all(_valid(value, item, ctx) for item in instance)


def _unique(value: bool, instance: Any, schema: dict, ctx: _Context) -> bool:
    if not value or not isinstance(instance, list):
        return True
    return not any(_equal(a, b) for i, a in enumerate(instance) for b in instance[i + 1:])


def _format(value: str, instance: Any, schema: dict, ctx: _Context) -> bool:
    check = ctx.formats.get(value)
    return check is None or check(instance)  # a format nobody checks is an annotation


def _when(kind: Callable[[Any], bool], test: Callable[[Any, Any], bool]):
    """A keyword that applies to one kind of value only (minLength to text...)."""
    return lambda value, instance, schema, ctx: not kind(instance) or test(value, instance)


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _is_list(value: Any) -> bool:
    return isinstance(value, list)


def _is_mapping(value: Any) -> bool:
    return isinstance(value, dict)


_KEYWORDS: dict[str, Callable[[Any, Any, dict, _Context], bool]] = {
    "type": _type,
    "$ref": lambda value, instance, schema, ctx: _valid(ctx.resolve(value), instance, ctx),
    "properties": _properties,
    "additionalProperties": _additional,
    "required": _when(_is_mapping, lambda value, inst: all(key in inst for key in value)),
    "minProperties": _when(_is_mapping, lambda value, inst: len(inst) >= value),
    "items": _items,
    "minItems": _when(_is_list, lambda value, inst: len(inst) >= value),
    "maxItems": _when(_is_list, lambda value, inst: len(inst) <= value),
    "uniqueItems": _unique,
    "enum": lambda value, instance, schema, ctx: any(_equal(instance, e) for e in value),
    "const": lambda value, instance, schema, ctx: _equal(instance, value),
    "pattern": _when(_is_text, lambda value, inst: re.search(value, inst) is not None),
    "minLength": _when(_is_text, lambda value, inst: len(inst) >= value),
    "maxLength": _when(_is_text, lambda value, inst: len(inst) <= value),
    "minimum": _when(_is_number, lambda value, inst: inst >= value),
    "maximum": _when(_is_number, lambda value, inst: inst <= value),
    "exclusiveMinimum": _when(_is_number, lambda value, inst: inst > value),
    "exclusiveMaximum": _when(_is_number, lambda value, inst: inst < value),
    "format": _format,
    "oneOf": lambda value, instance, schema, ctx: sum(
        _valid(sub, instance, ctx) for sub in value) == 1,
}
