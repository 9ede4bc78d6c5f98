"""A tenant's template overrides, checked when the tenant is validated.

A mistake in an override is otherwise a 500 on every page that shows it, or a change
that silently never shows: a syntax error; an override that extends its own name
(`{% extends "footer.html" %}` inside footer.html repeats forever: "theme/footer.html"
names the theme's own file); a "theme/" name the theme lacks; a block the theme's
template does not have (Jinja drops it without a word).
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from . import cache
from .diagnostics import Diagnostic

if TYPE_CHECKING:
    from jinja2 import Environment, nodes

PREFIX = "theme/"
TEMPLATE_SUFFIXES = {".html", ".txt"}  # the kinds of template the theme and modules have


def check(folder: Path, theme_templates: Path) -> list[Diagnostic]:
    """Every problem of the templates under `folder`, an overrides folder of `theme_templates`."""
    out: list[Diagnostic] = []
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        # editors and file managers leave hidden files (.DS_Store) that are no templates
        if path.is_file() and path.suffix in TEMPLATE_SUFFIXES and not _hidden(name):
            out.extend(_check_template(path, name, theme_templates))
    return out


def _hidden(name: str) -> bool:
    return any(part.startswith(".") for part in name.split("/"))


def _check_template(path: Path, name: str, theme: Path) -> list[Diagnostic]:
    if name.startswith(PREFIX):
        problems = [(1, f'the folder "{PREFIX}" is reserved: "{PREFIX}<name>" names the '
                        "theme's own templates; move this file out of it")]
    else:
        problems = _kept_problems(path, name, theme)
    return [Diagnostic(str(path), line, 1, "", message) for line, message in problems]


def _kept_problems(path: Path, name: str, theme: Path) -> list[tuple[int, str]]:
    """_problems, kept in the cache: importing Jinja costs more than the rest of a validation.

    The answer is reused while this module, Jinja's version and every file the check read
    (the override, the theme templates it names or extends) are as they were.
    """
    reads = cache.Reads()
    reads.read_bytes(Path(__file__))
    reads.source("jinja2")
    key = (str(path), name, str(theme))
    kept = cache.get("override", key, reads)
    if kept is None:
        kept = _problems(path, name, theme, reads)
        cache.put("override", key, reads, kept)
    return kept


@functools.cache
def _env() -> Environment:
    from jinja2 import Environment

    # the same tags as the portal's templates: {% trans %} comes from the i18n extension
    return Environment(extensions=["jinja2.ext.i18n"])


def _problems(path: Path, name: str, theme: Path, reads: cache.Reads) -> list[tuple[int, str]]:
    """(line, message) of each problem of one override, reading files through `reads`."""
    from jinja2 import TemplateSyntaxError

    try:
        tree = _env().parse(reads.read_text(path), name, str(path))
    except UnicodeDecodeError:
        return [(1, "not UTF-8 text; save the template as UTF-8")]
    except TemplateSyntaxError as exc:
        return [(exc.lineno, f"template syntax: {exc.message}")]
    out = list(_references(tree, name, theme, reads))
    parent = _theme_parent(tree, theme, reads)
    if parent is not None:
        out += _blocks(tree, parent, theme, reads)
    return out


def _references(tree: nodes.Template, name: str, theme: Path,
                reads: cache.Reads) -> Iterator[tuple[int, str]]:
    """Templates this one names that could never load: itself, or a theme file that is not there."""
    from jinja2 import nodes

    verbs = {nodes.Extends: "extends", nodes.Include: "include", nodes.Import: "import",
             nodes.FromImport: "import"}
    for node in tree.find_all(tuple(verbs)):
        target = node.template
        if not isinstance(target, nodes.Const) or not isinstance(target.value, str):
            continue  # a name computed at render time is the portal's business
        verb, wanted = verbs[type(node)], target.value
        if wanted == name:
            yield node.lineno, (f'{verb} "{wanted}" names this file itself, which repeats '
                                f'forever; write "{PREFIX}{wanted}" for the theme\'s own {wanted}')
        elif wanted.startswith(PREFIX) and not reads.is_file(theme / wanted[len(PREFIX):]):
            names = reads.names(theme, "*.html")
            hint = _did_you_mean(wanted, [PREFIX + n for n in names])
            yield node.lineno, f'the theme has no template "{wanted}"{hint}'


def _theme_parent(tree: nodes.Template, theme: Path, reads: cache.Reads) -> Path | None:
    """The theme template this one extends with "theme/<name>", when it exists."""
    from jinja2 import nodes

    extends = tree.find(nodes.Extends)
    if extends is None or not isinstance(extends.template, nodes.Const):
        return None
    wanted = extends.template.value
    if not isinstance(wanted, str) or not wanted.startswith(PREFIX):
        return None
    path = theme / wanted[len(PREFIX):]
    return path if reads.is_file(path) else None


def _blocks(tree: nodes.Template, parent: Path, theme: Path,
            reads: cache.Reads) -> Iterator[tuple[int, str]]:
    """Blocks of this template that its theme parent does not have: they would never show."""
    offered = sorted(_theme_blocks(parent, theme, reads))
    shown = parent.relative_to(theme).as_posix()
    for block in _top_blocks(tree):
        if block.name not in offered:
            yield block.lineno, (f'block "{block.name}" is not in the theme\'s {shown}, so it '
                                 f"would never show{_did_you_mean(block.name, offered)} "
                                 f"(its blocks: {', '.join(offered)})")


def _top_blocks(node: nodes.Node) -> Iterator[nodes.Block]:
    from jinja2 import nodes

    # blocks nested in a block are the override's own: only the outer ones replace the theme's
    for child in node.iter_child_nodes():
        if isinstance(child, nodes.Block):
            yield child
        else:
            yield from _top_blocks(child)


def _theme_blocks(path: Path, theme: Path, reads: cache.Reads,
                  seen: frozenset[Path] = frozenset()) -> set[str]:
    """The block names of a theme template and of the theme templates it extends."""
    from jinja2 import nodes

    if path in seen or not reads.is_file(path):
        return set()
    tree = _env().parse(reads.read_text(path))
    names = {block.name for block in tree.find_all(nodes.Block)}
    extends = tree.find(nodes.Extends)
    for parent in _names_in(extends.template) if extends is not None else ():
        names |= _theme_blocks(theme / parent.removeprefix(PREFIX), theme, reads,
                               seen | {path})
    return names


def _names_in(expression: nodes.Expr) -> list[str]:
    from jinja2 import nodes

    # errors/error.html extends one of three layouts by a condition: any of them may be it
    consts = [expression, *expression.find_all(nodes.Const)]
    return [c.value for c in consts if isinstance(c, nodes.Const) and isinstance(c.value, str)]


def _did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f'; did you mean "{close[0]}"?' if close else ""
