"""The build's store of files made from the toolchain alone (generator/artifacts.py): made
once, given back only whole, and never an error."""

from __future__ import annotations

import pytest

from generator import artifacts


@pytest.fixture(autouse=True)
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _refuse() -> bytes:
    raise AssertionError("made again")


def test_a_piece_is_made_once_and_then_read_back():
    assert artifacts.kept("icons", ("default", ("house",)), lambda: b"font") == b"font"
    assert artifacts.kept("icons", ("default", ("house",)), _refuse) == b"font"
    assert artifacts.kept("icons", ("default", ("star",)), lambda: b"other") == b"other"


def test_a_damaged_file_is_made_again(cache_home):
    artifacts.kept("mo", ("es",), lambda: b"catalogue")
    [kept] = (cache_home / "portal-generator" / "build").iterdir()
    kept.write_bytes(kept.read_bytes()[:-3])  # cut short
    assert artifacts.kept("mo", ("es",), lambda: b"catalogue") == b"catalogue"
    assert artifacts.kept("mo", ("es",), _refuse) == b"catalogue"


def test_no_cache_folder_is_a_miss(cache_home, monkeypatch):
    cache_home.parent.mkdir(exist_ok=True)
    cache_home.write_text("a file where the folder would go")
    assert artifacts.kept("mo", ("es",), lambda: b"catalogue") == b"catalogue"

    def homeless():
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(artifacts, "cache_folder", homeless)
    assert artifacts.kept("mo", ("es",), lambda: b"catalogue") == b"catalogue"


def test_only_the_newest_files_of_a_kind_are_kept(cache_home, monkeypatch):
    monkeypatch.setattr(artifacts, "KEEP", 3)
    for i in range(5):
        artifacts.kept("icons", (i,), lambda: b"font")
    artifacts.kept("mo", ("es",), lambda: b"catalogue")
    names = [p.name for p in (cache_home / "portal-generator" / "build").iterdir()]
    assert sum(n.startswith("icons-") for n in names) == 3
    assert sum(n.startswith("mo-") for n in names) == 1
