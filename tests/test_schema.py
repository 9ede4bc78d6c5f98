"""The published schema is the one the validator uses, and it describes the whole format."""

from __future__ import annotations

import json

from ruamel.yaml import YAML

from cli import main
from generator.resolve import _deref
from generator.schema import SCHEMA_PATH, load_schema, validator
from tests.conftest import ROOT

REFERENCE = ROOT / "tests" / "fixtures" / "reference" / "tenant-reference.yaml"


def test_portal_schema_prints_the_schema_the_validator_uses(runner):
    result = runner.invoke(main, ["schema"])
    assert result.exit_code == 0
    published = json.loads(result.output)
    assert published == load_schema() == validator().schema
    assert published["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def _walk(schema: dict, root: dict, path: str, seen: list):
    schema = _deref(schema, root)
    if schema.get("type") == "object":
        seen.append((path, schema))
        for key, sub in schema.get("properties", {}).items():
            _walk(sub, root, f"{path}.{key}", seen)
    if "items" in schema and path.count("[]") < 4:
        _walk(schema["items"], root, f"{path}[]", seen)


def test_every_object_is_closed_and_every_key_is_described():
    root = load_schema()
    seen: list = []
    _walk(root, root, "$", seen)
    assert len(seen) > 30
    for path, schema in seen:
        assert schema.get("additionalProperties") is False, path
        for key, sub in schema.get("properties", {}).items():
            sub = {**_deref(sub, root), **sub}
            assert sub.get("description"), f"{path}.{key} has no description"


def _schema_at(root: dict, keys: list) -> dict | None:
    node = root
    for key in keys:
        node = _deref(node, root)
        if key == "[]":
            node = node.get("items")
        else:
            node = node.get("properties", {}).get(key)
        if node is None:
            return None
    return node


def _yaml_paths(data, prefix=()):
    if isinstance(data, dict):
        for key, value in data.items():
            yield (*prefix, key)
            yield from _yaml_paths(value, (*prefix, key))
    elif isinstance(data, list):
        for item in data:
            yield from _yaml_paths(item, (*prefix, "[]"))


def test_every_key_of_the_reference_format_is_in_the_schema():
    data = YAML(typ="safe", pure=True).load(REFERENCE.read_text(encoding="utf-8"))
    root = load_schema()
    paths = set(_yaml_paths(data))
    # the reference's own YAML trap splits one survey text at its comma (see the validator)
    paths = {p for p in paths if not p[-1].startswith("quanto")}
    missing = [".".join(p) for p in sorted(paths) if _schema_at(root, list(p)) is None]
    assert missing == []


def test_published_schema_file_is_the_source(tmp_path):
    assert SCHEMA_PATH.parent.name == "schemas"
    assert json.loads(SCHEMA_PATH.read_text()) == load_schema()
