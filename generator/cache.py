"""Answers kept between runs, so `portal validate` of a file it has seen imports no parser.

Parsing YAML with ruamel.yaml (pure Python, for YAML 1.2 and exact positions) and checking
template overrides with Jinja cost more than the rest of a validation, mostly in imports.
Their answers depend only on the bytes of a few files, so they are kept here, under the
user's cache folder (`$XDG_CACHE_HOME/portal-generator`, else `~/.cache/portal-generator`),
never inside the checkout.

An answer is kept with everything it was worked out from, as the work saw it: what a file
held, whether a path was a file, which templates a folder listed. That includes the source
of the code that did the work and the installed parser's version file (`Reads.source`).
It is given back only while each of those is still the same, so it can never be stale.
Anything wrong with the cache (missing, truncated, corrupt, from another Python, a folder
that cannot be written) is a miss: the caller does the work, as without a cache.
"""

from __future__ import annotations

import marshal
import os
import sys
import zlib
from importlib.util import find_spec
from pathlib import Path
from typing import Any

MAGIC = b"PGC1"  # this file format; a change of Python changes the key (sys.version)
MAX_ENTRIES = 512  # past this, writing an entry removes the older half (tenants come and go)


def folder() -> Path:
    """The cache folder (XDG: a relative $XDG_CACHE_HOME is invalid and ignored).

    RuntimeError when there is no home folder to put it in: the caller's miss.
    """
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    return root / "portal-generator"


class Reads:
    """Looks at files for a piece of work and remembers what it saw, to check it later."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], Any] = {}

    def read_bytes(self, path: Path) -> bytes:
        data = path.read_bytes()
        self.seen["bytes", str(path)] = data
        return data

    def read_text(self, path: Path) -> str:
        """As Path.read_text(encoding="utf-8"): UTF-8, universal newlines."""
        text = self.read_bytes(path).decode("utf-8")
        return text.replace("\r\n", "\n").replace("\r", "\n")

    def is_file(self, path: Path) -> bool:
        found = path.is_file()
        self.seen["file", str(path)] = found
        return found

    def names(self, path: Path, pattern: str) -> list[str]:
        """Sorted relative names of what `path.rglob(pattern)` finds."""
        found = sorted(p.relative_to(path).as_posix() for p in path.rglob(pattern))
        self.seen[f"names {pattern}", str(path)] = found
        return found

    def source(self, module: str) -> None:
        """The work depends on `module`'s code: its file (a package's carries its version)."""
        spec = find_spec(module)
        if spec is None or spec.origin is None:
            raise ModuleNotFoundError(module)
        self.read_bytes(Path(spec.origin))

    def unchanged(self) -> bool:
        """Whether every file still looks as it did to the work."""
        check = Reads()
        lookups = {"bytes": check.read_bytes, "file": check.is_file}
        try:
            for (what, name), value in self.seen.items():
                if what.startswith("names "):
                    now = check.names(Path(name), what.removeprefix("names "))
                else:
                    now = lookups[what](Path(name))
                if now != value:
                    return False
        except (OSError, KeyError):
            return False
        return True


def _entry(kind: str, key: tuple) -> Path:
    digest = zlib.crc32(repr((sys.version, key)).encode("utf-8", "surrogatepass"))
    return folder() / f"{kind}-{digest:08x}"


def get(kind: str, key: tuple, reads: Reads) -> Any | None:
    """The answer kept for `key`, when everything it was worked out from is unchanged.

    `reads` holds what this run read already (those files are not read again): the same
    files, holding the same bytes, as the work read first. None: a miss.
    """
    try:
        raw = _entry(kind, key).read_bytes()
        if raw[:4] != MAGIC or int.from_bytes(raw[4:8], "big") != zlib.crc32(raw[8:]):
            return None
        version, kept_key, seen, value = marshal.loads(raw[8:])
    except (OSError, RuntimeError, ValueError, EOFError, TypeError):
        return None
    if version != sys.version or kept_key != key or not isinstance(seen, dict):
        return None
    # what this run read already must be what the work read, at the same paths: another
    # installation of a parser is another file, whose bytes the work never saw
    if any(k not in seen or seen[k] != v for k, v in reads.seen.items()):
        return None
    kept = Reads()
    kept.seen = {k: v for k, v in seen.items() if k not in reads.seen}
    return value if kept.unchanged() else None


def put(kind: str, key: tuple, reads: Reads, value: Any) -> None:
    """Keep `value` for `key`, with what it was worked out from; any failure is ignored."""
    try:
        payload = marshal.dumps((sys.version, key, reads.seen, value))
    except ValueError:  # a value marshal cannot write: not kept
        return
    try:
        path = _entry(kind, key)
    except RuntimeError:  # no home folder
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _prune(path.parent)
    except OSError:
        return
    write_whole(path, MAGIC + zlib.crc32(payload).to_bytes(4, "big") + payload)


def write_whole(path: Path, raw: bytes) -> None:
    """Write `raw` to `path` whole or not at all, whoever reads it at the same time; a
    failure (a full disk, a folder that cannot be written) leaves nothing behind."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_bytes(raw)
        os.replace(temporary, path)
    except OSError:
        try:
            temporary.unlink(missing_ok=True)
        except OSError:
            pass


def _prune(where: Path) -> None:
    """Keep the folder small: past MAX_ENTRIES, remove the entries written longest ago.

    Only files: a sub-folder is another store's (generator/artifacts.py keeps build/).
    """
    entries = [entry for entry in os.scandir(where) if entry.is_file(follow_symlinks=False)]
    if len(entries) < MAX_ENTRIES:
        return
    entries.sort(key=lambda entry: entry.stat().st_mtime_ns)
    for entry in entries[:len(entries) // 2]:
        try:
            os.unlink(entry.path)
        except OSError:
            pass
