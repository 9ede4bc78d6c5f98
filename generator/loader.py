"""Read tenant YAML keeping where every value came from (file, line, column).

Tenant files are parsed as YAML 1.2 with ruamel.yaml's composer, as editors
(yaml-language-server) read them: PyYAML's YAML 1.1 scanner rejects plain text
such as `text: Como nos conheceu?, options: [...]` in a flow mapping, which the
reference format uses, and turns `08:00` into 480 and `no` into false.
The ruamel.yaml side is generator/yamlread.py, imported only for a file whose parse is not
kept in the cache (generator/cache.py): a file `portal validate` has seen, unchanged, is
read back from there without importing ruamel.yaml.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import cache
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
    reads = cache.Reads()
    try:
        raw = reads.read_bytes(path)
    except FileNotFoundError:
        raise TenantError([Diagnostic(file, 1, 1, "", "file not found")]) from None
    except IsADirectoryError:
        raise TenantError([Diagnostic(file, 1, 1, "", "is a folder, not a tenant file")]) from None
    except OSError as exc:
        raise TenantError([Diagnostic(file, 1, 1, "", f"cannot read: {exc.strerror}")]) from None
    if len(raw) > MAX_BYTES:
        raise TenantError([Diagnostic(file, 1, 1, "", "file is larger than 2 MB")])
    # the parse depends on these files' code and on ruamel.yaml's version too
    for code in (Path(__file__), Path(__file__).with_name("yamlread.py")):
        reads.read_bytes(code)
    reads.source("ruamel.yaml")
    kept = cache.get("document", (file,), reads)
    if kept is not None:
        return _unpacked(file, kept)
    text = _decode(file, raw)
    from .yamlread import document

    doc = document(file, text)
    cache.put("document", (file,), reads, _packed(doc))
    return doc


def _packed(doc: Document) -> tuple:
    """A parsed Document as plain values the cache can keep (its `file` is in the key)."""
    locs = {path: (loc.line, loc.column, loc.key_line, loc.key_column, loc.raw,
                   loc.source_line) for path, loc in doc.locs.items()}
    warnings = [(w.line, w.column, w.path, w.message, w.severity) for w in doc.warnings]
    return doc.data, locs, warnings


def _unpacked(file: str, kept: tuple) -> Document:
    data, locs, warnings = kept
    return Document(data, {path: Loc(file, *loc) for path, loc in locs.items()}, file,
                    [Diagnostic(file, *w) for w in warnings], (file,))


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
