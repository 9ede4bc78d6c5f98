"""A served instance follows its `release` link across rebuilds, with no failed request.

`portal build` writes a new release folder and swaps the `release` link. Each
process that serves an instance holds a shared lock on the release its app was
made from (`<release>/.lock`), and a build deletes only the old releases that
nobody holds. LiveInstance (the WSGI app of `wsgi.py`) looks at the link at most
once per CHECK_SECONDS: when it moved, it makes the app of the new release,
sends new requests there, and lets the old app go once its last request is done.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from pathlib import Path

from werkzeug.wsgi import ClosingIterator

log = logging.getLogger(__name__)
LOCK_NAME = ".lock"
CHECK_SECONDS = 1.0


class ReleaseLease:
    """A shared lock on one release folder: while it is held, no build deletes the folder."""

    def __init__(self, folder: Path, fd: int) -> None:
        self.folder = folder
        self._fd: int | None = fd

    @classmethod
    def take(cls, instance: Path) -> ReleaseLease:
        """Lease the release the instance's link points at now (retried if a build races us)."""
        for _ in range(20):
            folder = (instance / "release").resolve()
            try:
                fd = os.open(folder / LOCK_NAME, os.O_RDONLY | os.O_CREAT, 0o644)
            except FileNotFoundError:  # pruned between resolve and open: look again
                continue
            fcntl.flock(fd, fcntl.LOCK_SH)
            if (folder / "config.json").is_file():
                return cls(folder, fd)
            os.close(fd)  # deleted while we waited for the lock
        raise RuntimeError(f"{instance}: its release keeps changing; is a build looping?")

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self) -> None:
        self.close()


class _Served:
    """One app and the requests it is answering."""

    def __init__(self, app, target: str) -> None:
        self.app = app
        self.target = target
        self.inflight = 0
        self.retired = False


class LiveInstance:
    """The WSGI app of a built instance: it picks up every rebuild by itself."""

    def __init__(self, instance: str | os.PathLike, check_seconds: float = CHECK_SECONDS) -> None:
        self.instance = Path(instance).resolve()
        self.check_seconds = check_seconds
        self._lock = threading.Lock()
        self._checked = time.monotonic()
        self._failed_target: str | None = None
        self._served = _Served(self._make_app(), self._target())

    def _target(self) -> str:
        return os.readlink(self.instance / "release")

    def _make_app(self):
        from . import create_app

        return create_app(self.instance)

    @property
    def app(self):
        """The Flask app of the current release (for tests and tools)."""
        return self._served.app

    def _follow(self) -> None:
        """Switch to the release the link points at now, if it moved."""
        target = self._target()
        if target == self._served.target or target == self._failed_target:
            return
        try:
            app = self._make_app()
        except Exception:  # a broken release must not take the running one down
            log.exception("the new release %s cannot be served; still serving %s",
                          target, self._served.target)
            self._failed_target = target
            return
        old, self._served = self._served, _Served(app, target)
        old.retired = True
        log.info("now serving release %s (was %s)", target, old.target)
        if old.inflight == 0:
            self._release(old)

    def follow(self) -> bool:
        """Serve the release the link points at now, at once (`portal dev`, right after a
        build); False when that release cannot be served (the error is logged)."""
        with self._lock:
            self._checked = time.monotonic()
            self._follow()
            return self._served.target == self._target()

    def close(self) -> None:
        """Let the current app go: its release lease and database connections."""
        with self._lock:
            served = self._served
            served.retired = True
            idle = served.inflight == 0
        if idle:
            self._release(served)

    def _release(self, served: _Served) -> None:
        from .extensions import db

        portal = served.app.extensions["portal"]
        lease, portal.lease = portal.lease, None
        if lease is not None:
            lease.close()
        with served.app.app_context():
            db.engine.dispose()

    def _done(self, served: _Served) -> None:
        with self._lock:
            served.inflight -= 1
            last = served.retired and served.inflight == 0
        if last:
            self._release(served)

    def __call__(self, environ, start_response):
        now = time.monotonic()
        if now - self._checked >= self.check_seconds:
            with self._lock:
                if now - self._checked >= self.check_seconds:
                    self._checked = now
                    self._follow()
        with self._lock:
            served = self._served
            served.inflight += 1
        try:
            response = served.app(environ, start_response)
        except BaseException:
            self._done(served)
            raise
        return ClosingIterator(response, [lambda: self._done(served)])


def _static_across_releases(app):
    """Serve a content-hashed file from an older release still on disk, after a rebuild.

    A page rendered just before the switch asks for the stylesheet of its own release; a
    hashed name is the same content wherever it lies, so any release that has it may answer.
    """
    from flask import send_from_directory
    from werkzeug.exceptions import NotFound
    from werkzeug.security import safe_join

    from .security import is_hashed

    releases = Path(app.instance_path) / ".releases"
    own = app.view_functions["static"]

    def static(filename: str):
        try:
            return own(filename=filename)
        except NotFound:
            if not is_hashed(filename):
                raise
        for folder in sorted(releases.iterdir(), reverse=True):
            path = safe_join(str(folder / "static"), filename)
            if path is not None and os.path.isfile(path):
                return send_from_directory(folder / "static", filename,
                                           max_age=app.get_send_file_max_age(filename))
        raise NotFound()

    app.view_functions["static"] = static


def init_app(app) -> None:
    _static_across_releases(app)
