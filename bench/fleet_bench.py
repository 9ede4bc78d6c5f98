"""Fleet: one gunicorn worker serving 500 tenants (memory, cold and warm first requests).

Builds N generated tenants (bench/build_bench.py's), migrates one SQLite database and
copies it to the others (the same migrations), then serves the folder with
`gunicorn -w 1 'runtime.fleet:Fleet("DIR")'` and asks each tenant for /login twice.
Baselines, measured in the same run: the worker's memory before any tenant was asked
(the runtime imported, no app made), and the warm second request of each tenant.
Goals: the worker stays under 400 MB after one request to each of 500 tenants; a cold
tenant's first request is printed (median and p95) beside the warm one.

    .venv/bin/python bench/fleet_bench.py [--tenants 500]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "bench"))
from build_bench import generate, run_build  # noqa: E402  (the bench folder is not a package)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def migrate_once(build: Path) -> None:
    """Migrate the first instance's SQLite database and copy it into every other one."""
    instances = sorted(p for p in build.iterdir() if (p / "release").exists())
    subprocess.run([sys.executable, str(ROOT / "cli.py"), "db", "upgrade", str(instances[0])],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    database = instances[0] / "data" / "portal.db"
    for instance in instances[1:]:
        (instance / "data").mkdir(exist_ok=True)
        shutil.copy(database, instance / "data" / "portal.db")


def get(port: int, host: str, path: str) -> float:
    """Seconds to answer `path` on `host` (which must answer 200)."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": host})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()
        assert response.status == 200, (host, response.status)
    return time.perf_counter() - started


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def worker_of(master: int) -> int:
    for _ in range(100):
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise SystemExit("gunicorn started no worker")


def serve(build: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "PORTAL_MAIL": "outbox", "PYTHONPATH": str(ROOT)}
    env.pop("PORTAL_DATABASE_URL", None)
    proc = subprocess.Popen(
        [str(BIN / "gunicorn"), "-w", "1", "-k", "sync", "-b", f"127.0.0.1:{port}",
         "--timeout", "120", "--log-level", "warning", f"runtime.fleet:Fleet({str(build)!r})"],
        env=env, stdout=subprocess.DEVNULL)
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
        except urllib.error.HTTPError:  # 404: no tenant on 127.0.0.1, but it answers
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("gunicorn did not start")


def p95(seconds: list[float]) -> float:
    return statistics.quantiles(seconds, n=20)[-1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=500)
    args = parser.parse_args()
    n = args.tenants
    with tempfile.TemporaryDirectory() as tmp:
        folder, build = Path(tmp) / "tenants", Path(tmp) / "build"
        generate(folder, n)
        run_build(folder, build)
        migrate_once(build)
        hosts = [f"tenant-{i:04d}.localhost" for i in range(n)]
        port = free_port()
        proc = serve(build, port)
        try:
            worker = worker_of(proc.pid)
            bare = rss_mb(worker)
            cold = [get(port, host, "/login") for host in hosts]
            after = rss_mb(worker)
            warm = [get(port, host, "/login") for host in hosts]
            after_warm = rss_mb(worker)
        finally:
            proc.terminate()
            proc.wait(30)

    cold_median, warm_median = statistics.median(cold) * 1000, statistics.median(warm) * 1000
    print(f"baseline: worker before any tenant           {bare:7.1f} MB")
    print(f"worker after /login on each of {n} tenants  {after:7.1f} MB  (goal < 400 MB; "
          f"{(after - bare) / n * 1024:.0f} KB per tenant over the baseline)")
    print(f"  ... and after a second round               {after_warm:7.1f} MB")
    print(f"cold first request of a tenant (median/p95)  {cold_median:7.1f} / "
          f"{p95(cold):.1f} ms")
    print(f"warm request (median/p95)                    {warm_median:7.1f} / "
          f"{p95(warm):.1f} ms  (cold is {cold_median / warm_median:.1f}x warm)")


if __name__ == "__main__":
    main()
