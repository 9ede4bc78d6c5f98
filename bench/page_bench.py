"""Page throughput: logged-in pages under gunicorn vs a bare Flask hello-world, with wrk.

Both run under the same gunicorn settings (sync workers = cores) in the same run, on
loopback. The demo portal gets a realistic load: several clients, each logged in with
their own session cookie (gates passed, the pending pop-up seen) and 45 tickets of their
own in every stage, among 10,000 tickets of other clients (most finished, some 1,800
open); wrk rotates the clients' cookies request by request (a Lua script), with the
User-Agent they logged in with, so no session is rewritten by the load. For home,
notices, "My tickets", a ticket's page (each client their own) and the staff queue it
prints requests/s and the ratio to the hello-world (the mean of a run before and after
the pages), the p99 latency and the workers' CPU per request (user + system time of the
gunicorn workers from /proc, before and after), and the machine's load average, which
says how far to trust the figures. Any answer but 200 stops the run. Then the SQL
statements per page.

With the page cache present (runtime/pagecache.py), the pages are measured with it
off (PAGE_CACHE_MB=0) and on.

    .venv/bin/python bench/page_bench.py [--seconds 10] [--connections 16] [--redis URL]

Needs Debian's wrk (apt-get install wrk).
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
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PASSWORD = "demo-portal-2026"
CLIENTS = ["maria.souza@example.com", "joao.lima@example.com", "pedro.alves@example.com"]
STAFF = "atendimento@example.com"
USER_AGENT = "page-bench"
OWN_TICKETS = 45  # per client: three pages of "My tickets"
OTHER_TICKETS = 10_000
GOALS = {"home": 0.5, "notices": 0.5, "my tickets": 0.5, "a ticket": 0.3, "staff queue": 0.3}
TICKS = os.sysconf("SC_CLK_TCK")

LUA = """
local targets = {%s}
n, bad = 0, 0  -- globals: done() reads each thread's `bad`
request = function()
  n = n + 1
  local t = targets[(n %% #targets) + 1]
  return wrk.format("GET", t[1], {["Cookie"] = t[2], ["User-Agent"] = "%s"})
end
response = function(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end
function setup(thread) table.insert(threads, thread) end
threads = {}
done = function(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("bad") end
  io.write(string.format("not-200: %%d\\n", total))
end
"""


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
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz" if "wsgi" in module
                                   else f"http://127.0.0.1:{port}/", timeout=1)
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"gunicorn did not start for {module}")


def worker_ticks(master: int) -> int:
    """User + system CPU ticks of gunicorn's workers (the master's children) so far."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    total = 0
    for pid in children:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total


# -- data and sessions ----------------------------------------------------------------------

def seed(instance: Path) -> None:
    """45 tickets in every stage for each bench client, 10,000 for other clients; the
    imported client (no password in the demo) gets the demo's password."""
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import insert, select

    from runtime import create_app
    from runtime.extensions import db
    from runtime.models import User, utcnow
    from runtime.modules.tickets.models import STATUSES, Ticket

    app = create_app(instance)
    with app.app_context():
        ids = dict(db.session.execute(select(User.email, User.id)).all())
        db.session.get(User, ids[CLIENTS[-1]]).set_password(PASSWORD)
        others = [ids[e] for e in ids if e and e not in CLIENTS and e != STAFF] or [ids[STAFF]]
        now = utcnow()
        rows = []

        def ticket(n: int, client_id: int, statuses=STATUSES) -> dict:
            status = statuses[n % len(statuses)]
            at = now - timedelta(hours=n % 2000)
            return {"protocol": f"B-{n:07d}", "client_id": client_id,
                    "division_id": "assistencia", "request_id": "eletrica",
                    "title": f"Pedido de teste {n}", "description": "Texto " * 40,
                    "answers": [{"id": "x", "label": "Cômodo", "type": "text",
                                 "value": "Cozinha"}],
                    "status": status, "created_at": at, "updated_at": at + timedelta(hours=1),
                    "sla_hours": 48.0, "sla_due_at": at + timedelta(hours=48),
                    "resolved_at": at if status in ("resolved", "finished") else None,
                    "finished_at": at if status == "finished" else None,
                    "cancelled_at": at if status == "cancelled" else None}

        for c, email in enumerate(CLIENTS):
            rows += [ticket(c * OWN_TICKETS + n, ids[email]) for n in range(OWN_TICKETS)]
        start = len(rows)
        # a desk's history: most requests are long finished, a few hundred are open
        history = ("finished",) * 16 + ("cancelled",) * 2 + STATUSES[:5]
        rows += [ticket(start + n, others[n % len(others)], history)
                 for n in range(OTHER_TICKETS)]
        db.session.execute(insert(Ticket), rows)
        db.session.commit()


def _token(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def login(base: str, identifier: str) -> tuple[str, str]:
    """Log in as a browser would, pass the gates (postponed or confirmed), see the pending
    pop-up once: (the Cookie header, the first own ticket's protocol or "")."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", USER_AGENT)]
    html = opener.open(base + "/login").read().decode()
    opener.open(base + "/login", urllib.parse.urlencode(
        {"identifier": identifier, "password": PASSWORD, "csrf_token": _token(html),
         "kind": "client"}).encode())
    for _ in range(5):  # each gate: its "later" (or its first form), then the next one
        answer = opener.open(base + "/")
        path = urllib.parse.urlsplit(answer.geturl()).path
        if path in ("/", "/staff/", "/staff"):
            break
        html = answer.read().decode()
        actions = [a for a in re.findall(r'<form[^>]*action="([^"]+)"', html)
                   if a != "/logout"]
        data = {"csrf_token": _token(html), "next": "/"}
        if 'value="later"' in html:
            data["action"] = "later"
        target = urllib.parse.urljoin(answer.geturl(), actions[0] if actions else "")
        opener.open(target, urllib.parse.urlencode(data).encode())
    opener.open(base + "/pending")
    html = opener.open(base + "/tickets").read().decode()
    protocol = re.search(r'href="/tickets/([^"?#]+)"', html)
    return "; ".join(f"{c.name}={c.value}" for c in jar), protocol.group(1) if protocol else ""


# -- load -----------------------------------------------------------------------------------

def wrk(base: str, targets: list[tuple[str, str]], seconds: int, connections: int,
        master: int | None) -> dict:
    """Load `targets` ((path, cookie) in turn): requests/s, p99, CPU ms per request."""
    lua = LUA % (", ".join(f'{{"{p}", "{c}"}}' for p, c in targets), USER_AGENT)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua)
    before = worker_ticks(master) if master else 0
    try:
        out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency",
                              "-s", script.name, base], capture_output=True, text=True,
                             check=True).stdout
    finally:
        os.unlink(script.name)
    ticks = (worker_ticks(master) - before) if master else 0
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    bad = int(re.search(r"not-200: (\d+)", out).group(1))
    if bad:
        raise SystemExit(f"{targets[0][0]}: {bad} answers other than 200 under load")
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p99": re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1),  # the distribution's line
            "cpu_ms": ticks / TICKS * 1000 / requests if requests else 0.0}


def measure(instance: Path, env: dict, hello_base: str, hello_master: int, label: str,
            args) -> None:
    port = free_port()
    portal = gunicorn(instance, "wsgi:app", port, env)
    base = f"http://127.0.0.1:{port}"
    try:
        clients = [login(base, email) for email in CLIENTS]
        staff, _ = login(base, STAFF)
        pages = {
            "home": [("/", c) for c, _ in clients],
            "notices": [("/notices", c) for c, _ in clients],
            "my tickets": [("/tickets", c) for c, _ in clients],
            "a ticket": [(f"/tickets/{p}", c) for c, p in clients],
            "staff queue": [("/staff/tickets", staff)],
        }
        hello = [wrk(hello_base, [("/", "")], args.seconds, args.connections, hello_master)]
        results = {name: wrk(base, targets, args.seconds, args.connections, portal.pid)
                   for name, targets in pages.items()}
        hello.append(wrk(hello_base, [("/", "")], args.seconds, args.connections,
                         hello_master))
    finally:
        portal.terminate()
        portal.wait()
    base_rps = sum(h["rps"] for h in hello) / len(hello)
    print(f"\n{label} (load average after: {os.getloadavg()[0]:.1f})")
    print(f"  hello-world (before, after)   {hello[0]['rps']:6.0f}, {hello[1]['rps']:6.0f} "
          f"req/s  p99 {hello[0]['p99']}, {hello[1]['p99']}  "
          f"CPU {hello[0]['cpu_ms']:.2f} ms/request")
    for name, r in results.items():
        print(f"  {name:<14} {r['rps']:6.0f} req/s  ratio {r['rps'] / base_rps:4.2f} "
              f"(goal >= {GOALS[name]})  p99 {r['p99']:>8}  CPU {r['cpu_ms']:.2f} ms/request")


def sql_counts(instance: Path) -> dict[str, int]:
    """Statements each page runs, counted in-process for a logged-in client and staff."""
    from sqlalchemy import event

    from runtime import create_app
    from runtime.extensions import db
    from runtime.modules.tickets.models import Ticket

    app = create_app(instance, {"WTF_CSRF_ENABLED": False, "PORTAL_PAGE_CACHE_BYTES": 0})
    counts: dict[str, int] = {}
    with app.app_context():
        engine = db.engine
        protocol = db.session.scalar(db.select(Ticket.protocol).order_by(Ticket.id))
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda *args: statements.append(args[2]))
    for who, pages in ((CLIENTS[0], ["/", "/notices", "/notices/1", "/faq", "/pages/manual",
                                     "/tickets", "/tickets/" + protocol, "/finance",
                                     "/profile", "/contact/assistencia"]),
                       (STAFF, ["/staff/", "/staff/clients", "/staff/notices",
                                "/staff/tickets", "/staff/tickets/" + protocol,
                                "/staff/tickets/dashboard"])):
        client = app.test_client()
        client.post("/login", data={"identifier": who, "password": PASSWORD})
        for _ in range(5):  # the gates: postponed ("later") or confirmed, as in login()
            gate = client.get("/").location
            if not gate or gate.startswith("/staff"):
                break
            html = client.get(gate).get_data(as_text=True)
            data = {"csrf_token": _token(html), "next": "/"}
            if 'value="later"' in html:
                data["action"] = "later"
            actions = [a for a in re.findall(r'<form[^>]*action="([^"]+)"', html)
                       if a != "/logout"]
            client.post(actions[0] if actions else gate, data=data)
        client.get("/pending")
        for page in pages:
            statements.clear()
            response = client.get(page)
            assert response.status_code == 200, (page, response.status_code)
            counts[page] = len(statements)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--redis", metavar="URL",
                        help="sessions, generations and rate limits in this Redis (what "
                             "production uses; default: the embedded SQLite database)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    env = {**os.environ, "PORTAL_MAIL": "outbox"}
    if args.redis:
        env["PORTAL_REDIS_URL"] = args.redis
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, str(ROOT / "cli.py"), "demo", "--no-serve", "--out",
                        tmp], check=True, stdout=subprocess.DEVNULL, env=env)
        instance = Path(tmp) / "aurora"
        seed(instance)
        hello_port = free_port()
        hello = gunicorn(ROOT / "bench", "hello:app", hello_port, env)
        try:
            hello_base = f"http://127.0.0.1:{hello_port}"
            runs = [("portal", env)]
            if (ROOT / "runtime" / "pagecache.py").exists():
                runs = [("portal, page cache off", {**env, "PORTAL_PAGE_CACHE_MB": "0"}),
                        ("portal, page cache on", env)]
            print(f"load average before: {os.getloadavg()[0]:.1f}; "
                  f"gunicorn sync workers = {os.cpu_count()}, wrk 2 threads, "
                  f"{args.connections} connections, {args.seconds} s per page; "
                  f"{len(CLIENTS)} clients with {OWN_TICKETS} tickets each among "
                  f"{OTHER_TICKETS} others; sessions and generations in "
                  f"{'Redis' if args.redis else 'the SQLite database'}")
            for label, run_env in runs:
                measure(instance, run_env, hello_base, hello.pid, label, args)
        finally:
            hello.terminate()
            hello.wait()
        print("\nSQL statements per page:")
        for page, count in sql_counts(instance).items():
            print(f"  {page:<24} {count}")


if __name__ == "__main__":
    main()
