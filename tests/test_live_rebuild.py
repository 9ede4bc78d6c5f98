"""Rebuilding an instance while gunicorn serves it: no failed request, the new release live."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import make_app

GUNICORN = Path(sys.executable).with_name("gunicorn")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


@pytest.fixture
def served(built_instance):
    """gunicorn with two workers on the built instance."""
    from runtime.extensions import db

    app = make_app(built_instance)  # migrates the SQLite database
    with app.app_context():
        db.engine.dispose()
    port = _free_port()
    env = {**os.environ, "PORTAL_MAIL": "outbox", "PYTHONPATH": str(Path.cwd())}
    process = subprocess.Popen(
        [str(GUNICORN), "--chdir", str(built_instance), "-w", "2", "-k", "sync",
         "-b", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if _get(base + "/healthz")[0] == 200:
                break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        with process.stderr:
            pytest.fail("gunicorn did not start: " + process.stderr.read().decode())
    yield base
    process.terminate()
    process.wait(10)
    process.stderr.close()


def _load(base: str, stop: threading.Event, failures: list, counts: list) -> None:
    """A browser: the login page, then its stylesheet; a missing page; over and over."""
    while not stop.is_set():
        try:
            status, html = _get(base + "/login")
            if status != 200:
                failures.append(("/login", status))
                continue
            css = re.search(r'href="(/static/theme\.[0-9a-f]{10}\.css)"', html).group(1)
            status, _ = _get(base + css)
            if status != 200:
                failures.append((css, status))
            status, page = _get(base + "/no-such-page")
            if status != 404 or "<html" not in page:
                failures.append(("/no-such-page", status))
            counts.append(3)
        except OSError as exc:  # a dropped connection is a failure too
            failures.append(("connection", repr(exc)))


def test_rebuilds_under_load_fail_no_request_and_go_live(served, tenant_file, built_instance):
    from generator.build import build

    stop = threading.Event()
    failures: list = []
    counts: list = []
    threads = [threading.Thread(target=_load, args=(served, stop, failures, counts))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    original = tenant_file.read_text()
    try:
        for i, colour in enumerate(("#123456", "#234567", "#345678")):
            time.sleep(1.0)
            text = original.replace("name: Minimal Homes", f"name: Minimal Homes {i}")
            assert text != original
            tenant_file.write_text(text)
            _set_primary(tenant_file, colour)
            build(str(tenant_file), built_instance.parent)
            # live within a few seconds in every worker, with no restart
            deadline = time.monotonic() + 5
            streak = 0
            while streak < 10:
                assert time.monotonic() < deadline, "the new release was not served in 5 s"
                streak = streak + 1 if _is_live(served, f"Minimal Homes {i}", colour) else 0
        time.sleep(1.0)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert failures == []
    assert sum(counts) > 100  # the load really ran
    # releases no process serves any more are gone after the next build
    releases = list((built_instance / ".releases").iterdir())
    assert len(releases) <= 4


def _is_live(base: str, name: str, colour: str) -> bool:
    html = _get(base + "/login")[1]
    if name not in html:
        return False
    css = re.search(r'href="(/static/theme\.[0-9a-f]{10}\.css)"', html).group(1)
    return colour.lower() in _get(base + css)[1].lower()


def _set_primary(tenant_file: Path, colour: str) -> None:
    text = tenant_file.read_text()
    if "primary:" in text:
        text = re.sub(r'primary: "#[0-9A-Fa-f]{6}"', f'primary: "{colour}"', text)
    else:
        text += f'branding:\n  colors:\n    primary: "{colour}"\n'
    tenant_file.write_text(text)


def test_an_unusable_release_keeps_the_running_one_serving(built_instance, tmp_path):
    """A release the process cannot load is logged, and the previous one goes on serving."""
    from runtime.releases import LiveInstance

    make_app(built_instance)
    live = LiveInstance(built_instance, check_seconds=0)
    client_before = live.app.test_client()
    assert client_before.get("/login").status_code == 200
    broken = built_instance / ".releases" / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{}")
    link = built_instance / "release"
    good = os.readlink(link)
    tmp = built_instance / ".release-test"
    os.symlink(".releases/broken", tmp)
    os.replace(tmp, link)
    try:
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/login", "SERVER_NAME": "localhost",
                   "SERVER_PORT": "80", "wsgi.url_scheme": "http", "wsgi.input": None}
        statuses = []
        body = live(environ, lambda status, headers, exc_info=None: statuses.append(status))
        b"".join(body)
        body.close()
        assert statuses == ["200 OK"]
    finally:
        os.symlink(good, tmp)
        os.replace(tmp, link)
