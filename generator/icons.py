"""Only the icons a portal shows: a subset of the theme's icon font, made at build time.

Bootstrap Icons' font holds about 2,000 glyphs (134 KB) and its stylesheet a rule for each
(85 KB); a portal shows a few dozen. The icons used are gathered from what can show them:
the tenant's menu (consultants choose icons in YAML, checked by the validator) and template
overrides, the theme's and the runtime's templates (`bi-house`, and names in `{{ }}` such
as `bi-{{ 'phone' if ... }}`), the runtime's Python strings that name an icon (staff links,
social icons) and the theme's script. A name in a template is taken only when it is an
icon, so gathering too much costs a glyph, never a missing one.
"""

from __future__ import annotations

import functools
import io
import logging
import posixpath
import re
from pathlib import Path

from . import themes
from .resources import runtime_folder

# `.bi-house::before{content:"\f425"}` in the vendor stylesheet
# the vendor font's `post` table has 2 stray bytes, which fontTools logs on every read
logging.getLogger("fontTools.ttLib.tables._p_o_s_t").setLevel(logging.ERROR)
_RULE = re.compile(r'\.bi-([a-z0-9-]+)::?before\s*\{\s*content:\s*"\\([0-9a-fA-F]+)"\s*;?\s*\}')
_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}")
_FONT_URL = re.compile(r'url\((["\']?)([^"\')?#]+\.(woff2?|ttf|otf))(?:[?#][^"\')]*)?\1\)')
_LITERAL = re.compile(r"""(["'])([a-z0-9-]+)\1""")
_CLASS = re.compile(r"\bbi-([a-z0-9-]*)")
_EXPRESSION = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}", re.S)
# a block holding a name alone: `bi-{% block user_icon %}person-circle{% endblock %}` and a
# template filling that block (`{% block user_icon %}person-badge{% endblock %}`)
_BLOCK_DEFAULT = re.compile(r"\{%-?\s*block\s+\w+\s*-?%\}\s*([a-z0-9-]+)\s*\{%-?\s*endblock")


@functools.cache
def glyphs(theme_name: str) -> dict[str, int]:
    """Each icon name of the theme's icon stylesheet and its code point."""
    css = _vendor_css(theme_name)
    return {name: int(code, 16) for name, code in _RULE.findall(css)} if css else {}


@functools.cache
def _vendor_css(theme_name: str) -> str:
    theme = themes.get(theme_name)
    for item in theme.vendor if theme else ():
        if item["to"] == theme.icons_css:
            return theme.vendor_source(item).read_text(encoding="utf-8")
    return ""


def _font_source(theme_name: str) -> Path:
    """The full font the vendor stylesheet names: WOFF rather than WOFF2 when both are
    vendored, as a WOFF is read ten times faster (zlib, no glyph transform)."""
    theme = themes.get(theme_name)
    assert theme is not None
    face = _FONT_FACE.search(_vendor_css(theme_name))
    urls = _FONT_URL.findall(face.group(0)) if face else []
    vendored = {item["to"]: item for item in theme.vendor}
    folder = posixpath.dirname(theme.icons_css)
    found = [posixpath.normpath(posixpath.join(folder, url)) for _, url, _ in urls]
    found = sorted((f for f in found if f in vendored), key=lambda f: not f.endswith(".woff"))
    if not found:
        raise ValueError(f"{theme.icons_css}: its @font-face names no vendored font")
    return theme.vendor_source(vendored[found[0]])


def names_in_template(text: str, known: dict[str, int] | frozenset[str]) -> set[str]:
    """Icon names a Jinja template can show: `bi-x` classes and icon names quoted in tags."""
    found = set(_CLASS.findall(text)) | set(_BLOCK_DEFAULT.findall(text))
    for match in re.finditer(r"\bbi-([a-z0-9-]*)\{\{(.*?)\}\}", text, re.S):
        # `bi-star{{ '-fill' if ... else '' }}`: the prefix joined to each quoted text
        found |= {match.group(1) + lit for _, lit in _LITERAL.findall(match.group(2))}
    for expression in _EXPRESSION.finditer(text):
        found |= {lit for _, lit in _LITERAL.findall(expression.group(0))}
    return {name for name in found if name in known}


def names_in_python(text: str, known: dict[str, int] | frozenset[str]) -> set[str]:
    """Every quoted text of a Python source that is an icon name (or `bi-<name>`)."""
    found = {lit.removeprefix("bi-") for _, lit in _LITERAL.findall(text)}
    return {name for name in found if name in known}


def names_in_script(text: str, known: dict[str, int] | frozenset[str]) -> set[str]:
    """Icon names a script can show: `bi-x` and quoted icon names."""
    found = set(_CLASS.findall(text)) | {lit for _, lit in _LITERAL.findall(text)}
    return {name for name in found if name in known}


def code_files(module_folders: tuple[Path, ...]) -> list[Path]:
    """The runtime's templates and Python files, and those of extra module folders."""
    root = runtime_folder()
    files: list[Path] = []
    for folder in (root, *(f for f in module_folders if not f.is_relative_to(root))):
        files += [p for p in folder.rglob("*") if p.suffix in (".html", ".py") and p.is_file()
                  and not {"migrations", "__pycache__", "translations"} & set(p.parts)]
    return sorted(files)


@functools.cache
def _toolchain_names(theme_name: str, module_folders: tuple[Path, ...]) -> frozenset[str]:
    known = glyphs(theme_name)
    theme = themes.get(theme_name)
    assert theme is not None
    found: set[str] = set()
    for path in sorted((theme.folder / "templates").rglob("*.html")):
        found |= names_in_template(path.read_text(encoding="utf-8"), known)
    for path in sorted(theme.folder.glob("*.js")):
        found |= names_in_script(path.read_text(encoding="utf-8"), known)
    for path in code_files(module_folders):
        text = path.read_text(encoding="utf-8")
        reader = names_in_python if path.suffix == ".py" else names_in_template
        found |= reader(text, known)
    return frozenset(found)


def used(theme_name: str, menu: list, overrides: list[Path],
         module_folders: tuple[Path, ...]) -> frozenset[str]:
    """The icon names a tenant's portal can show."""
    known = glyphs(theme_name)
    found = set(_toolchain_names(theme_name, module_folders))

    def walk(nodes: list) -> None:
        for node in nodes:
            if node.get("icon") in known:
                found.add(node["icon"])
            walk(node.get("children") or [])

    walk(menu)
    for path in overrides:
        if path.suffix in (".html", ".txt", ".jinja", ".j2"):
            found |= names_in_template(path.read_text(encoding="utf-8"), known)
    return frozenset(found)


@functools.cache
def subset_font(theme_name: str, names: frozenset[str]) -> bytes:
    """The theme's icon font with the glyphs of `names` only, as woff2."""
    # fontTools here, not at the top: the build index imports this module for `code_files`,
    # and a rebuild where nothing changed must not pay for it
    from fontTools import subset
    from fontTools.ttLib import TTFont

    codes = glyphs(theme_name)
    options = subset.Options()
    options.flavor = "woff2"
    options.layout_features = []
    options.name_IDs = ["*"]  # keeps the licence and copyright strings
    options.notdef_outline = True
    options.glyph_names = False
    # the same input gives the same bytes (builds are deterministic): no "modified" stamp
    font = TTFont(_font_source(theme_name), recalcTimestamp=False)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(codes[n] for n in names))
    subsetter.subset(font)
    font.flavor = "woff2"
    buf = io.BytesIO()
    font.save(buf, reorderTables=False)
    return buf.getvalue()


@functools.cache
def stylesheet(theme_name: str, names: frozenset[str], font_url: str) -> str:
    """The icon rules for `names`, with an @font-face naming `font_url`.

    `font-display: swap`: text never waits for the icon font (the vendor file blocks it).
    """
    css = _vendor_css(theme_name)
    face = _FONT_FACE.search(css)
    assert face is not None
    family = re.search(r"font-family:\s*([^;}]+)", face.group(0))
    assert family is not None
    codes = glyphs(theme_name)
    base = re.search(r"\.bi::before[^{]*\{[^}]*\}", css)
    rules = "".join(f'.bi-{n}::before{{content:"\\{codes[n]:x}"}}' for n in sorted(names))
    licence = re.match(r"\s*/\*!.*?\*/", css, re.S)  # the vendor's copyright and licence
    return (f"{licence.group(0).strip() if licence else ''}\n"
            f'@font-face{{font-display:swap;font-family:{family.group(1)};'
            f'src:url("{font_url}") format("woff2")}}'
            f"{base.group(0) if base else ''}{rules}\n")
