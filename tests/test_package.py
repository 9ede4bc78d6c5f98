"""The wheel: a plain (not editable) install validates, builds, migrates and serves anywhere."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, ROOT

# what the wheel is built from: the files pyproject.toml and setup.py name, nothing else
SOURCES = ("pyproject.toml", "setup.py", "README.md", "cli.py", "generator", "runtime",
           "schemas", "themes", "tenants")


def _wheel(tmp: Path) -> Path:
    """Build the wheel from a copy of the sources (a build writes build/ beside them)."""
    src = tmp / "src"
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo"))
        else:
            src.mkdir(exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    # no build isolation: the build backend of this environment, so no network is needed
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp / "dist"), str(src)], check=True, capture_output=True)
    (wheel,) = (tmp / "dist").glob("portal_generator-*.whl")
    return wheel


def _venv(tmp: Path, wheel: Path) -> Path:
    """A fresh venv holding only the wheel; its dependencies come from this environment's
    site-packages through a .pth line (which, unlike this environment's own .pth files,
    does not bring the editable install of the checkout along)."""
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-deps", "--no-index", str(wheel)], check=True, capture_output=True)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], check=True, capture_output=True, text=True)
    Path(site.stdout.strip(), "_dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n")
    return venv


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 30) -> tuple[int, str, str]:
    """GET url, waiting for the server to listen; an HTTP error status is returned, not retried."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return (response.status, response.headers.get("Content-Type", ""),
                        response.read().decode())
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get("Content-Type", ""), exc.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


@pytest.mark.slow
def test_a_plain_pip_install_validates_builds_migrates_and_serves_from_any_folder(tmp_path):
    venv = _venv(tmp_path, _wheel(tmp_path))
    work = tmp_path / "elsewhere"  # no checkout here: everything comes from the wheel
    work.mkdir()
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PORTAL_", "PYTHON"))}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", PORTAL_MAIL="outbox")

    def portal(*args: str) -> str:
        done = subprocess.run(["portal", *args], cwd=work, env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout + done.stderr

    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import generator, runtime\n"
         "from generator.resources import data_folder\n"
         "print(generator.__file__, runtime.__file__, data_folder('schemas'),"
         " data_folder('themes'), data_folder('tenants'))"],
        cwd=work, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert all(Path(path).is_relative_to(venv) for path in where), where
    tenant = FIXTURES / "tenants" / "minimal" / "tenant.yaml"
    assert "1 file(s) valid" in portal("validate", str(tenant))
    assert '"$schema"' in portal("schema")
    assert "built 1 instance(s) in out/" in portal("build", str(tenant), "--out", "out")
    instance = work / "out" / "minimal"
    assert "is up to date" in portal("db", "upgrade", str(instance))
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")  # a file: a full pipe would stall the server
    server = subprocess.Popen(["portal", "serve", str(instance), "--port", str(port)],
                              cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        status, _, html = _get(f"http://127.0.0.1:{port}/login")
        assert status == 200 and "Minimal Homes" in html, (tmp_path / "serve.log").read_text()
        css = re.search(r'href="(/static/theme\.[0-9a-f]+\.css)"', html)
        assert css, html
        status, kind, text = _get(f"http://127.0.0.1:{port}{css.group(1)}")
        assert status == 200 and kind.startswith("text/css") and "--color-primary" in text
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        log.close()
    # the example tenants ship too: the demo of a plain install builds and fills itself
    assert "Demo portal of" in portal("demo", "--no-serve", "--out", "demo")
