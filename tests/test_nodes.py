"""Two app nodes on one PostgreSQL and one Redis behave as one portal.

Each node is its own gunicorn (two sync workers), on its own port, with the settings a
deployment gives every node (the same SECRET_KEY, DATABASE_URL and REDIS_URL). A login on
A works on B, a logout on A ends the session on B, the lockout and the request rates
count across both, a rebuild reaches both, and two mail workers never send a message
twice. Under CI, PostgreSQL and Redis must be there (the fixtures fail instead of skip).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from email import message_from_bytes, policy
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.conftest import FIXTURES, PASSWORD, ROOT, add_user, csrf_token, make_app

pytestmark = pytest.mark.slow
GUNICORN = Path(sys.executable).with_name("gunicorn")
COOKIE = "portal_minimal"
WRONG = "not-the-password"
METRICS_TOKEN = "metrics-" + uuid.uuid4().hex


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(_NoRedirect)


class Browser:
    """One person's browser: a session cookie it sends to whichever node it asks."""

    def __init__(self) -> None:
        self.sid: str | None = None

    def request(self, base: str, path: str, data: dict | None = None
                ) -> tuple[int, dict, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(base + path, data=body)
        if self.sid:
            req.add_header("Cookie", f"{COOKIE}={self.sid}")
        try:
            response = OPENER.open(req, timeout=20)
        except urllib.error.HTTPError as exc:
            response = exc
        with response:
            text = response.read().decode("utf-8", "replace")
            for header in response.headers.get_all("Set-Cookie") or ():
                match = re.match(rf"{COOKIE}=([^;]*)", header)
                if match:
                    self.sid = match.group(1) or None
            return response.status, dict(response.headers), text

    def get(self, base: str, path: str) -> tuple[int, dict, str]:
        return self.request(base, path)

    def post_form(self, base: str, page: str, action: str, data: dict
                  ) -> tuple[int, dict, str]:
        """GET the page on `base` for its CSRF token, POST the form there."""
        _, _, html = self.get(base, page)
        return self.request(base, action, {**data, "csrf_token": csrf_token(html)})

    def login(self, base: str, who: str = "maria", password: str = PASSWORD) -> int:
        return self.post_form(base, "/login", "/login", {
            "identifier": f"{who}@example.com", "password": password, "kind": "client"})[0]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, postgres_url, redis_url):
    """Two gunicorn nodes (A and B) serving the minimal tenant on one PostgreSQL and one
    Redis, for the whole file: each test uses accounts of its own."""
    import redis

    from generator.build import build
    from runtime.extensions import db

    folder = tmp_path_factory.mktemp("nodes")
    shutil.copytree(FIXTURES / "tenants" / "minimal", folder / "minimal")
    tenant_file = folder / "minimal" / "tenant.yaml"
    built_instance = build(str(tenant_file), folder / "build").instance
    prefix = f"test:nodes:{uuid.uuid4().hex[:12]}:"
    # what every node of a deployment shares: the settings file (or the same variables)
    (built_instance / "settings.py").write_text(
        f"PORTAL_REDIS_PREFIX = {prefix!r}\n"
        'RATE_LIMITS = {"forgot": "3 per minute"}\n')
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PORTAL_MAIL": "outbox",
           "PORTAL_DATABASE_URL": postgres_url, "PORTAL_REDIS_URL": redis_url,
           "PORTAL_SECRET_KEY": "one-secret-for-every-node-" + uuid.uuid4().hex,
           "PORTAL_METRICS_TOKEN": METRICS_TOKEN}
    app = make_app(built_instance, postgres_url)  # a clean schema, migrated
    for user in ("maria", "lucas", "otto"):
        add_user(app, f"{user}@example.com", name=f"{user.title()} Souza")
    with app.app_context():
        db.engine.dispose()
    nodes, processes = [], []
    try:
        for name in ("a", "b"):
            port = _free_port()
            metrics = folder / f"metrics-{name}"  # each node's own (a tmpfs in production)
            metrics.mkdir()
            (metrics / "counter_99999.db").write_bytes(b"left by an earlier run")
            processes.append(subprocess.Popen(
                [str(GUNICORN), "-c", "python:runtime.gunicorn_conf",
                 "--chdir", str(built_instance), "-w", "2", "-k", "sync",
                 "-b", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
                env={**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics)},
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
            nodes.append(f"http://127.0.0.1:{port}")
        for base, process in zip(nodes, processes, strict=True):
            _wait_ready(base, process)
        yield SimpleNamespace(a=nodes[0], b=nodes[1], env=env, instance=built_instance,
                              app=app, tenant_file=tenant_file)
    finally:
        with app.app_context():
            db.engine.dispose()
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(15)
            process.stderr.close()
        client = redis.Redis.from_url(redis_url)
        for key in client.scan_iter(f"*{prefix}*"):
            client.delete(key)


def _wait_ready(base: str, process: subprocess.Popen) -> None:
    for _ in range(300):
        try:
            if Browser().get(base, "/healthz/ready")[0] == 200:
                return
        except OSError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    pytest.fail(f"gunicorn at {base} did not become ready: "
                + process.stderr.read().decode(errors="replace"))


def test_a_login_on_a_is_a_login_on_b(cluster):
    maria = Browser()
    assert maria.login(cluster.a) == 302
    status, _, html = maria.get(cluster.b, "/")
    assert status == 200 and "Maria Souza" in html
    # a form shown by B is accepted by A: the CSRF token lives in the shared session
    status, headers, _ = maria.post_form(cluster.b, "/", "/logout", {})
    assert status == 302 and headers["Location"].endswith("/login")


def test_a_logout_on_a_ends_the_session_on_b(cluster):
    maria = Browser()
    assert maria.login(cluster.b, "otto") == 302
    copied = Browser()
    copied.sid = maria.sid  # the same cookie, in another browser
    assert copied.get(cluster.a, "/")[0] == 200
    status, _, _ = maria.post_form(cluster.a, "/", "/logout", {})
    assert status == 302
    for node in (cluster.a, cluster.b):
        status, headers, _ = copied.get(node, "/")
        assert status == 302 and "/login" in headers["Location"], node


def test_the_lockout_counts_failures_on_both_nodes(cluster):
    browsers = [Browser(), Browser()]
    statuses = [browsers[i % 2].login(cluster.b if i % 2 else cluster.a, "lucas", WRONG)
                for i in range(5)]
    assert statuses == [401] * 5  # the limit (5) spread over A and B
    # the sixth attempt is refused on either node, the right password included
    assert browsers[0].login(cluster.a, "lucas") == 429
    assert browsers[1].login(cluster.b, "lucas") == 429


def test_request_rates_count_on_both_nodes(cluster):
    """RATE_LIMITS forgot = 3 a minute for the address, whichever node answers."""
    answers = [Browser().post_form(cluster.b if i % 2 else cluster.a, "/forgot", "/forgot",
                                   {"identifier": f"x{i}@example.com"})
               for i in range(4)]
    assert [status for status, _, _ in answers] == [302, 302, 302, 429]
    status, headers, html = answers[-1]
    assert "Too many attempts in a short time. Try again in" in html
    assert 1 <= int(headers["Retry-After"]) <= 60


def test_metrics_add_up_the_workers_of_a_node(cluster):
    """Under gunicorn with PROMETHEUS_MULTIPROC_DIR (and runtime.gunicorn_conf), /metrics
    counts the requests every worker answered, not those of the worker it reaches."""
    def answered(node: str) -> float:
        request = urllib.request.Request(node + "/metrics",
                                         headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        with urllib.request.urlopen(request, timeout=20) as response:
            text = response.read().decode()
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("portal_http_requests_total{")
                   and 'endpoint="auth.forgot"' in line and 'method="GET"' in line)

    on_a, on_b = answered(cluster.a), answered(cluster.b)
    for _ in range(40):  # over several connections: both workers of B answer some
        assert Browser().get(cluster.b, "/forgot")[0] == 200
    assert answered(cluster.b) - on_b == 40
    assert answered(cluster.a) == on_a  # each node counts its own; Prometheus scrapes each


def test_a_rebuild_reaches_both_nodes(cluster):
    """Both nodes follow the instance's release link (one folder they share): no restart,
    no signal through Redis needed."""
    from generator.build import build

    tenant_file = cluster.tenant_file
    tenant_file.write_text(tenant_file.read_text().replace("name: Minimal Homes",
                                                           "name: Minimal Homes Rebuilt"))
    build(str(tenant_file), cluster.instance.parent)
    deadline = time.monotonic() + 10
    seen = set()
    while seen != {cluster.a, cluster.b}:
        assert time.monotonic() < deadline, f"only {seen} serve the new release after 10 s"
        for node in (cluster.a, cluster.b):
            # a few requests, so that both workers of the node are asked
            if all("Minimal Homes Rebuilt" in Browser().get(node, "/login")[2]
                   for _ in range(4)):
                seen.add(node)
        time.sleep(0.2)


def test_two_mail_workers_send_each_message_once(cluster):
    """`portal outbox work` on two nodes: every message claimed and written exactly once."""
    from runtime import mail
    from runtime.extensions import db
    from runtime.models import OutboxMessage

    before = set((cluster.instance / "data" / "outbox").glob("*.eml"))
    workers = [subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), "outbox", "work", str(cluster.instance),
         "--interval", "0.2"], env=cluster.env, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        time.sleep(3)  # both started and polling an empty outbox
        with cluster.app.test_request_context():
            for i in range(300):
                mail.queue(f"user{i}@example.com", f"Reset {i}", "reset_password",
                           user=SimpleNamespace(name=f"User {i}"), link=f"https://x.example/{i}")
            db.session.commit()
            deadline = time.monotonic() + 60
            while db.session.scalar(db.select(db.func.count()).where(
                    OutboxMessage.status != "sent")):
                assert time.monotonic() < deadline, "the workers did not send everything"
                db.session.commit()
                time.sleep(0.2)
    finally:
        for worker in workers:
            worker.terminate()
    logs = [worker.communicate(timeout=20)[1] for worker in workers]
    sent = [sum(int(n) for n in re.findall(r"sent (\d+) e-mail", log)) for log in logs]
    assert sum(sent) == 300, logs
    assert all(sent), f"one worker did everything {sent}: the test did not race them"
    folder = cluster.instance / "data" / "outbox"
    ids = [message_from_bytes(p.read_bytes(), policy=policy.default)["Message-ID"]
           for p in folder.glob("*.eml") if p not in before]
    assert len(ids) == 300 and len(set(ids)) == 300
