"""The build: deterministic, atomic, and never touching data."""

from __future__ import annotations

import filecmp
import json
import os
import re
from pathlib import Path

import pytest

from generator.build import build
from generator.diagnostics import TenantError
from tests.conftest import ROOT, add_user, make_app


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_input_gives_byte_identical_output(tenant_file, tmp_path):
    a = build(str(tenant_file), tmp_path / "a")
    b = build(str(tenant_file), tmp_path / "b")
    assert a.release == b.release
    assert _tree(a.instance / "release") == _tree(b.instance / "release")
    assert (a.instance / "wsgi.py").read_bytes() == (b.instance / "wsgi.py").read_bytes()
    assert not any(re.search(rb"20\d\d-\d\d-\d\dT", data)
                   for data in _tree(a.instance / "release").values())


def test_a_rebuild_without_changes_writes_nothing(tenant_file, tmp_path):
    first = build(str(tenant_file), tmp_path / "out")
    again = build(str(tenant_file), tmp_path / "out")
    assert first.changed and not again.changed
    assert again.release == first.release


def test_a_failing_build_leaves_the_previous_instance_untouched(tenant_file, tmp_path,
                                                              monkeypatch):
    good = build(str(tenant_file), tmp_path / "out")
    before = _tree(good.instance / "release")
    text = tenant_file.read_text()
    tenant_file.write_text(text.replace('primary: "#F2A900"', "primary: red"))
    with pytest.raises(TenantError):
        build(str(tenant_file), tmp_path / "out")
    tenant_file.write_text(text.replace('primary: "#F2A900"', 'primary: "#123456"'))

    def crash(root, output):  # the disk fills up half-way through writing
        (root / "config.json").parent.mkdir(parents=True, exist_ok=True)
        (root / "config.json").write_text("{")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("generator.build._write_files", crash)
    with pytest.raises(OSError):
        build(str(tenant_file), tmp_path / "out")
    assert _tree(good.instance / "release") == before
    assert os.readlink(good.instance / "release") == f".releases/{good.release}"
    assert [p.name for p in (good.instance / ".releases").iterdir()] == [good.release]


def test_rebuilding_with_a_changed_yaml_keeps_every_row(tenant_file, tmp_path):
    first = build(str(tenant_file), tmp_path / "out")
    app = make_app(first.instance)
    add_user(app)
    tenant_file.write_text(tenant_file.read_text().replace("Minimal Homes", "Minimal Homes Ltd"))
    second = build(str(tenant_file), tmp_path / "out")
    assert second.release != first.release
    app = make_app(second.instance)
    from runtime.models import User

    with app.app_context():
        assert [u.email for u in User.query.all()] == ["maria@example.com"]
        assert app.extensions["portal"]["tenant"]["name"] == "Minimal Homes Ltd"


def test_theme_css_defines_colour_tokens_with_readable_text(built_instance):
    config = json.loads((built_instance / "release" / "config.json").read_text())
    css = (built_instance / "release" / "static" / config["static"]["theme_css"]).read_text()
    assert "--color-primary: #F2A900;" in css
    assert "--color-on-primary: #000000;" in css  # dark text on a yellow primary
    assert "--color-menu-background: #0B4F8A;" in css
    assert "--color-on-menu-background: #FFFFFF;" in css
    for name in ("secondary", "background", "text"):
        assert f"--color-{name}:" in css and f"--color-on-{name}:" in css


def test_defaults_are_filled_from_the_schema(built_instance):
    config = json.loads((built_instance / "release" / "config.json").read_text())
    assert config["features"]["finished_ticket_visibility_days"] == 30
    assert config["modules"]["notices"] == {"per_page": 3, "timeline": True}
    assert config["branding"]["colors"]["secondary"] == "#F2A900"
    assert config["branding"]["font"] == "system"


def test_assets_get_content_hashed_names(built_instance):
    config = json.loads((built_instance / "release" / "config.json").read_text())
    assert re.fullmatch(r"assets/logo\.[0-9a-f]{10}\.svg", config["branding"]["logo"])
    assert filecmp.cmp(built_instance / "release" / "static" / config["branding"]["logo"],
                       ROOT / "tests/fixtures/tenants/minimal/assets/logo.svg", shallow=False)


def test_template_overrides_and_pages_are_compiled(tmp_path):
    result = build(str(ROOT / "tenants/aurora/tenant.yaml"), tmp_path)
    release = result.instance / "release"
    assert (release / "templates/overrides/footer.html").is_file()
    page = (release / "pages/manual.html").read_text()
    assert "<table>" in page and "<h2>Garantias</h2>" in page
    assert (release / "translations/pt_BR/LC_MESSAGES/messages.mo").is_file()


def test_an_unchanged_tenant_is_not_even_parsed_again(tenant_file, tmp_path, monkeypatch):
    first = build(str(tenant_file), tmp_path / "out")

    def must_not_run(file):
        raise AssertionError("parsed again")

    monkeypatch.setattr("generator.build.validate_file", must_not_run)
    again = build(str(tenant_file), tmp_path / "out")
    assert not again.changed and again.release == first.release


def test_a_changed_asset_or_base_is_rebuilt(tmp_path):
    import shutil

    shutil.copytree(ROOT / "tenants", tmp_path / "tenants")
    tenant = tmp_path / "tenants" / "aurora" / "tenant.yaml"
    first = build(str(tenant), tmp_path / "out")
    logo = tmp_path / "tenants" / "aurora" / "assets" / "logo.svg"
    logo.write_text(logo.read_text().replace("#0B4F8A", "#123456"))
    second = build(str(tenant), tmp_path / "out")
    assert second.changed and second.release != first.release
    base = tmp_path / "tenants" / "_base" / "construtora.yaml"
    base.write_text(base.read_text().replace("sla_hours: 72", "sla_hours: 96"))
    third = build(str(tenant), tmp_path / "out")
    assert third.changed
    config = json.loads((third.instance / "release" / "config.json").read_text())
    assert config["divisions"][0]["divisions"][0]["sla_hours"] == 96


def test_a_deleted_release_is_rebuilt(tenant_file, tmp_path):
    import shutil

    first = build(str(tenant_file), tmp_path / "out")
    shutil.rmtree(first.instance)
    again = build(str(tenant_file), tmp_path / "out")
    assert again.changed and (again.instance / "release" / "config.json").is_file()


def test_a_changed_module_schema_fragment_rebuilds_every_tenant(tenant_file, tmp_path,
                                                                monkeypatch):
    """A module's fragment is part of the schema: editing it must not leave stale builds."""
    import shutil

    from generator import incremental, schema

    first = build(str(tenant_file), tmp_path / "out")
    modules = tmp_path / "modules"
    shutil.copytree(ROOT / "runtime" / "modules" / "faq", modules / "faq",
                    ignore=shutil.ignore_patterns("*.py", "templates", "__pycache__"))
    monkeypatch.setattr(schema, "MODULE_FOLDERS", [*schema.MODULE_FOLDERS, modules])
    incremental.toolchain_fingerprint.cache_clear()
    try:
        parsed = []
        original = build.__globals__["validate_file"]
        monkeypatch.setattr("generator.build.validate_file",
                            lambda file: parsed.append(file) or original(file))
        again = build(str(tenant_file), tmp_path / "out")
        assert parsed == [str(tenant_file)] and again.release == first.release
    finally:
        incremental.toolchain_fingerprint.cache_clear()


def test_a_release_s_own_files_are_never_shared_with_another_release(tenant_file, tmp_path):
    """Builds of one process link the shared files (static, translations) of equal bytes;
    a release's own files are its own: editing one in place changes no other release."""
    first = build(tenant_file, tmp_path / "a").instance / "release"
    second = build(tenant_file, tmp_path / "b").instance / "release"
    shared = ("static", "translations", os.path.join("templates", "theme"))  # theme: read-only
    own = [p for p in sorted(first.rglob("*")) if p.is_file() and p.name != ".lock"
           and not str(p.relative_to(first)).startswith(shared)]
    assert first / "config.json" in own
    for path in own:
        twin = second / path.relative_to(first)
        assert twin.read_bytes() == path.read_bytes()
        assert os.stat(twin).st_ino != os.stat(path).st_ino, path
        path.write_text("{ edited by hand", encoding="utf-8")  # in place: the same inode
        assert twin.read_text(encoding="utf-8") != "{ edited by hand", path
    shared = sorted((second / "translations").rglob("*.mo"))
    assert shared and all(os.stat(p).st_nlink > 1 for p in shared)  # still linked
