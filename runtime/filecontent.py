"""Content seeded from the tenant file, then edited by the company in the staff console.

FAQ entries and home banners start as the consultant wrote them and then belong to the
company's administrators. Each row remembers the file entry it came from (`source_key`:
the entry's `id`, or a digest of what identifies it), so that a rebuild can tell the
file's changes from the console's:

- an entry new in the file is added, after the others;
- an entry nobody edited in the console takes the file's new content;
- an entry an administrator edited (`edited_at`) keeps the console's content for good;
- order and visibility are the console's once an entry exists (a reorder or a hide is not
  an edit of the content: the file's later wording still reaches that entry);
- an entry gone from the file is deleted when nobody edited it, and kept (as the console's
  own) when somebody did; one an administrator deleted stays deleted (a tombstone row,
  `deleted_at`) while the file still has it.

The file's entries are applied once per app, on its first request (after a build or a
restart: usually the login page), and before any read of them (a screen that reads them
first): no later page pays for it.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from flask import Flask, current_app, request
from sqlalchemy import ForeignKey, String, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import db
from .models import utcnow

_lock = threading.Lock()
T = TypeVar("T")
_appliers: dict[str, tuple[Callable[[], Any], str | None]] = {}
# answered without the database: liveness and readiness probes, metrics, static files
QUIET = frozenset({"static", "healthz", "ready", "metrics"})


class FileSeeded:
    """The columns of a row seeded from the tenant file and edited in the console."""

    # the file entry it came from; None for an entry added in the console
    source_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    position: Mapped[int] = mapped_column(default=0, index=True)
    hidden: Mapped[bool] = mapped_column(default=False)
    # deleted in the console while the file still has it: kept so a rebuild does not revive it
    deleted_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # the last edit of its content in the console; set, the file no longer changes it
    edited_at: Mapped[datetime | None]
    edited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    @property
    def from_file(self) -> bool:
        return self.source_key is not None

    def edited_by(self, user: Any) -> None:
        self.edited_at = utcnow()
        self.edited_by_id = user.id


def digest_key(*parts: str | None) -> str:
    """A source key for a file entry without an `id`: the digest of what identifies it."""
    text = "\n".join(part or "" for part in parts)
    return "h:" + hashlib.sha256(text.encode()).hexdigest()[:40]


def keyed(entries: Iterable[T], key: Callable[[T], str]) -> dict[str, T]:
    """The file's entries by source key; a repeated key (the same image for two banners, no
    `id`) gets its occurrence number, so that neither entry hides the other."""
    out: dict[str, T] = {}
    for entry in entries:
        first = candidate = key(entry)
        n = 1
        while candidate in out:
            n += 1
            candidate = digest_key(first, str(n))
        out[candidate] = entry
    return out


def sync(model: type, wanted: Mapping[str, Mapping[str, Any]]) -> bool:
    """Bring `model`'s rows in line with the file's entries (source key -> content columns).

    Returns whether anything changed; the caller's session is committed when it did.
    """
    rows = {row.source_key: row for row in
            db.session.scalars(select(model).where(model.source_key.is_not(None)))}
    last = db.session.scalar(select(func.max(model.position)))
    position = -1 if last is None else last
    changed = False
    for key, values in wanted.items():
        row = rows.pop(key, None)
        if row is None:
            position += 1
            db.session.add(model(source_key=key, position=position, **values))
            changed = True
        elif row.edited_at is None and row.deleted_at is None:
            for name, value in values.items():
                if getattr(row, name) != value:
                    setattr(row, name, value)
                    changed = True
    for row in rows.values():  # no longer in the file
        if row.edited_at is None or row.deleted_at is not None:
            db.session.delete(row)
            changed = True
    if changed:
        db.session.commit()
    return changed


def register(name: str, apply: Callable[[], Any], module: str | None = None) -> None:
    """`apply` brings the database in line with the tenant file's entries (it calls sync);
    `module`: only in apps that run that module."""
    _appliers[name] = (apply, module)


def ensure_synced(name: str) -> None:
    """Apply the file's entries of `name` once per app (a no-op after the first time)."""
    done = current_app.extensions.setdefault("portal.file_content", set())
    if name in done:
        return
    with _lock:
        if name in done:
            return
        apply = _appliers[name][0]
        try:
            apply()
        except IntegrityError:  # another process seeded the same entries at the same moment
            db.session.rollback()
            apply()  # over its rows now: updates only
        done.add(name)


def init_app(app: Flask) -> None:
    """Apply the file's content on the app's first request (the first after a build or a
    restart; usually the login page), so that no later page pays for it."""
    applied: list[bool] = []

    def first_request() -> None:
        if applied or request.endpoint in QUIET:
            return
        running = current_app.extensions["portal"].modules
        for name, (_apply, module) in _appliers.items():
            if module is None or module in running:
                ensure_synced(name)
        applied.append(True)

    app.before_request(first_request)
