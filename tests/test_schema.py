"""The published schema is the one the validator uses, and it describes the whole format."""

from __future__ import annotations

import json

import pytest
from ruamel.yaml import YAML

from cli import main
from generator.resolve import _deref
from generator.schema import CORE_PATH, SCHEMA_PATH, assemble, load_schema, render, validator
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
    # `"type": ["string", "object"]`: a key that is a name or a mapping (branding.font)
    if "object" in (kinds if isinstance(kinds := schema.get("type"), list) else [kinds]):
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


def test_published_schema_file_is_the_assembly_of_core_and_module_fragments(runner):
    """schemas/tenant.schema.json (editors) is exactly what the fragments assemble into.

    After changing a fragment or the core: `portal schema > schemas/tenant.schema.json`.
    """
    assert SCHEMA_PATH.parent.name == "schemas"
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render(assemble())
    assert runner.invoke(main, ["schema"]).output == SCHEMA_PATH.read_text(encoding="utf-8")


def test_each_module_schema_lives_in_its_folder_and_the_menu_enum_lists_them():
    modules = load_schema()["properties"]["modules"]["properties"]
    folders = {p.parent.name for p in (ROOT / "runtime" / "modules").glob("*/schema.json")}
    assert set(modules) == folders and {"notices", "finance", "vouchers"} <= folders
    menu_module = load_schema()["$defs"]["menu_node"]["properties"]["module"]
    assert menu_module["enum"] == list(modules)
    core = json.loads(CORE_PATH.read_text(encoding="utf-8"))  # the core names no module
    assert core["properties"]["modules"]["properties"] == {}
    assert not any(name in CORE_PATH.read_text(encoding="utf-8") for name in
                   ('"notices"', '"finance"', '"survey"'))


def test_the_schema_is_a_valid_2020_12_schema():
    """The validator trusts the schema (checking it took 50 ms of every `portal validate`):
    a fragment with a mistyped keyword value fails here instead."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    Draft202012Validator.check_schema(load_schema())
    broken = json.loads(json.dumps(load_schema()))
    broken["properties"]["modules"]["properties"]["faq"]["type"] = "mapping"
    with pytest.raises(SchemaError):
        Draft202012Validator.check_schema(broken)
