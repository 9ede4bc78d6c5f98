"""Themes: a folder under themes/ with theme.yaml, templates/, static/ and tokens.css.j2."""

from __future__ import annotations

import functools
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from .resources import data_folder

THEMES_DIR = data_folder("themes")


@dataclass(frozen=True)
class Theme:
    name: str
    folder: Path
    fonts: dict  # family -> list of {file, weight}
    vendor: tuple  # ({package, path, to}, ...)
    icons_css: str  # the vendor "to" path of the icon font stylesheet
    font_fallbacks: dict  # family -> {local, size_adjust, ascent_override, ...}

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
    data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    return Theme(name, folder, data.get("fonts", {}), tuple(data.get("vendor", [])),
                 data.get("icons_css", ""), data.get("font_fallbacks", {}))


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
