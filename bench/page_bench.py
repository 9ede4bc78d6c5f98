"""Page throughput: logged-in pages under gunicorn vs a bare Flask hello-world, with wrk.

Both run under the same gunicorn settings (sync workers = cores) in the same run, on
loopback; the ratio portal/hello is printed (goal >= 0.5) with p99 latency. Also prints
the number of SQL statements each page runs. Needs Debian's wrk.

    .venv/bin/python bench/page_bench.py [--seconds 10] [--connections 8]
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PAGES = ["/notices", "/", "/tickets"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gunicorn(chdir: Path, module: str, port: int, env: dict) -> subprocess.Popen:
    workers = os.cpu_count() or 2
    proc = subprocess.Popen(
        [str(BIN / "gunicorn"), "--chdir", str(chdir), "-k", "sync", "-w", str(workers),
         "-b", f"127.0.0.1:{port}", "--log-level", "warning", module],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz" if "wsgi" in module
                                   else f"http://127.0.0.1:{port}/", timeout=1)
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"gunicorn did not start for {module}")


def login_cookie(base: str, identifier: str, password: str) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    html = opener.open(base + "/login").read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    data = urllib.parse.urlencode({"identifier": identifier, "password": password,
                                   "csrf_token": token, "kind": "client"}).encode()
    opener.open(base + "/login", data)
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def wrk(url: str, seconds: int, connections: int, cookie: str = "") -> tuple[float, str]:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if cookie:
        cmd[1:1] = ["-H", f"Cookie: {cookie}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+(\S+)", out).group(1)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit(f"{url}: {non2xx.group(1)} error responses under load")
    return rps, p99


def sql_counts(instance: Path) -> dict[str, int]:
    """Statements each page runs, counted in-process for a logged-in client and staff."""
    from sqlalchemy import event

    sys.path.insert(0, str(ROOT))
    from runtime import create_app
    from runtime.extensions import db
    from runtime.modules.tickets.models import Ticket

    app = create_app(instance, {"WTF_CSRF_ENABLED": False})
    counts: dict[str, int] = {}
    with app.app_context():
        engine = db.engine
        protocol = db.session.scalar(db.select(Ticket.protocol).order_by(Ticket.id))
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda *args: statements.append(args[2]))
    for who, pages in (("maria.souza@example.com", ["/", "/notices", "/notices/1", "/faq",
                                                     "/pages/manual", "/tickets",
                                                     "/tickets/" + protocol, "/finance",
                                                     "/profile", "/contact/assistencia"]),
                       ("atendimento@example.com", ["/staff/", "/staff/clients",
                                                     "/staff/notices", "/staff/tickets",
                                                     "/staff/tickets/" + protocol,
                                                     "/staff/tickets/dashboard"])):
        client = app.test_client()
        client.post("/login", data={"identifier": who, "password": "demo-portal-2026"})
        for page in pages:
            statements.clear()
            response = client.get(page)
            assert response.status_code == 200, (page, response.status_code)
            counts[page] = len(statements)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    env = {**os.environ, "PORTAL_MAIL": "outbox"}
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, str(ROOT / "cli.py"), "demo", "--no-serve", "--out",
                        tmp], check=True, stdout=subprocess.DEVNULL, env=env)
        instance = Path(tmp) / "aurora"
        portal_port, hello_port = free_port(), free_port()
        portal = gunicorn(instance, "wsgi:app", portal_port, env)
        hello = gunicorn(ROOT / "bench", "hello:app", hello_port, env)
        try:
            base = f"http://127.0.0.1:{portal_port}"
            cookie = login_cookie(base, "maria.souza@example.com", "demo-portal-2026")
            base_rps, base_p99 = wrk(f"http://127.0.0.1:{hello_port}/", args.seconds,
                                     args.connections)
            print(f"baseline: bare Flask hello-world  {base_rps:8.0f} req/s  p99 {base_p99}")
            for page in PAGES:
                rps, p99 = wrk(base + page, args.seconds, args.connections, cookie)
                print(f"logged-in {page:<22}  {rps:8.0f} req/s  p99 {p99}  "
                      f"ratio {rps / base_rps:.2f} (goal >= 0.5)")
        finally:
            portal.terminate()
            hello.terminate()
            portal.wait()
            hello.wait()
        print("SQL statements per page:")
        for page, count in sql_counts(instance).items():
            print(f"  {page:<22} {count}")


if __name__ == "__main__":
    main()
