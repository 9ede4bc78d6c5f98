"""`portal dev`: serve the last good build of a tenant; reload the open pages after each save.

A WSGI app in front of the dev instance's LiveInstance, used by `portal dev` only:
- every portal page gets `<script src="/__dev/reload.js?v=N" defer>` before `</head>`: a
  script file, since the CSP allows scripts from 'self' and never inline ones;
- the script listens to /__dev/events (Server-Sent Events: the served version, at once and
  after each change) and reloads the page when it differs from the version of its page;
- while the last save has errors, every address answers the list of them (500), each at its
  file:line:col; the last good release stays in the instance, and the page turns back into
  the portal by itself once the file is fixed.
The instance is a throwaway: a fresh database with the tenant's sample content
(runtime/sample.py) when `portal dev` starts, and again when the tenant's id, language, modules
or building manager login change, since the sample is made of those. The pages are in English:
they show the validator's diagnostics, which are English, to the consultant at work.
The rebuilding is the generator's (generator/watch.py); this module never imports it.
"""

from __future__ import annotations

import html
import logging
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from werkzeug.serving import make_server

from . import load_config
from .releases import LiveInstance
from .security import CSP

log = logging.getLogger(__name__)
SCRIPT_PATH = "/__dev/reload.js"
EVENTS_PATH = "/__dev/events"
HEARTBEAT_SECONDS = 15.0  # a comment on the event stream: a closed tab frees its thread
MAIL_SECONDS = 2.0  # the outbox is written to data/outbox/ this often

RELOAD_JS = b"""// portal dev: reload this page after a rebuild, or when the save errors change
(function () {
  "use strict";
  var version = new URL(document.currentScript.src).searchParams.get("v");
  var events = new EventSource("/__dev/events");
  events.onmessage = function (event) {
    if (event.data !== version) {
      events.close();
      window.location.reload();
    }
  };
})();
"""

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - portal dev</title>
<style>
body {{ margin: 0; font: 16px/1.5 system-ui, sans-serif; color: #1d1d1f; background: #f6f6f7; }}
main {{ max-width: 60rem; margin: 0 auto; padding: 1.5rem 1rem; }}
h1 {{ font-size: 1.5rem; margin: 0 0 .5rem; }}
.errors h1 {{ color: #b00020; }}
ol {{ padding-left: 1.5rem; }}
li {{ margin: .75rem 0; padding: .75rem; background: #fff; border-left: 4px solid #b00020;
      overflow-wrap: anywhere; }}
code {{ font: .95em/1.4 ui-monospace, monospace; font-weight: 600; }}
</style>
<script src="{script}" defer></script>
</head>
<body class="{kind}">
<main>
{body}
</main>
</body>
</html>
"""


@dataclass(frozen=True)
class Problem:
    """One error of the last save: where (`file:line:col`) and what."""

    where: str
    what: str


class State:
    """What is served now, with a version that changes whenever the open pages must reload."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.version = 0
        self.live: LiveInstance | None = None
        self.problems: tuple[Problem, ...] = ()
        self.note = "Building the portal…"
        self.closed = False

    def show(self, live: LiveInstance | None, problems: tuple[Problem, ...] = (),
             note: str = "", *, rebuilt: bool = False) -> None:
        """Serve this; the open pages reload unless nothing a page shows changed."""
        with self._changed:
            if (not rebuilt and live is self.live and problems == self.problems
                    and note == self.note):
                return
            self.live, self.problems, self.note = live, problems, note
            self.version += 1
            self._changed.notify_all()

    def snapshot(self) -> tuple[int, LiveInstance | None, tuple[Problem, ...], str]:
        with self._changed:
            return self.version, self.live, self.problems, self.note

    def wait(self, seen: int | None, timeout: float) -> int:
        """The version, once it differs from `seen` (or after `timeout`)."""
        with self._changed:
            self._changed.wait_for(lambda: self.version != seen or self.closed, timeout)
            return self.version

    def close(self) -> None:
        with self._changed:
            self.closed = True
            self._changed.notify_all()


class DevApp:
    """The WSGI app `portal dev` serves: the portal, its errors, the reload script and events."""

    def __init__(self, state: State) -> None:
        self.state = state

    def __call__(self, environ, start_response) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == SCRIPT_PATH:
            start_response("200 OK", [("Content-Type", "text/javascript; charset=utf-8"),
                                      ("Cache-Control", "no-store"),
                                      ("X-Content-Type-Options", "nosniff")])
            return [RELOAD_JS]
        if path == EVENTS_PATH:
            start_response("200 OK", [("Content-Type", "text/event-stream"),
                                      ("Cache-Control", "no-store")])
            return self._events()
        version, live, problems, note = self.state.snapshot()
        script = f"{SCRIPT_PATH}?v={version}"
        if problems:
            return _page(start_response, "500 Internal Server Error", _problems(problems, live),
                         "The last save has errors", "errors", script)
        if live is None:
            return _page(start_response, "503 Service Unavailable",
                         f"<h1>{html.escape(note)}</h1><p>This page reloads by itself.</p>",
                         note, "waiting", script)
        return _with_script(live, environ, start_response, script)

    def _events(self) -> Iterator[bytes]:
        yield b"retry: 1000\n\n"  # reconnect quickly after `portal dev` restarts
        seen = None
        while not self.state.closed:
            version = self.state.wait(seen, HEARTBEAT_SECONDS)
            if version == seen:
                yield b": still here\n\n"
            else:
                seen = version
                yield f"data: {version}\n\n".encode()


def _problems(problems: tuple[Problem, ...], live: LiveInstance | None) -> str:
    items = "\n".join(f"<li><code>{html.escape(p.where)}</code><br>{html.escape(p.what)}</li>"
                      for p in problems)
    kept = ("The last good build is kept, and served again as soon as the files are valid."
            if live is not None else "Nothing has been built yet: the portal appears here as "
            "soon as the files are valid.")
    return (f"<h1>The last save has errors</h1>\n<p>Fix them and save: this page reloads by "
            f"itself. {kept}</p>\n<ol>\n{items}\n</ol>")


def _page(start_response, status: str, body: str, title: str, kind: str,
          script: str) -> list[bytes]:
    data = PAGE.format(title=html.escape(title), body=body, kind=kind,
                       script=html.escape(script)).encode()
    start_response(status, [("Content-Type", "text/html; charset=utf-8"),
                            ("Content-Length", str(len(data))), ("Cache-Control", "no-store"),
                            ("Content-Security-Policy", CSP),
                            ("X-Content-Type-Options", "nosniff")])
    return [data]


def _with_script(live: LiveInstance, environ, start_response, script: str) -> Iterable[bytes]:
    """The portal's answer; a whole HTML page gets the reload script before `</head>`.

    The portal calls start_response before it returns its body (Flask does), so a page is
    recognised by its headers and held; anything else passes through untouched.
    """
    if environ.get("REQUEST_METHOD") == "HEAD":
        return live(environ, start_response)
    held: dict = {}

    def capture(status: str, headers: list[tuple[str, str]], exc_info=None):
        kinds = {k.lower(): v for k, v in headers}
        if not kinds.get("content-type", "").startswith("text/html") \
                or "content-encoding" in kinds:
            return start_response(status, headers, exc_info)
        held.update(status=status, headers=headers, exc_info=exc_info, written=[])
        return held["written"].append

    body = live(environ, capture)
    if not held:
        return body
    try:
        data = b"".join([*held["written"], *body])
    finally:
        if hasattr(body, "close"):
            body.close()
    at = data.find(b"</head>")
    if at >= 0:  # a whole page, not a fragment a page fetches
        data = data[:at] + f'<script src="{html.escape(script)}" defer></script>'.encode() \
            + data[at:]
    headers = [(k, v) for k, v in held["headers"] if k.lower() != "content-length"]
    start_response(held["status"], [*headers, ("Content-Length", str(len(data)))],
                   held["exc_info"])
    return [data]


def _sample_key(instance: Path) -> tuple:
    """What the sample content is made of: a change calls for a fresh sample."""
    config = load_config(instance)
    return (instance, config["tenant"]["locale"], tuple(sorted(config["modules"])),
            bool((config.get("features") or {}).get("syndic_login")))


class DevServer:
    """Follows the outcomes of the rebuilds: what to serve, what to tell the terminal."""

    def __init__(self, echo: Callable[[str], None],
                 print_logins: Callable[[str, list], None]) -> None:
        self.state = State()
        self.echo = echo
        self.print_logins = print_logins
        self._key: tuple | None = None
        self._data = threading.Lock()  # the database is replaced or the mail is being written

    def publish(self, outcome) -> None:
        """Serve the outcome of one build (a generator.watch.Outcome) and report it."""
        try:
            self._publish(outcome)
        except Exception:  # noqa: BLE001 - the watcher must outlive one failed rebuild
            log.exception("portal dev could not serve this build")
            self.state.show(self.state.live, (Problem(
                "portal dev", "this build could not be served; the terminal shows why"),))

    def _publish(self, outcome) -> None:
        stamp = time.strftime("%H:%M:%S")
        if outcome.instance is None:
            problems = tuple(Problem(where, what) for where, what in outcome.problems)
            kept = ("the last good build is kept" if self.state.live is not None
                    else "nothing is served until the files are valid")
            self.echo(f"[{stamp}] the last save has {len(problems)} error(s); {kept}. "
                      "Fix and save:")
            for p in problems:
                self.echo(f"  {p.where}: {p.what}")
            self.state.show(self.state.live, problems)
            return
        instance = Path(outcome.instance)
        took = f"{outcome.seconds * 1000:.0f} ms"
        if self._key is None:
            self.echo(f"[{stamp}] built in {took}")
            self._warn(outcome)
            self._fresh(instance)
        elif _sample_key(instance) != self._key:
            self.echo(f"[{stamp}] rebuilt in {took}; the tenant's id, language, modules or "
                      "building manager login changed: fresh sample content (log in again)")
            self._warn(outcome)
            self._fresh(instance)
        elif outcome.changed and not self.state.live.follow():
            self.state.show(self.state.live, (Problem(_shown(instance), "the new build was made "
                            "but the portal cannot start with it; the terminal shows why"),))
        elif outcome.changed or self.state.problems:
            self.echo(f"[{stamp}] rebuilt in {took}; the open pages reload")
            self._warn(outcome)
            self.state.show(self.state.live, rebuilt=True)
        # else: saved without a change to the portal (a comment, the same value)

    def _warn(self, outcome) -> None:
        for warning in outcome.warnings:
            self.echo(f"  {warning}")

    def _fresh(self, instance: Path) -> None:
        """A new database for the instance, filled with the tenant's sample; print the logins."""
        from flask_migrate import upgrade

        from . import sample
        from .extensions import db

        old, self._key = self.state.live, None  # should this fail, the next build starts over
        self.state.show(None, note="Filling the portal with sample content…")
        with self._data:
            if old is not None:
                old.close()
            shutil.rmtree(instance / "data", ignore_errors=True)  # a dev instance: throwaway
            live = LiveInstance(instance)
            with live.app.app_context():
                upgrade(directory=live.app.extensions["migrate"].directory, revision="heads")
                logins = sample.seed()
                db.session.remove()
        self._key = _sample_key(instance)
        name = live.app.extensions["portal"]["tenant"]["name"]
        self.print_logins(f"Sample content for {name} in {_shown(instance)}", logins)
        self.state.show(live, rebuilt=True)

    def deliver_mail(self, stop: threading.Event) -> None:
        """Write the e-mail the portal queues to data/outbox/ (PORTAL_MAIL=outbox) until stopped."""
        from sqlalchemy.exc import SQLAlchemyError

        from .extensions import db
        from .mail import deliver_pending

        while not stop.wait(MAIL_SECONDS):
            with self._data:
                live = self.state.live
                if live is None:
                    continue
                with live.app.app_context():
                    try:
                        deliver_pending()
                    except SQLAlchemyError as exc:
                        db.session.rollback()
                        log.warning("outbox: %s", exc)

    def close(self) -> None:
        self.state.close()
        with self._data:
            if self.state.live is not None:
                self.state.live.close()


def _shown(path: Path) -> str:
    rel = os.path.relpath(path)
    return str(path) if rel.startswith("..") else rel


def _interrupt(*_) -> None:
    raise KeyboardInterrupt  # SIGTERM stops like Ctrl-C: the same clean exit


def serve(rebuilder, host: str, port: int, echo: Callable[[str], None],
          print_logins: Callable[[str, list], None]) -> None:
    """Build, seed and serve the tenant of `rebuilder` (a generator.watch.Rebuilder), then
    rebuild after every save until Ctrl-C or SIGTERM."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the diagnostics stay readable
    dev = DevServer(echo, print_logins)
    # a port in use or a host that is not this machine's: Werkzeug says so and exits 1
    server = make_server(host, port, DevApp(dev.state), threaded=True)
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        dev.publish(rebuilder.build())
        for task in (lambda: rebuilder.watch(stop, dev.publish), lambda: dev.deliver_mail(stop)):
            threading.Thread(target=task, daemon=True).start()
        echo(f"portal dev: http://{host}:{server.server_port}/ (watching "
             f"{', '.join(_shown(p) for p in rebuilder.roots())}; Ctrl-C stops)")
        server.serve_forever()  # returns on Ctrl-C
    finally:
        stop.set()
        dev.close()
        server.server_close()
        signal.signal(signal.SIGTERM, previous)
    echo("portal dev stopped")
