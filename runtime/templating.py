"""Template lookup: the tenant's overrides, then the theme, then the modules' own templates.

"theme/<name>" always names the theme's own template, even when the tenant overrides
<name>: an override of footer.html can `{% extends "theme/footer.html" %}` and replace one
block instead of copying the whole file (an unprefixed name in it would extend itself).
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import BaseLoader, ChoiceLoader, FileSystemLoader, PrefixLoader

THEME_PREFIX = "theme"


def template_loader(release: Path, app_loader: BaseLoader) -> BaseLoader:
    """The loader of one release, falling back to Flask's (app and blueprint templates)."""
    theme = FileSystemLoader(str(release / "templates" / "theme"))
    return ChoiceLoader([
        # the generator refuses an overrides folder named theme/, so a prefixed name
        # that the theme lacks finds nothing further down either
        PrefixLoader({THEME_PREFIX: theme}),
        FileSystemLoader(str(release / "templates" / "overrides")),
        theme,
        app_loader,
    ])
