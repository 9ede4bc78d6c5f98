"""The cache of `portal validate` (generator/cache.py): never a stale answer, never in the way."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from generator import cache, loader, overrides, themes
from generator.validate import validate_file
from tests.conftest import ROOT


@pytest.fixture(autouse=True)
def cache_home(tmp_path, monkeypatch) -> Path:
    """A cache folder of the test's own."""
    home = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    return home / "portal-generator"


@pytest.fixture
def checks(monkeypatch) -> list[str]:
    """The override files really checked (with Jinja), in order."""
    done: list[str] = []
    original = overrides._problems
    monkeypatch.setattr(overrides, "_problems",
                        lambda path, *rest: done.append(path.name) or original(path, *rest))
    return done


@pytest.fixture
def theme(tmp_path) -> Path:
    """A theme's templates folder: base.html and page.html, which extends it."""
    folder = tmp_path / "theme-templates"
    folder.mkdir()
    (folder / "base.html").write_text("{% block head %}{% endblock %}{% block body %}"
                                      "{% endblock %}\n", encoding="utf-8")
    (folder / "page.html").write_text('{% extends "base.html" %}{% block main %}'
                                      "{% endblock %}\n", encoding="utf-8")
    return folder


def _messages(folder: Path, theme: Path) -> list[str]:
    return [f"{Path(d.file).name}:{d.line}: {d.message}" for d in overrides.check(folder, theme)]


def test_an_override_is_checked_again_when_it_or_a_theme_template_changes(tmp_path, theme,
                                                                           checks):
    folder = tmp_path / "overrides"
    folder.mkdir()
    override = folder / "page.html"
    override.write_text('{% extends "theme/page.html" %}\n{% block aside %}{% endblock %}\n',
                        encoding="utf-8")
    unknown = ["page.html:2: block \"aside\" is not in the theme's page.html, so it would "
               "never show (its blocks: body, head, main)"]
    assert _messages(folder, theme) == unknown and checks == ["page.html"]
    assert _messages(folder, theme) == unknown and checks == ["page.html"]  # kept: no Jinja

    # the override changes (same size, same modification time): checked again
    stat = override.stat()
    override.write_text('{% extends "theme/page.html" %}\n{% block aside %}{% endblock %}\r\n',
                        encoding="utf-8")
    os.utime(override, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert _messages(folder, theme) == unknown and len(checks) == 2

    # the theme's base (two levels up) gains the block: the override is right now
    (theme / "base.html").write_text("{% block head %}{% endblock %}{% block aside %}"
                                     "{% endblock %}\n", encoding="utf-8")
    assert _messages(folder, theme) == [] and len(checks) == 3
    assert _messages(folder, theme) == [] and len(checks) == 3

    # the theme's template disappears, then another one appears: each is seen
    (theme / "page.html").unlink()
    missing = ['page.html:1: the theme has no template "theme/page.html"; did you mean '
               '"theme/base.html"?']
    assert _messages(folder, theme) == missing and len(checks) == 4
    (theme / "pages.html").write_text("x\n", encoding="utf-8")
    assert _messages(folder, theme)[0].endswith('did you mean "theme/pages.html"?')
    assert len(checks) == 5


def test_another_jinja_release_or_checking_code_is_a_miss(tmp_path, theme, checks,
                                                        monkeypatch):
    folder = tmp_path / "overrides"
    folder.mkdir()
    (folder / "page.html").write_text("{% if %}\n", encoding="utf-8")
    first = _messages(folder, theme)
    assert first[0].startswith("page.html:1: template syntax:") and checks == ["page.html"]
    # another Jinja release: its package file (which carries __version__) reads differently
    version_file = tmp_path / "jinja2_init.py"
    version_file.write_text(Path(cache.find_spec("jinja2").origin).read_text(encoding="utf-8")
                            + "# another release\n", encoding="utf-8")
    find_spec = cache.find_spec
    monkeypatch.setattr(cache, "find_spec", lambda name: SimpleNamespace(origin=version_file)
                        if name == "jinja2" else find_spec(name))
    assert _messages(folder, theme) == first and len(checks) == 2
    assert _messages(folder, theme) == first and len(checks) == 2
    # another version of the checking code
    code = tmp_path / "overrides.py"
    code.write_text(Path(overrides.__file__).read_text(encoding="utf-8") + "\n",
                    encoding="utf-8")
    monkeypatch.setattr(overrides, "__file__", str(code))
    assert _messages(folder, theme) == first and len(checks) == 3


def test_a_broken_or_unwritable_cache_is_only_a_miss(tmp_path, theme, checks, cache_home,
                                                     monkeypatch):
    folder = tmp_path / "overrides"
    folder.mkdir()
    (folder / "a.html").write_text('{% include "theme/nope.html" %}\n', encoding="utf-8")
    expected = _messages(folder, theme)
    entries = list(cache_home.iterdir())
    assert len(entries) == 1 and checks == ["a.html"]
    for damage in (b"", b"PGC1", entries[0].read_bytes()[:-3], b"garbage" * 100,
                   entries[0].read_bytes()[:8] + b"\x00" * 40):
        entries[0].write_bytes(damage)
        assert _messages(folder, theme) == expected
    assert len(checks) == 6
    # a cache folder that cannot be made (a file stands there): the check still runs
    shutil.rmtree(cache_home)
    cache_home.write_text("not a folder")
    assert _messages(folder, theme) == expected and _messages(folder, theme) == expected
    assert len(checks) == 8
    # relative XDG_CACHE_HOME is invalid (XDG): never a folder in the working directory
    monkeypatch.setenv("XDG_CACHE_HOME", "relative")
    assert cache.folder() == Path.home() / ".cache" / "portal-generator"

    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", no_home)  # and no home folder at all
    assert _messages(folder, theme) == expected and len(checks) == 9


def test_a_kept_parse_is_the_same_document_and_a_changed_file_is_parsed_again(tmp_path,
                                                                               monkeypatch):
    monkeypatch.chdir(tmp_path)
    tenant = Path("tenant.yaml")
    # positions, a YAML-trap value (raw), and a warning the walker gives
    tenant.write_text("schema_version: 1\ntenant: {id: acme, name: Acme}\nfeatures:\n"
                      "  self_signup: no\nfooter_text: { text: De 0 a 10, quanto? }\n",
                      encoding="utf-8")
    composed = []
    from generator import yamlread

    original = yamlread.document
    monkeypatch.setattr(yamlread, "document",
                        lambda file, text: composed.append(file) or original(file, text))
    fresh, kept = loader._parse("tenant.yaml"), loader._parse("tenant.yaml")
    assert composed == ["tenant.yaml"]
    assert (kept.data, kept.locs, kept.warnings, kept.sources, kept.file) == \
        (fresh.data, fresh.locs, fresh.warnings, fresh.sources, fresh.file)
    assert kept.warnings and kept.locs[("features", "self_signup")].raw == "no"
    stat = tenant.stat()
    tenant.write_text(tenant.read_text(encoding="utf-8").replace("Acme", "Acne"),
                      encoding="utf-8")
    os.utime(tenant, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert loader._parse("tenant.yaml").data["tenant"]["name"] == "Acne"
    assert composed == ["tenant.yaml"] * 2


def test_the_theme_manifest_is_read_again_when_it_changes(tmp_path, monkeypatch):
    manifest = tmp_path / "theme.yaml"
    manifest.write_text("icons_css: a.css\n", encoding="utf-8")
    assert themes._manifest(manifest) == {"icons_css": "a.css"}
    assert themes._manifest(manifest) == {"icons_css": "a.css"}
    manifest.write_text("icons_css: b.css\n", encoding="utf-8")
    assert themes._manifest(manifest) == {"icons_css": "b.css"}


def test_validate_gives_the_same_diagnostics_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    tenant = "tenants/aurora/tenant.yaml"
    first = validate_file(tenant).diagnostics
    loader._PARSED.clear()
    assert validate_file(tenant).diagnostics == first


def test_a_second_validate_of_an_unchanged_tenant_imports_no_parser(cache_home):
    code = ("import sys, cli; from click.testing import CliRunner; "
            "r = CliRunner().invoke(cli.main, ['validate', 'tenants/aurora/tenant.yaml']); "
            "assert r.exit_code == 0, r.output; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'jinja2', 'ruamel'}))")
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home.parent)}

    def run() -> str:
        return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                              capture_output=True, text=True, check=True).stdout.strip()

    assert run() == "['jinja2', 'ruamel']"
    # find_spec("ruamel.yaml") (its version file) imports the namespace package `ruamel` only
    assert run() == "['ruamel']"


def test_a_full_cache_drops_its_oldest_entries_and_nothing_else(tmp_path, theme, cache_home,
                                                                 monkeypatch):
    monkeypatch.setattr(cache, "MAX_ENTRIES", 8)
    (cache_home / "build").mkdir(parents=True)
    (cache_home / "build" / "kept").write_bytes(b"another store's")
    for i in range(8):
        (cache_home / f"override-old{i}").write_bytes(b"old")
        os.utime(cache_home / f"override-old{i}", ns=(i, i))
    folder = tmp_path / "overrides"
    folder.mkdir()
    (folder / "a.html").write_text("<p>a</p>\n", encoding="utf-8")
    assert _messages(folder, theme) == []
    left = sorted(p.name for p in cache_home.iterdir())
    assert [n for n in left if n.startswith("override-old")] == [
        f"override-old{i}" for i in range(4, 8)]
    assert "build" in left and (cache_home / "build" / "kept").is_file() and len(left) == 6
