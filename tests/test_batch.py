"""`portal build` of many tenants: unchanged ones skipped, the others built on every core,
with the same result as one at a time; and what `portal validate` and a no-change rebuild
do not load (issue 14: both are commands consultants run all day)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cli import main
from generator import loader
from generator.validate import validate_file
from tests.conftest import ROOT

TENANT = """\
schema_version: 1
extends: {base}
tenant:
  id: {ident}
  name: Construtora {ident}
  locale: pt-BR
  support_email: atendimento@{ident}.example.com
branding:
  logo: ../_assets/logo.svg
  colors: {{ primary: "{colour}" }}
"""


def _fleet(folder: Path, count: int, base: str = "../_base/construtora.yaml") -> list[Path]:
    """`count` tenants extending one base (the shape of a real fleet), plus their assets."""
    shutil.copytree(ROOT / "tenants" / "_base", folder / "_base")
    shutil.copytree(ROOT / "tenants" / "aurora" / "assets", folder / "_assets")
    files = []
    for i in range(count):
        path = folder / f"t{i}" / "tenant.yaml"
        path.parent.mkdir(parents=True)
        path.write_text(TENANT.format(base=base, ident=f"t{i}", colour=f"#0B4F{i:02d}"))
        files.append(path)
    return files


def _build(runner, folder: Path, out: Path, *extra: str):
    return runner.invoke(main, ["build", "--all", str(folder), "--out", str(out), *extra])


def _releases(out: Path) -> dict[str, str]:
    return {p.name: (p / "release").readlink().name for p in sorted(out.iterdir())
            if (p / "release").is_symlink()}


def test_an_unchanged_fleet_rebuilds_nothing_and_a_changed_base_rebuilds_its_tenants(
        runner, tmp_path):
    folder, out = tmp_path / "tenants", tmp_path / "out"
    _fleet(folder, 4)
    # a tenant on another base: the change below is not its business
    shutil.copy(folder / "_base" / "construtora.yaml", folder / "_base" / "other.yaml")
    other = folder / "t9" / "tenant.yaml"
    other.parent.mkdir()
    other.write_text(TENANT.format(base="../_base/other.yaml", ident="t9", colour="#123456"))

    first = _build(runner, folder, out, "--jobs", "2")
    assert first.exit_code == 0, first.output
    assert "built 5 instance(s) in" in first.output
    assert "(5 changed, 0 unchanged, 0 of them skipped" in first.output
    before = _releases(out)
    assert len(set(before.values())) == 5

    again = _build(runner, folder, out, "--jobs", "2")
    assert again.exit_code == 0 and "(0 changed, 5 unchanged, 5 of them skipped" in again.output
    assert _releases(out) == before

    base = folder / "_base" / "construtora.yaml"
    base.write_text(base.read_text().replace("sla_hours: 72", "sla_hours: 96"))
    third = _build(runner, folder, out, "--jobs", "2")
    assert third.exit_code == 0 and "(4 changed, 1 unchanged, 1 of them skipped" in third.output
    after = _releases(out)
    assert after["t9"] == before["t9"]
    assert all(after[t] != before[t] for t in ("t0", "t1", "t2", "t3"))
    config = json.loads((out / "t2" / "release" / "config.json").read_text())
    assert config["divisions"][0]["divisions"][0]["sla_hours"] == 96


def test_building_on_every_core_gives_the_releases_of_one_at_a_time(runner, tmp_path):
    folder = tmp_path / "tenants"
    _fleet(folder, 5)
    assert _build(runner, folder, tmp_path / "one", "--jobs", "1").exit_code == 0
    assert _build(runner, folder, tmp_path / "many", "--jobs", "3").exit_code == 0
    assert _releases(tmp_path / "one") == _releases(tmp_path / "many")
    assert len(_releases(tmp_path / "many")) == 5


def test_a_refused_tenant_built_by_a_worker_is_reported_and_the_rest_are_built(runner,
                                                                              tmp_path):
    folder, out = tmp_path / "tenants", tmp_path / "out"
    files = _fleet(folder, 4)
    files[2].write_text(files[2].read_text().replace("locale: pt-BR", "locale: klingon"))
    result = _build(runner, folder, out, "--jobs", "2")
    assert result.exit_code == 1
    assert "t2/tenant.yaml:6:11: tenant.locale: expected one of" in result.output
    assert "built 3 instance(s)" in result.output and "; 1 failed" in result.output
    assert sorted(_releases(out)) == ["t0", "t1", "t3"]
    fixed = files[2].read_text().replace("locale: klingon", "locale: pt-BR")
    files[2].write_text(fixed)
    again = _build(runner, folder, out, "--jobs", "2")
    assert again.exit_code == 0 and "(1 changed, 3 unchanged, 3 of them skipped" in again.output


def test_jobs_must_be_a_positive_number(runner, tmp_path):
    result = _build(runner, ROOT / "tenants", tmp_path, "--jobs", "0")
    assert result.exit_code == 2 and "--jobs" in result.output
    assert "Traceback" not in result.output


def test_a_base_named_by_two_paths_is_parsed_once_and_each_tenant_shows_its_own(tmp_path,
                                                                                 monkeypatch):
    folder = tmp_path / "tenants"
    a, b = _fleet(folder, 2)
    base = folder / "_base" / "construtora.yaml"
    # a trap in the base that the loader warns about: `{ text: De 0 a 10, quanto? }`
    base.write_text(base.read_text() + "footer_text: { text: De 0 a 10, quanto? }\n")
    parsed = []
    original = loader._parse
    monkeypatch.setattr(loader, "_parse", lambda file: parsed.append(file) or original(file))
    warnings = {}
    for tenant in (a, b):
        result = validate_file(str(tenant))
        warnings[tenant] = [d for d in result.diagnostics if "a comma inside" in d.message]
    assert parsed.count(str(a.parent / "../_base/construtora.yaml")) == 1
    assert not any("t1/../_base" in f for f in parsed)
    for tenant in (a, b):  # each tenant's diagnostics name the base as that tenant does
        assert [d.file for d in warnings[tenant]] == [
            str(tenant.parent / "../_base/construtora.yaml")]


def _modules_loaded(args: list[str], prefixes: tuple[str, ...]) -> list[str]:
    """The modules of `prefixes` a fresh `portal ARGS` process imported."""
    code = ("import sys, cli; from click.testing import CliRunner; "
            f"r = CliRunner().invoke(cli.main, {args!r}); "
            "assert r.exit_code == 0, r.output; "
            "import json; print(json.dumps(sorted(m for m in sys.modules "
            f"if m.split('.')[0] in {prefixes!r})))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


HEAVY = ("jinja2", "fontTools", "PIL", "babel", "markdown_it", "nh3", "yaml", "flask")


def test_validate_loads_no_build_library(tenant_file):
    # the minimal tenant has no template overrides (nothing needs Jinja), is valid (no need of
    # jsonschema's explanations) and has an everyday e-mail address
    assert _modules_loaded(["validate", str(tenant_file)],
                           (*HEAVY, "jsonschema", "email_validator")) == []
    tenant_file.write_text(tenant_file.read_text().replace("locale: en", "locale: klingon"))
    code = ("import sys, cli; from click.testing import CliRunner; "
            f"r = CliRunner().invoke(cli.main, ['validate', {str(tenant_file)!r}]); "
            "print(r.exit_code, 'jsonschema' in sys.modules); print(r.output)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    assert out.startswith("1 True") and "tenant.locale: expected one of: pt-BR, en, es" in out


def test_a_rebuild_where_nothing_changed_loads_neither_the_build_nor_the_validator(
        runner, tmp_path):
    from generator import incremental

    folder, out = tmp_path / "tenants", tmp_path / "out"
    _fleet(folder, 2)
    incremental.toolchain_fingerprint.cache_clear()  # as the next process computes it
    assert _build(runner, folder, out).exit_code == 0
    loaded = _modules_loaded(["build", "--all", str(folder), "--out", str(out)],
                             (*HEAVY, "jsonschema", "ruamel", "generator"))
    assert "generator.build" not in loaded and "generator.validate" not in loaded
    assert [m for m in loaded if not m.startswith(("generator", "ruamel"))] == []


@pytest.mark.parametrize(("zone", "valid"), [
    ("America/Sao_Paulo", True), ("UTC", True), ("America/Argentina/Buenos_Aires", True),
    ("America/Sao_Paolo", False), ("America", False), ("Mars/Olympus", False), ("", False),
    ("../../etc/passwd", False), ("/usr/share/zoneinfo/UTC", False), ("posixrules", False),
    ("posix/UTC", False), ("zone.tab", False),
])
def test_time_zones_are_those_the_runtime_can_load(zone, valid):
    from generator.schema import format_checker

    assert format_checker.conforms(zone, "iana-timezone") is valid


def test_two_tenant_files_with_one_id_are_refused_and_the_instance_is_whole(runner, tmp_path):
    folder, out = tmp_path / "tenants", tmp_path / "out"
    files = _fleet(folder, 4)
    files[3].write_text(files[3].read_text().replace("id: t3", "id: t1"))
    result = _build(runner, folder, out, "--jobs", "2")
    assert result.exit_code == 1
    assert (f'{files[3]}:4:7: tenant.id: "t1" is also the id of {files[1]}: both build '
            f"{out / 't1'}, the last one over the other") in result.output
    assert "built 3 instance(s)" in result.output and "; 1 failed" in result.output
    # the instance is whole, and the last file's (as when they were built one at a time)
    config = json.loads((out / "t1" / "release" / "config.json").read_text())
    assert config["tenant"]["name"] == "Construtora t3"
    again = _build(runner, folder, out, "--jobs", "2")
    assert again.exit_code == 1 and 'tenant.id: "t1" is also the id of' in again.output


def _addresses(count: int) -> list[str]:
    """Addresses near the everyday form, and the traps around it."""
    import random

    rng = random.Random(14)
    parts = ["a", "ana", "Lima", "x1", "9"] * 6 + ["_", "-", "+", "."] * 2 + [
        "..", "xn--", "a-", "-b", "é", " ", '"', "@", "o" * 64, "p" * 70]
    tlds = ["com", "br", "co.uk"] * 8 + [
        "c", "c1", "123", "test", "local", "localhost", "onion", "arpa", "invalid", "example",
        "q" * 63, "Q" * 64, "xn--p1ai", "com-", ""]
    found = []
    for _ in range(count):
        local = "".join(rng.choice(parts) for _ in range(rng.randint(1, 4)))
        labels = ["".join(rng.choice(parts) for _ in range(rng.randint(1, 3)))
                  for _ in range(rng.randint(0, 3))]
        found.append(f"{local}@{'.'.join([*labels, rng.choice(tlds)])}")
    return found


def test_everyday_addresses_skip_email_validator_and_get_its_verdict():
    """The schema's e-mail check answers alone for the everyday form (email_validator's
    import costs 20 ms of `portal validate`); it must never accept what the one e-mail rule
    (email_validator, runtime/emails.py) refuses."""
    import email_validator

    from generator.schema import _SPECIAL_USE_TLDS, _everyday_email, format_checker
    from runtime.emails import is_email
    from tests.test_emails import ADDRESSES

    assert set(email_validator.SPECIAL_USE_DOMAIN_NAMES) <= _SPECIAL_USE_TLDS
    addresses = [a for a, _ in ADDRESSES] + _addresses(6000) + [
        "atendimento@aurora.com.br", "a@b.co", f"{'a' * 64}@x.com", f"{'a' * 240}@example.com",
        f"a@{'b' * 63}.com", f"a@{'b' * 64}.com", "a@x.test", "a@sub.localhost"]
    everyday = [a for a in addresses if _everyday_email(a)]
    assert len(everyday) > 300 and "atendimento@aurora.com.br" in everyday
    for address in addresses:
        verdict = is_email(address) if address == address.strip() else None
        if verdict is not None:
            assert format_checker.conforms(address, "email") is verdict, address
    for address in everyday:
        email_validator.validate_email(address, check_deliverability=False)


VALUES = [None, True, False, 0, 1, 1.0, 2.5, -1, 10**6, "", "x", "pt-BR", "#0B4F8A", "Inter",
          "America/Sao_Paulo", "Mars/Olympus", "a@b.co", "a@b", "notices", [], ["x"], [1, 1],
          {}, {"x": 1}, {"id": "x"}]


def _paths(node, path=()):
    yield path
    children = node.items() if isinstance(node, dict) else enumerate(node) \
        if isinstance(node, list) else ()
    for key, child in children:
        yield from _paths(child, (*path, key))


def _altered(document: dict, rng) -> dict:
    """`document` with one to three random changes: a value replaced, a key dropped or added,
    a list item repeated."""
    import copy

    doc = copy.deepcopy(document)
    for _ in range(rng.randint(1, 3)):
        path = rng.choice(list(_paths(doc))[1:])
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        last, roll = path[-1], rng.random()
        if roll < 0.6:
            parent[last] = copy.deepcopy(rng.choice(VALUES))
        elif roll < 0.75 and isinstance(parent, dict):
            del parent[last]
        elif roll < 0.9 and isinstance(parent, dict):
            parent["zz_unknown"] = 1
        elif isinstance(parent, list):
            parent.append(copy.deepcopy(parent[last]))
    return doc


def test_the_quick_check_says_valid_exactly_when_jsonschema_finds_nothing():
    """`portal validate` skips jsonschema for a document generator/quickcheck.py accepts: it
    must never accept a document jsonschema refuses (and should accept the valid ones)."""
    import random

    from generator.loader import load
    from generator.schema import accepts, validator

    rng = random.Random(14)
    documents = [load(str(f)).data for f in (
        ROOT / "tenants/aurora/tenant.yaml", ROOT / "tenants/northwind/tenant.yaml",
        ROOT / "tests/fixtures/tenants/minimal/tenant.yaml",
        ROOT / "tests/fixtures/tenants/desk/tenant.yaml")]
    verdicts = {True: 0, False: 0}
    for document in [*documents, *(_altered(rng.choice(documents), rng) for _ in range(1500))]:
        valid = next(iter(validator().iter_errors(document)), None) is None
        assert accepts(document) is valid, document
        verdicts[valid] += 1
    assert verdicts[True] > 150 and verdicts[False] > 700


@pytest.mark.parametrize(("schema", "instance"), [
    ({"type": "integer"}, 1.0), ({"type": "integer"}, True), ({"type": "number"}, True),
    ({"type": ["string", "null"]}, None), ({"enum": [1]}, True), ({"enum": [1]}, 1.0),
    ({"enum": [[1, "a"]]}, [1, "a"]), ({"const": False}, 0), ({"minimum": 1}, 0),
    ({"minimum": 1}, 1), ({"minimum": 1}, True), ({"exclusiveMinimum": 0}, 0),
    ({"maximum": 5}, 5.5), ({"maximum": 5}, "x"), ({"uniqueItems": True}, [1, True]),
    ({"uniqueItems": True}, [1, 1.0]), ({"uniqueItems": True}, [{"a": 1}, {"a": 1}]),
    ({"maxLength": 2}, "abc"), ({"minLength": 1}, ""), ({"pattern": "^a"}, "ba"),
    ({"pattern": "b"}, "ab"), ({"minItems": 1}, []), ({"maxItems": 1}, [1, 2]),
    ({"minProperties": 1}, {}), ({"required": ["a"]}, "not a mapping"),
    ({"oneOf": [{"type": "string"}, {"minLength": 1}]}, "x"),
    ({"oneOf": [{"type": "string"}, {"minLength": 1}]}, 3),
    ({"items": {"type": "string"}}, ["a", 1]),
    ({"properties": {"a": {}}, "additionalProperties": False}, {"a": 1, "b": 2}),
    ({"properties": {"a": {}}, "additionalProperties": {"type": "string"}}, {"a": 1, "b": "x"}),
    ({"$ref": "#/$defs/s", "$defs": {"s": {"type": "string"}}, "minLength": 2}, "x"),
])
def test_the_quick_check_keywords_mean_what_they_mean_to_jsonschema(schema, instance):
    from jsonschema import Draft202012Validator

    from generator import quickcheck

    expected = Draft202012Validator(schema).is_valid(instance)
    assert quickcheck.accepts(schema, instance, {}) is expected


def test_the_quick_check_leaves_a_keyword_it_does_not_know_to_jsonschema():
    from generator import quickcheck

    assert quickcheck.accepts({"type": "integer"}, 1, {})
    assert not quickcheck.accepts({"anyOf": [{"type": "integer"}]}, 1, {})
    assert not quickcheck.accepts({"$ref": "other.json#/x"}, 1, {})


def test_a_fleet_built_with_all_has_the_files_of_each_tenant_built_alone(runner, tmp_path):
    """Workers share what tenants have in common (files linked, not written again): every
    release must still hold, file by file, what `portal build` of its tenant alone writes,
    and no symbolic link (a release copied alone must be whole)."""
    from generator.build import build

    folder = tmp_path / "tenants"
    _fleet(folder, 4)
    for sample in ("aurora", "northwind"):  # pages, banners, overrides, a font of its own
        shutil.copytree(ROOT / "tenants" / sample, folder / sample)
    result = _build(runner, folder, tmp_path / "all", "--jobs", "2")
    assert result.exit_code == 0, result.output
    together = _releases(tmp_path / "all")
    assert len(together) == 6
    for file in sorted(folder.glob("*/tenant.yaml")):
        alone = build(str(file), tmp_path / "alone")
        assert together[alone.tenant_id] == alone.release
        release = tmp_path / "all" / alone.tenant_id / "release"
        assert not [p for p in release.resolve().rglob("*") if p.is_symlink()]
        files = _tree(release)
        assert "config.json" in files and len(files) > 30
        assert files == _tree(alone.instance / "release"), alone.tenant_id


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}
