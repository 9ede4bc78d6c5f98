"""`portal diff`: what changed between two versions of a tenant, key by key.

Both sides are compared resolved (their bases merged in, schema defaults filled), so a
change made in a base, or a default written out, shows where it takes effect. Lists of
objects with an `id` (or a division group's `group`) are matched by that id, not by
position: `divisions[group=contato].divisions[id=assistencia].sla_hours: 96 -> 72`. Menu
entries are matched by what they open (a module, a division group, a page, a link), so a
menu reordered or relabelled reads as such; files a key names (logo, favicon, images,
pages, template overrides) are compared by content (SHA-256), so a new logo under the same
name shows too.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import subprocess
import tarfile
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .loader import Document, PathT
from .resolve import fill_defaults
from .schema import load_schema

ASSET_KEYS = {"logo", "favicon", "login_image", "image", "page", "templates", "path"}
MENUS = ("menu", "menu_syndic")
MENU_KINDS = ("module", "division_group", "page", "url", "children")


@dataclass
class Change:
    path: str
    change: str  # changed, added, removed, moved (menu entries), content (a file's content)
    old: Any = None
    new: Any = None

    def format(self) -> str:
        if self.change == "changed":
            return f"{self.path}: {show(self.old)} -> {show(self.new)}"
        if self.change == "added":
            return f"{self.path}: added {show(self.new)}"
        if self.change == "removed":
            return f"{self.path}: removed (was {show(self.old)})"
        if self.change == "moved":
            return f"{self.path}: moved from {self.old} to {self.new}"
        return f"{self.path}: file content changed (sha256 {self.old[:12]} -> {self.new[:12]})"


def show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= 120 else text[:117] + "..."


@dataclass
class Side:
    """One version: its resolved data, and where each value came from (for relative files)."""

    data: Any
    doc: Document

    def file_hash(self, path: PathT, value: Any) -> str | None:
        """SHA-256 of the file (or folder) a key names, relative to the file that names it."""
        if not isinstance(value, str) or path[-1] not in ASSET_KEYS or "://" in value:
            return None
        where = Path(self.doc.loc(path).file).parent / value
        digest = hashlib.sha256()
        if where.is_file():
            digest.update(where.read_bytes())
        elif where.is_dir():
            for item in sorted(p for p in where.rglob("*") if p.is_file()):
                digest.update(str(item.relative_to(where)).encode() + b"\0" + item.read_bytes())
        else:
            return None
        return digest.hexdigest()


def resolved(doc: Document) -> Any:
    """The document as the portal sees it; top-level keys in the schema's order (a base's
    keys would otherwise come first), so that a diff reads in the order of a tenant file."""
    data = fill_defaults(copy.deepcopy(doc.data))
    if not isinstance(data, dict):
        return data
    order = {key: i for i, key in enumerate(load_schema().get("properties", {}))}
    return dict(sorted(data.items(), key=lambda item: order.get(item[0], len(order))))


def _id_key(items: list) -> str | None:
    """The key identifying each object of a list ("id", or "group" for division groups)."""
    for key in ("id", "group"):
        if items and all(isinstance(i, dict) and isinstance(i.get(key), (str, int))
                         for i in items):
            ids = [i[key] for i in items]
            if len(set(ids)) == len(ids):
                return key
    return None


class _Differ:
    def __init__(self, old: Side, new: Side):
        self.old, self.new = old, new
        self.changes: list[Change] = []

    def compare(self, a: Any, b: Any, label: str, pa: PathT, pb: PathT) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for key in [*a, *(k for k in b if k not in a)]:
                sub = f"{label}.{key}" if label else str(key)
                if key not in b:
                    self.changes.append(Change(sub, "removed", old=a[key]))
                elif key not in a:
                    self.changes.append(Change(sub, "added", new=b[key]))
                elif not label and key in MENUS:
                    self.menu(a[key], b[key], key, (key,))
                else:
                    self.compare(a[key], b[key], sub, (*pa, key), (*pb, key))
        elif isinstance(a, list) and isinstance(b, list):
            self.compare_list(a, b, label, pa, pb)
        elif a != b or type(a) is not type(b):
            self.changes.append(Change(label, "changed", old=a, new=b))
            self.content(a, b, label, pa, pb)
        else:
            self.content(a, b, label, pa, pb)

    def content(self, a: Any, b: Any, label: str, pa: PathT, pb: PathT) -> None:
        old, new = self.old.file_hash(pa, a), self.new.file_hash(pb, b)
        if old and new and old != new:
            self.changes.append(Change(label, "content", old=old, new=new))

    def compare_list(self, a: list, b: list, label: str, pa: PathT, pb: PathT) -> None:
        key = _id_key(a) if _id_key(a) == _id_key(b) or not b else None
        key = key or (_id_key(b) if not a else None)
        if key:
            olds = {item[key]: i for i, item in enumerate(a)}
            news = {item[key]: i for i, item in enumerate(b)}
            for ident, i in olds.items():
                sub = f"{label}[{key}={ident}]"
                if ident not in news:
                    self.changes.append(Change(sub, "removed", old=a[i]))
                else:
                    j = news[ident]
                    self.compare(a[i], b[j], sub, (*pa, i), (*pb, j))
            for ident, j in news.items():
                if ident not in olds:
                    self.changes.append(Change(f"{label}[{key}={ident}]", "added", new=b[j]))
            common_old = [i for i in olds if i in news]
            common_new = [i for i in news if i in olds]
            if common_old != common_new:
                self.changes.append(Change(f"{label} (order of {key}s)", "changed",
                                           old=common_old, new=common_new))
            return
        if len(a) == len(b) and any(isinstance(x, (dict, list)) for x in (*a, *b)):
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                self.compare(x, y, f"{label}[{i}]", (*pa, i), (*pb, i))
        elif a != b:
            self.changes.append(Change(label, "changed", old=a, new=b))
        else:
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                self.content(x, y, f"{label}[{i}]", (*pa, i), (*pb, i))

    def menu(self, a: Any, b: Any, name: str, path: PathT) -> None:
        old, new = _entries(a, path), _entries(b, path)
        for ident, (where, node, p) in old.items():
            kind, target = ident
            sub = f"{name}[{kind}={target}]"
            if ident not in new:
                self.changes.append(Change(sub, "removed", old=_entry_text(where, node)))
                continue
            where_b, node_b, p_b = new[ident]
            if where[:-1] != where_b[:-1]:  # under another parent entry
                self.changes.append(Change(sub, "moved", old=" > ".join(where) or "top",
                                           new=" > ".join(where_b) or "top"))
            for key in ("label", "icon"):
                if node.get(key) != node_b.get(key):
                    if key not in node_b:
                        self.changes.append(Change(f"{sub}.{key}", "removed", old=node[key]))
                    elif key not in node:
                        self.changes.append(Change(f"{sub}.{key}", "added", new=node_b[key]))
                    else:
                        self.changes.append(Change(f"{sub}.{key}", "changed",
                                                   old=node[key], new=node_b[key]))
            if kind == "page":
                self.content(node[kind], node_b[kind], f"{sub}.page", (*p, kind),
                             (*p_b, kind))
        for ident, (where, node, _p) in new.items():
            if ident not in old:
                kind, target = ident
                self.changes.append(Change(f"{name}[{kind}={target}]", "added",
                                           new=_entry_text(where, node)))
        order_a = [i for i in old if i in new]
        order_b = [i for i in new if i in old]
        if order_a != order_b and sorted(order_a) == sorted(order_b):
            moved = {c.path for c in self.changes if c.change == "moved"}
            if not moved:
                self.changes.append(Change(f"{name} (order)", "changed",
                                           old=[old[i][1].get("label") for i in order_a],
                                           new=[new[i][1].get("label") for i in order_b]))


def _entries(nodes: Any, path: PathT, parents: tuple = ()) -> dict:
    """(kind, target) -> (labels from the top, node, path) for every menu node."""
    out: dict = {}
    if not isinstance(nodes, list):
        return out
    for i, node in enumerate(nodes):
        if not isinstance(node, dict):
            continue
        kind = next((k for k in MENU_KINDS if k in node), None)
        if kind is None:
            continue
        label = str(node.get("label", ""))
        target = label if kind == "children" else node[kind]
        out[(kind, str(target))] = ((*parents, label), node, (*path, i))
        if kind == "children":
            out.update(_entries(node["children"], (*path, i, "children"), (*parents, label)))
    return out


def _entry_text(where: tuple, node: dict) -> str:
    kind = next(k for k in MENU_KINDS if k in node)
    what = "submenu" if kind == "children" else f"{kind} {node[kind]}"
    return f'{" > ".join(where)} ({what})'


def diff(old: Document, new: Document) -> list[Change]:
    """Every change from `old` to `new`, both resolved."""
    differ = _Differ(Side(resolved(old), old), Side(resolved(new), new))
    differ.compare(differ.old.data, differ.new.data, "", (), ())
    return differ.changes


def to_json(changes: list[Change], old: str, new: str) -> str:
    return json.dumps({"old": old, "new": new, "identical": not changes,
                       "changes": [asdict(c) for c in changes]},
                      ensure_ascii=False, indent=2, default=str)


class GitError(Exception):
    pass


def checkout(file: str, rev: str, into: Path) -> Path:
    """Extract the git tree at `rev` into `into`; return where `file` lies in it.

    The whole tree, so that the bases the tenant extends and the files it names are
    those of that revision too.
    """
    path = Path(file).resolve()
    folder = path.parent if path.parent.is_dir() else Path.cwd()

    def git(*args: str, where: Path = folder) -> bytes:
        result = subprocess.run(["git", "-C", str(where), *args], capture_output=True)
        if result.returncode:
            raise GitError(result.stderr.decode(errors="replace").strip()
                           or f"git {' '.join(args)} failed")
        return result.stdout

    root = Path(git("rev-parse", "--show-toplevel").decode().strip())
    rel = path.relative_to(root.resolve())
    try:
        git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except GitError:
        raise GitError(f'"{rev}" is not a revision of the repository {root}') from None
    try:
        git("cat-file", "-e", f"{rev}:{rel.as_posix()}")
    except GitError:
        raise GitError(f"{rel.as_posix()} is not in {rev}") from None
    archive = git("archive", "--format=tar", rev, where=root)  # from the top: every path
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / rel


def temporary() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="portal-diff-")
