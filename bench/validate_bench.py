"""`portal validate` of one tenant file, whole process, against `python -c pass` in the same run.

The commands alternate RUNS times and the minimum of each is kept (the machine is
shared: the minimum is the run nobody else slowed down), in wall time and in CPU time
(user + system of the process, which a busy machine inflates far less). Bytecode is written
and warmed first, as an installed package has it (pip compiles on install). Goal: < 120 ms.

`portal validate` keeps parses and override checks in a cache (generator/cache.py); the
bench gives it a cache folder of its own, so the user's is neither read nor filled. The
main row is a file validated before (the cache holds it, as on a consultant's second run);
the "empty cache" row gives every run a new, empty cache folder: the first run ever, or
one after the tenant file, its base and its overrides all changed.

    .venv/bin/python bench/validate_bench.py [--runs 15] [FILE]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PORTAL = Path(sys.executable).parent / "portal"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of `command`."""
    started, cpu = time.perf_counter(), _cpu()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=env, cwd=ROOT)
    return time.perf_counter() - started, _cpu() - cpu


def _measure(file: str, runs: int, caches: Path) -> list[tuple[str, list]]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["XDG_CACHE_HOME"] = str(caches / "kept")
    baseline_cmd = [sys.executable, "-c", "pass"]
    validate_cmd = [sys.executable, str(PORTAL), "validate", file]
    for _ in range(2):  # write and warm the bytecode; fill the cache
        timed(validate_cmd, env)
    baseline, kept, empty = [], [], []
    for run in range(runs):
        baseline.append(timed(baseline_cmd, env))
        kept.append(timed(validate_cmd, env))
        empty.append(timed(validate_cmd, {**env, "XDG_CACHE_HOME": str(caches / f"{run}")}))
    return [("python -c pass (baseline)", baseline), (f"portal validate {file}", kept),
            ("  the same, empty cache", empty)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("file", nargs="?", default="tenants/aurora/tenant.yaml")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="validate-bench-") as caches:
        rows = _measure(args.file, args.runs, Path(caches))
    baseline = rows[0][1]
    width = max(len(label) for label, _ in rows)
    for label, runs in rows:
        wall, cpu = min(w for w, _ in runs), min(c for _, c in runs)
        print(f"{label:<{width}}  wall {wall * 1000:5.0f} ms ({wall / min(baseline)[0]:4.1f}x)  "
              f"CPU {cpu * 1000:5.0f} ms ({cpu / min(c for _, c in baseline):4.1f}x)")
    print(f"min of {args.runs} runs each; goal < 120 ms wall")


if __name__ == "__main__":
    main()
