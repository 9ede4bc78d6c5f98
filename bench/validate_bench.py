"""`portal validate` of one tenant file, whole process, against `python -c pass` in the same run.

The two commands alternate RUNS times and the minimum of each is kept (the machine is
shared: the minimum is the run nobody else slowed down), in wall time and in CPU time
(user + system of the process, which a busy machine inflates far less). Bytecode is written
and warmed first, as an installed package has it (pip compiles on install). Goal: < 120 ms.

    .venv/bin/python bench/validate_bench.py [--runs 15] [FILE]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("file", nargs="?", default="tenants/aurora/tenant.yaml")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    baseline_cmd = [sys.executable, "-c", "pass"]
    validate_cmd = [sys.executable, str(PORTAL), "validate", args.file]
    for _ in range(2):  # write and warm the bytecode
        timed(validate_cmd, env)
    baseline, validate = [], []
    for _ in range(args.runs):
        baseline.append(timed(baseline_cmd, env))
        validate.append(timed(validate_cmd, env))
    rows = (("python -c pass (baseline)", baseline), (f"portal validate {args.file}", validate))
    width = max(len(label) for label, _ in rows)
    for label, runs in rows:
        wall, cpu = min(w for w, _ in runs), min(c for _, c in runs)
        print(f"{label:<{width}}  wall {wall * 1000:5.0f} ms ({wall / min(baseline)[0]:4.1f}x)  "
              f"CPU {cpu * 1000:5.0f} ms ({cpu / min(c for _, c in baseline):4.1f}x)")
    print(f"min of {args.runs} runs each; goal < 120 ms wall")


if __name__ == "__main__":
    main()
