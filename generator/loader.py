"""Read tenant YAML keeping where every value came from (file, line, column).

Tenant files are parsed as YAML 1.2 with ruamel.yaml's composer, as editors
(yaml-language-server) read them: PyYAML's YAML 1.1 scanner rejects plain text
such as `text: Como nos conheceu?, options: [...]` in a flow mapping, which the
reference format uses, and turns `08:00` into 480 and `no` into false.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.error import StreamMark as Mark
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .diagnostics import Diagnostic, TenantError

# More values than this after expanding aliases is an alias bomb, not a tenant.
MAX_VALUES = 50_000
MAX_BYTES = 2 * 1024 * 1024

PathT = tuple  # ("menu", 2, "label")


@dataclass(frozen=True)
class Loc:
    """Where a value (and, in a mapping, its key) stands in a source file."""

    file: str
    line: int
    column: int
    key_line: int
    key_column: int
    raw: str | None = None  # the scalar as written, for YAML-trap hints
    source_line: str = ""


@dataclass
class Document:
    """A tenant document: plain data plus the location of every value."""

    data: Any
    locs: dict[PathT, Loc]
    file: str
    warnings: list[Diagnostic] = field(default_factory=list)
    sources: tuple[str, ...] = ()  # the YAML files read: this one and its bases

    def loc(self, path: PathT) -> Loc:
        """The location of `path`, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path not in self.locs and path:
            path = path[:-1]
        return self.locs.get(path) or Loc(self.file, 1, 1, 1, 1)


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


def format_path(path: PathT) -> str:
    """("menu", 2, "label") -> "menu[2].label"."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _decode(file: str, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        byte = raw[exc.start]
        raise TenantError([Diagnostic(
            file, line, column, "",
            f"the file is not UTF-8 text (byte 0x{byte:02X}); save it as UTF-8",
        )]) from None


def parse(file: str) -> Document:
    """Parse one YAML file into a Document, without following `extends`.

    A base shared by many tenants is parsed once per process: results are kept
    by real path, size and modification time, and never mutated by callers. Each
    tenant names its base by its own relative path (t1/../_base/b.yaml), so the
    parse is kept once and its locations are labelled with the name as written.
    """
    try:
        st = Path(file).stat()
    except OSError:
        return _parse(file)
    key = (str(Path(file).resolve()), st.st_size, st.st_mtime_ns)
    cached = _PARSED.get(key)
    if cached is None:
        cached = _parse(file)
        if len(_PARSED) > 2048:
            _PARSED.clear()
        _PARSED[key] = cached
    return cached if cached.file == file else _relabelled(cached, file)


def _relabelled(doc: Document, file: str) -> Document:
    """The same parse, its locations and warnings in `file` (another name of the same file)."""
    locs = {path: Loc(file, loc.line, loc.column, loc.key_line, loc.key_column, loc.raw,
                      loc.source_line) for path, loc in doc.locs.items()}
    warnings = [replace(w, file=file) for w in doc.warnings]
    return Document(doc.data, locs, file, warnings, (file,))


_PARSED: dict[tuple, Document] = {}


def _parse(file: str) -> Document:
    path = Path(file)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise TenantError([Diagnostic(file, 1, 1, "", "file not found")]) from None
    except IsADirectoryError:
        raise TenantError([Diagnostic(file, 1, 1, "", "is a folder, not a tenant file")]) from None
    except OSError as exc:
        raise TenantError([Diagnostic(file, 1, 1, "", f"cannot read: {exc.strerror}")]) from None
    if len(raw) > MAX_BYTES:
        raise TenantError([Diagnostic(file, 1, 1, "", "file is larger than 2 MB")])
    text = _decode(file, raw)
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


def deep_merge(base: Any, override: Any) -> Any:
    """Maps merge key by key; anything else (lists included) is replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = copy.copy(base)
        for key, value in override.items():
            merged[key] = deep_merge(base[key], value) if key in base else value
        return merged
    return override


def _merged_locs(data: Any, path: PathT, child: Document, base: Document, out: dict) -> None:
    loc = child.locs.get(path) or base.locs.get(path)
    if loc is not None:
        out[path] = loc
    if isinstance(data, dict):
        for key, value in data.items():
            _merged_locs(value, (*path, key), child, base, out)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            _merged_locs(value, (*path, i), child, base, out)


def load(file: str, _chain: tuple[str, ...] = ()) -> Document:
    """Load a tenant file and the bases it `extends`, merged into one Document."""
    doc = parse(file)
    target = doc.data.get("extends")
    if target is None:
        return doc
    loc = doc.loc(("extends",))
    if not isinstance(target, str) or not target:
        raise TenantError([Diagnostic(file, loc.line, loc.column, "extends",
                                      "expected a path to a base tenant file")])
    base_file = str(Path(file).parent / target)
    resolved = str(Path(base_file).resolve())
    chain = (*_chain, str(Path(file).resolve()))
    if resolved in chain:
        raise TenantError([Diagnostic(file, loc.line, loc.column, "extends",
                                      f"extends itself through a cycle ({target})")])
    if not Path(base_file).is_file():
        raise TenantError([Diagnostic(file, loc.line, loc.column, "extends",
                                      f"base file not found: {_norm(base_file)}")])
    base = load(base_file, chain)
    own = {k: v for k, v in doc.data.items() if k != "extends"}
    merged = deep_merge(base.data, own)
    locs: dict[PathT, Loc] = {}
    _merged_locs(merged, (), doc, base, locs)
    locs[()] = doc.locs[()]
    return Document(merged, locs, file, [*base.warnings, *doc.warnings],
                    (*doc.sources, *base.sources))


def _norm(path: str) -> str:
    return re.sub(r"(^|/)\./", r"\1", str(Path(path)))
