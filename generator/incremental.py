"""Skip tenants whose inputs did not change since the last build (as make does).

OUT/.build-index.json records, per tenant file, the instance it built, the
release it produced and the size and modification time of every file it read
(tenant file, bases, assets, pages, overrides), plus a fingerprint of the
toolchain (generator, schema, themes, translations, vendored files, the runtime's templates).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from . import __version__, icons, themes
from .resources import data_folder, generator_folder, runtime_folder

INDEX_NAME = ".build-index.json"


def _signature(path: Path) -> list | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return [str(path), st.st_size, st.st_mtime_ns]


@functools.cache
def toolchain_fingerprint() -> str:
    """Changes when the code, schema (with module fragments), themes, catalogues or vendored
    files change."""
    files: list[Path] = []
    for folder in (generator_folder(), data_folder("schemas"), data_folder("themes"),
                   runtime_folder("translations")):
        files += [p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    for name in themes.available():
        theme = themes.get(name)
        files += [theme.vendor_source(item) for item in theme.vendor]
    # the modules' schema fragments are part of the schema a tenant is validated against
    from .schema import MODULE_FOLDERS

    for folder in MODULE_FOLDERS:
        files += list(folder.glob("*/schema.json"))
    # the runtime's templates and code name the icons a release's icon font keeps
    files += icons.code_files(tuple(MODULE_FOLDERS))
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(files):
        digest.update(json.dumps(_signature(path)).encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class Entry:
    tenant_id: str
    release: str


@dataclass
class BuildResult:
    """One tenant built (or found unchanged) into its instance folder."""

    tenant_id: str
    instance: Path
    release: str
    changed: bool


class BuildIndex:
    """What the previous builds into one output folder read and produced."""

    def __init__(self, out_dir: Path, *, fresh: bool = False):
        """`fresh`: start empty without reading the folder's index (a build worker's: the
        entries it records are handed to the process that owns the index, see `entry`)."""
        self.path = Path(out_dir) / INDEX_NAME
        self.entries: dict = {}
        if not fresh:
            try:
                self.entries = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                pass
        self.dirty = False

    @staticmethod
    def _key(file: str) -> str:
        return str(Path(file).resolve())

    def lookup(self, file: str) -> Entry | None:
        """The previous result for `file` if nothing it read has changed, else None."""
        entry = self.entries.get(self._key(file))
        if not entry or entry.get("toolchain") != toolchain_fingerprint():
            return None
        link = self.path.parent / entry["tenant_id"] / "release"
        try:
            if os.readlink(link) != f".releases/{entry['release']}":
                return None
        except OSError:
            return None
        for recorded in entry["inputs"]:
            if _signature(Path(recorded[0])) != recorded:
                return None
        return Entry(entry["tenant_id"], entry["release"])

    def record(self, file: str, tenant_id: str, release: str, inputs: list[Path]) -> None:
        signatures = [s for s in (_signature(Path(p).resolve()) for p in sorted(set(inputs))) if s]
        self.entries[self._key(file)] = {"tenant_id": tenant_id, "release": release,
                                         "toolchain": toolchain_fingerprint(),
                                         "inputs": signatures}
        self.dirty = True

    def inputs(self, file: str) -> list[Path]:
        """The files the last build of `file` read (`portal dev` watches them); [] if none."""
        entry = self.entries.get(self._key(file)) or {}
        return [Path(recorded[0]) for recorded in entry.get("inputs", [])]

    def entry(self, file: str) -> dict | None:
        """What `record` wrote for `file`, to `adopt` into another index."""
        return self.entries.get(self._key(file))

    def adopt(self, file: str, entry: dict) -> None:
        """Take the entry another index (a worker's) recorded for `file`."""
        self.entries[self._key(file)] = entry
        self.dirty = True

    def forget(self, file: str) -> None:
        if self.entries.pop(self._key(file), None) is not None:
            self.dirty = True

    def save(self) -> None:
        if not self.dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f"{INDEX_NAME}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.entries, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.path)
        self.dirty = False
