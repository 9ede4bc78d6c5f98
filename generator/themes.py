"""Themes: a folder under themes/ with theme.yaml, templates/, static/ and tokens.css.j2."""

from __future__ import annotations

import functools
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

from . import cache
from .resources import data_folder

THEMES_DIR = data_folder("themes")


@dataclass(frozen=True)
class FontFamily:
    """A text font the theme ships (theme.yaml `fonts`)."""

    faces: tuple  # ({file, weight, style}, ...): files under static/, CSS weight and style
    license: str  # its licence text under static/, shipped beside the font
    generic: str  # sans-serif or serif: the local font standing in, the CSS stack after it
    fallback: dict  # {size_adjust, ascent_override, descent_override, line_gap_override}

    @property
    def files(self) -> list[str]:
        return [face["file"] for face in self.faces] + [self.license]


@dataclass(frozen=True)
class Theme:
    name: str
    folder: Path
    fonts: dict  # family -> FontFamily
    vendor: tuple  # ({package, path, to}, ...)
    icons_css: str  # the vendor "to" path of the icon font stylesheet

    def vendor_source(self, item: dict) -> Path:
        """Where a vendored file lies inside its installed package."""
        spec = importlib.util.find_spec(item["package"])
        if spec is None or spec.origin is None:
            raise FileNotFoundError(f"package {item['package']} is not installed")
        return Path(spec.origin).parent / item["path"]


def available() -> list[str]:
    return sorted(p.name for p in THEMES_DIR.iterdir() if (p / "theme.yaml").is_file())


@functools.cache
def get(name: str) -> Theme | None:
    """The theme called `name`, or None when there is no such folder."""
    folder = THEMES_DIR / name
    manifest = folder / "theme.yaml"
    if not manifest.is_file():
        return None
    data = _manifest(manifest)
    fonts = {family: _font_family(spec) for family, spec in data.get("fonts", {}).items()}
    return Theme(name, folder, fonts, tuple(data.get("vendor", [])), data.get("icons_css", ""))


def _manifest(path: Path) -> dict:
    """theme.yaml's content, kept in the cache while it and the code reading it are unchanged.

    Read with ruamel.yaml, which reads the tenant files too (PyYAML would be one more import
    on the path of `portal validate`), and only when the cache has not kept it.
    """
    reads = cache.Reads()
    text = reads.read_text(path)
    reads.read_bytes(Path(__file__))
    reads.source("ruamel.yaml")
    data = cache.get("theme", (str(path),), reads)
    if data is None:
        from ruamel.yaml import YAML

        data = YAML(typ="safe", pure=True).load(text)
        cache.put("theme", (str(path),), reads, data)
    return data


def _font_family(spec: dict) -> FontFamily:
    fallback = dict(spec["fallback"])
    generic = fallback.pop("generic", "sans-serif")
    # YAML reads `weight: 400` as a number and `weight: 100 900` as text
    faces = tuple({"file": face["file"], "weight": str(face["weight"]),
                   "style": face.get("style", "normal")} for face in spec["faces"])
    return FontFamily(faces, spec["license"], generic, fallback)


@functools.cache
def icon_names(name: str) -> frozenset[str]:
    """Icon names the theme's icon font defines (`.bi-house::before` -> "house")."""
    theme = get(name)
    if theme is None:
        return frozenset()
    for item in theme.vendor:
        if item["to"] == theme.icons_css:
            css = theme.vendor_source(item).read_text(encoding="utf-8")
            return frozenset(re.findall(r"\.bi-([a-z0-9-]+)::?before", css))
    return frozenset()
