"""Files the build makes from the toolchain alone, kept between runs in the user's cache.

The icon font cut to a set of icons (fontTools: 0.6 s with its import) and the compiled
catalogues (Babel's .po reader: 0.2 s) depend on nothing a tenant writes but the icon
names; a batch makes them once, before its workers fork, so they sit on its critical path.
They are kept under the cache folder of generator/cache.py, named by a digest of the
toolchain fingerprint (generator code, themes, vendored files, catalogues), the installed
fontTools and Babel, and the piece's own arguments: any change of those is a new name, so
a kept file is never stale. Each file carries the digest of its bytes and is used only
when they match; anything wrong (no cache folder, unreadable, damaged, not writable) is a
miss, and the caller's `make` runs as without a store.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable
from importlib.util import find_spec
from pathlib import Path

from .cache import folder as cache_folder
from .cache import write_whole
from .incremental import toolchain_fingerprint

KEEP = 256  # files kept per kind (a fleet has many icon sets); older ones go


def kept(kind: str, key: tuple, make: Callable[[], bytes]) -> bytes:
    """The bytes `make()` returns for `key` under the current toolchain, made at most once."""
    try:
        where = _folder()
    except (RuntimeError, OSError):
        return make()
    path = where / f"{kind}-{_name(kind, key)}"
    try:
        raw = path.read_bytes()
    except OSError:
        raw = b""
    digest, data = raw[:32], raw[32:]
    if len(raw) >= 32 and hashlib.sha256(data).digest() == digest:
        return data
    data = make()
    write_whole(path, hashlib.sha256(data).digest() + data)
    _prune(where, kind)
    return data


def _folder() -> Path:
    return cache_folder() / "build"


def _name(kind: str, key: tuple) -> str:
    return hashlib.sha256(repr((kind, key, toolchain_fingerprint(), _libraries()))
                          .encode("utf-8", "surrogatepass")).hexdigest()[:32]


@functools.cache
def _libraries() -> tuple:
    """The installed fontTools and Babel, by their files' size and time (no import)."""
    found = []
    for module in ("fontTools", "babel", "brotli"):
        spec = find_spec(module)
        origin = spec.origin if spec else None
        st = os.stat(origin) if origin else None
        found.append((module, origin, st and (st.st_size, st.st_mtime_ns)))
    return tuple(found)


def _prune(where: Path, kind: str) -> None:
    """Keep the KEEP newest files of `kind`."""
    try:
        entries = [e for e in os.scandir(where) if e.name.startswith(f"{kind}-")]
        entries.sort(key=lambda e: e.stat().st_mtime_ns, reverse=True)
        for entry in entries[KEEP:]:
            os.unlink(entry.path)
    except OSError:
        pass
