"""The ruamel.yaml side of the loader: compose a tenant file and walk it into a Document.

Imported only for a file whose parse is not in the cache (generator/cache.py): importing
ruamel.yaml and running its pure-Python composer cost more than the rest of a validation.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.error import StreamMark as Mark
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .diagnostics import Diagnostic, TenantError
from .loader import MAX_VALUES, Document, Loc, PathT, format_path


def document(file: str, text: str) -> Document:
    """The Document of `text` (the content of `file`); TenantError on any problem."""
    try:
        node = _yaml().compose(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "invalid YAML"
        if exc.context and exc.context not in problem:
            problem = f"{exc.context}: {problem}"
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise TenantError([Diagnostic(file, line, column, "",
                                      f"YAML syntax error: {problem}")]) from None
    except YAMLError as exc:
        raise TenantError([Diagnostic(file, 1, 1, "", f"YAML error: {exc}")]) from None
    if node is None:
        raise TenantError([Diagnostic(
            file, 1, 1, "", "the file is empty; a tenant file starts with `schema_version: 1`",
        )])
    walker = _Walker(file, text)
    try:
        data = walker.walk(node, (), node.start_mark, set())
    except _TooBig as big:
        line, column = (big.loc.key_line, big.loc.key_column) if big.loc else (1, 1)
        raise TenantError([Diagnostic(
            file, line, column, format_path(big.path),
            f"the file expands to more than {MAX_VALUES:,} values through anchors and aliases "
            "(an alias bomb?); write it without aliases that multiply",
        )]) from None
    if walker.errors:
        raise TenantError(walker.errors)
    if not isinstance(data, dict):
        raise TenantError([Diagnostic(
            file, 1, 1, "", "a tenant file is a mapping of keys (schema_version, tenant, ...)",
        )])
    return Document(data, walker.locs, file, walker.warnings, (file,))


class _Walker:
    """Turn a composed node tree into data, with positions, duplicates and size checks."""

    def __init__(self, file: str, text: str):
        self.file = file
        self.lines = text.splitlines()
        self.count = 0
        self.errors: list[Diagnostic] = []
        self.warnings: list[Diagnostic] = []
        self.locs: dict[PathT, Loc] = {}
        self._constructor = _yaml().constructor

    def error(self, mark: Mark, path: PathT, message: str) -> None:
        self.errors.append(
            Diagnostic(self.file, mark.line + 1, mark.column + 1, format_path(path), message)
        )

    def warn(self, mark: Mark, path: PathT, message: str) -> None:
        self.warnings.append(Diagnostic(
            self.file, mark.line + 1, mark.column + 1, format_path(path), message, "warning"))

    def walk(self, node: Node, path: PathT, key_mark: Mark, active: set) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            raise _TooBig(self.locs[path[:1]] if path[:1] in self.locs else None, path[:1])
        raw = node.value if isinstance(node, ScalarNode) else None
        # An empty value has no position of its own: point at its key.
        mark = key_mark if raw == "" and _tag(node).endswith(":null") else node.start_mark
        line = self.lines[mark.line] if mark.line < len(self.lines) else ""
        self.locs[path] = Loc(
            self.file, mark.line + 1, mark.column + 1, key_mark.line + 1, key_mark.column + 1,
            raw, line,
        )
        if id(node) in active:
            self.error(mark, path, "an alias refers to itself; YAML cannot expand it")
            return None
        if isinstance(node, MappingNode):
            return self._mapping(node, path, active | {id(node)})
        if isinstance(node, SequenceNode):
            active = active | {id(node)}
            return [
                self.walk(item, (*path, i), item.start_mark, active)
                for i, item in enumerate(node.value)
            ]
        return self._scalar(node)

    def _mapping(self, node: MappingNode, path: PathT, active: set) -> dict:
        result: dict[str, Any] = {}
        first_seen: dict[str, int] = {}
        prev: tuple | None = None
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.error(key_node.start_mark, path, "a key must be plain text, not a list or map")
                continue
            if _tag(key_node) == "tag:yaml.org,2002:merge":
                self.error(key_node.start_mark, path,
                           "merge keys (<<) are not supported; use `extends:` or repeat the keys")
                continue
            # Keys stay as written: `on:` must not become True.
            key = key_node.value
            if key in first_seen:
                self.error(
                    key_node.start_mark, (*path, key),
                    f'duplicate key "{key}" (first at line {first_seen[key]}); '
                    "YAML would keep only the last one: remove one of them",
                )
                continue
            if self._split_by_comma(node, key_node, value_node, prev):
                prev_key = prev[0]
                result[prev_key] = f"{result[prev_key]}, {key}"
                self.warn(key_node.start_mark, (*path, prev_key),
                          f'a comma inside {{ }} split this text; read as "{result[prev_key]}": '
                          "quote the whole text to make that explicit")
                continue
            first_seen[key] = key_node.start_mark.line + 1
            result[key] = self.walk(value_node, (*path, key), key_node.start_mark, active)
            prev = (key, value_node)
        return result

    def _split_by_comma(self, node: MappingNode, key_node: Node, value_node: Node,
                        prev: tuple | None) -> bool:
        """`{ text: De 0 a 10, quanto...? }`: a key with no colon right after plain text."""
        if not node.flow_style or prev is None or value_node.value != "":
            return False
        before = prev[1]
        if not isinstance(before, ScalarNode) or before.style is not None \
                or _tag(before) != "tag:yaml.org,2002:str" \
                or before.end_mark.line != key_node.start_mark.line:
            return False
        end = key_node.end_mark
        rest = self.lines[end.line][end.column:] if end.line < len(self.lines) else ""
        return rest.lstrip()[:1] in (",", "}")

    def _scalar(self, node: ScalarNode) -> Any:
        if _tag(node) in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:binary"):
            return node.value
        value = self._constructor.construct_object(node)
        if isinstance(value, float) and value != value:  # .nan
            return node.value
        return value


class _TooBig(Exception):
    """Raised at the top-level key whose value expands past MAX_VALUES."""

    def __init__(self, loc: Loc | None, path: PathT):
        self.loc, self.path = loc, path


def _yaml() -> YAML:
    return YAML(typ="safe", pure=True)


def _tag(node: Node) -> str:
    return str(getattr(node.tag, "value", node.tag))
