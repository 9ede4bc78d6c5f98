"""Cross-checks a module's schema fragment declares with `x-` keywords, run on a document.

JSON Schema cannot say "these ids are unique", "this names a request of the service tree"
or "end is later than start"; a fragment says it once, next to the key, and this walker
checks every such key of a tenant file (the validator ignores `x-` keywords):

- `x-unique: {key, what}` on a list: each item's `key` is used once.
- `x-ref: "service-request"` on a {division, request} mapping: both exist in the tree.
- `x-placeholders: {allowed, aliases}` on a text: only those `{...}` placeholders.
- `x-needs: [{when, key, message}]` on a mapping: `key` is present when `when` (a key that is
  set, or {key: [values]}) holds; `message` may name the mapping's values as `{key}`.
- `x-later: {key, than}` on a mapping: the value of `key` is after the value of `than`.
"""

from __future__ import annotations

import difflib
from typing import Any

from .loader import PathT, format_path

Tree = dict[str, dict[str, Any]]


def _deref(schema: dict, root: dict) -> dict:
    while "$ref" in schema:
        target = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target[part]
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def check(ck, root: dict, tree: Tree) -> None:
    """Run every `x-` cross-check of the schema `root` on the checked document."""
    _walk(ck, root, ck.data, (), root, tree)


def _walk(ck, schema: dict, value: Any, path: PathT, root: dict, tree: Tree) -> None:
    schema = _deref(schema, root)
    for keyword, run in KEYWORDS.items():
        if keyword in schema:
            run(ck, schema[keyword], value, path, tree)
    if isinstance(value, dict):
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                _walk(ck, sub, value[key], (*path, key), root, tree)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            _walk(ck, schema["items"], item, (*path, i), root, tree)


def unique(ck, items: Any, base: PathT, key: str, what: str) -> None:
    """Report each item whose `key` repeats an earlier item's, pointing at the first."""
    seen: dict[str, int] = {}
    for i, item in enumerate(items if isinstance(items, list) else []):
        ident = item.get(key) if isinstance(item, dict) else None
        if not isinstance(ident, str):
            continue
        if ident in seen:
            ck.report((*base, i, key), f'{what} "{ident}" is used twice '
                      f"(first at {format_path((*base, seen[ident]))})")
        else:
            seen[ident] = i


def _unique(ck, spec: dict, value: Any, path: PathT, _tree: Tree) -> None:
    unique(ck, value, path, spec["key"], spec["what"])


def _ref(ck, kind: str, value: Any, path: PathT, tree: Tree) -> None:
    from .validate import did_you_mean

    if kind != "service-request":
        raise ValueError(f"unknown x-ref kind {kind!r} in the schema")
    if not isinstance(value, dict):
        return
    division, request = value.get("division"), value.get("request")
    if not isinstance(division, str) or not isinstance(request, str):
        return
    if division not in tree:
        hint = did_you_mean(division, list(tree))
        ck.report((*path, "division"), f'no division "{division}" in the service tree{hint}')
    elif request not in tree[division]:
        hint = did_you_mean(request, list(tree[division]))
        ck.report((*path, "request"), f'division "{division}" has no request "{request}"{hint}')


def _placeholders(ck, spec: dict, value: Any, path: PathT, _tree: Tree) -> None:
    import re

    if not isinstance(value, str):
        return
    allowed = spec["allowed"]
    for found in re.findall(r"\{[^}]*\}", value):
        if found not in allowed:
            close = ([spec["aliases"][found]] if found in spec.get("aliases", {})
                     else difflib.get_close_matches(found, allowed, n=1, cutoff=0.75))
            hint = f'; did you mean "{close[0]}"?' if close else ""
            ck.report(path, f"unknown placeholder {found}; use {', '.join(allowed)}{hint}")


def _holds(when: str | dict, value: dict) -> bool:
    if isinstance(when, str):
        return bool(value.get(when))
    return all(value.get(key) in choices for key, choices in when.items())


def _needs(ck, rules: list, value: Any, path: PathT, _tree: Tree) -> None:
    if not isinstance(value, dict):
        return
    for rule in rules:
        if _holds(rule["when"], value) and rule["key"] not in value:
            words = {k: v for k, v in value.items() if isinstance(v, str)}
            # a mapping under a key is pointed at by its key; a list item, by the item
            ck.report(path, rule["message"].format_map(_Blank(words)),
                      at_key=bool(path) and isinstance(path[-1], str))


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "?"


def _later(ck, spec: dict, value: Any, path: PathT, _tree: Tree) -> None:
    if not isinstance(value, dict):
        return
    late, early = value.get(spec["key"]), value.get(spec["than"])
    # compared only when both have the same form (two HH:MM times, two numbers)
    comparable = (isinstance(late, str) and isinstance(early, str) and len(late) == len(early)) \
        or all(isinstance(v, int | float) and not isinstance(v, bool) for v in (late, early))
    if comparable and early >= late:
        ck.report((*path, spec["key"]),
                  f"{spec['key']} ({late}) must be later than {spec['than']} ({early})")


KEYWORDS = {"x-unique": _unique, "x-ref": _ref, "x-placeholders": _placeholders,
            "x-needs": _needs, "x-later": _later}
