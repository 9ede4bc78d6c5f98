"""Build throughput: 500 generated tenants with `portal build --all`, then a no-change rebuild,
then a rebuild after the base they all extend changed.

Baselines, measured in the same run: loading the same 500 YAML files (parse only), and
`python -c pass` (a process that does nothing, against the no-change rebuild). Each build
is timed RUNS times into a fresh folder and the minimum kept (the machine may be shared).
Bytecode is written first, as an installed package has it.

The generator keeps parses (generator/cache.py) and the files made from the toolchain alone
(generator/artifacts.py) in the user's cache folder; the bench gives it a folder of its
own, filled by the first build, so the user's is neither read nor filled. The "empty cache"
row builds with a new, empty cache folder each run: the first build ever, or one after
every tenant file and the toolchain changed.
Goals (2 cores): full build < 3 s, no-change rebuild < 0.3 s.

    .venv/bin/python bench/build_bench.py [--tenants 500] [--runs 3] [--jobs N]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
PALETTE = ["#0B4F8A", "#166534", "#7C2D12", "#F2A900", "#6D28D9", "#BE123C", "#0E7490"]


def generate(folder: Path, count: int) -> None:
    """Tenants in the shape consultants write: a shared base, assets, menu, service tree."""
    base = folder / "_base"
    base.mkdir(parents=True)
    shutil.copy(ROOT / "tenants/_base/construtora.yaml", base / "construtora.yaml")
    assets = folder / "_assets"
    shutil.copytree(ROOT / "tenants/aurora/assets", assets)
    for i in range(count):
        tenant = folder / f"t{i:04d}"
        tenant.mkdir()
        colour = PALETTE[i % len(PALETTE)]
        (tenant / "tenant.yaml").write_text(f"""\
schema_version: 1
extends: ../_base/construtora.yaml
tenant:
  id: tenant-{i:04d}
  name: Construtora {i:04d}
  locale: {["pt-BR", "en", "es"][i % 3]}
  support_email: atendimento@t{i}.example.com
branding:
  logo: ../_assets/logo.svg
  favicon: ../_assets/favicon.png
  colors: {{ primary: "{colour}", menu_background: "{colour}" }}
  font: Inter
modules:
  notices: {{}}
  faq:
    items:
      - {{ q: "Pergunta {i}?", a: "Resposta **{i}**." }}
menu:
  - {{ label: Avisos, icon: megaphone, module: notices }}
  - {{ label: Contato, icon: chat, division_group: contato }}
  - {{ label: FAQ, icon: question, module: faq }}
social:
  instagram: https://instagram.com/t{i}
""", encoding="utf-8")


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_build(folder: Path, out: Path, jobs: int | None, cache: Path) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds of the build and its workers, and how many tenants it built
    (not skipped as unchanged), with `cache` as the cache folder. The CPU time depends far
    less on what else the machine runs."""
    started, cpu = time.perf_counter(), _cpu()
    done = subprocess.run([sys.executable, str(ROOT / "cli.py"), "build", "--all", str(folder),
                           "--out", str(out), *(["--jobs", str(jobs)] if jobs else [])],
                          check=True, capture_output=True, text=True,
                          env={**ENV, "XDG_CACHE_HOME": str(cache)})
    elapsed = time.perf_counter() - started
    found = re.search(r"built (\d+) instance.*, (\d+) of them skipped", done.stdout)
    return elapsed, _cpu() - cpu, int(found.group(1)) - int(found.group(2)) if found else -1


def pass_baseline() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True, env=ENV)
    return time.perf_counter() - started


def parse_only(folder: Path) -> tuple[float, float]:
    """Wall and CPU seconds to parse the tenant files (in this process)."""
    started, cpu = time.perf_counter(), time.process_time()
    yaml = YAML(typ="safe", pure=True)
    for path in sorted(folder.glob("t*/tenant.yaml")):
        yaml.load(path.read_text(encoding="utf-8"))
    return time.perf_counter() - started, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, help="portal build --jobs (default: one per core)")
    args = parser.parse_args()
    n = args.tenants
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "tenants"
        generate(folder, n)
        cache = Path(tmp) / "cache"
        run_build(folder, Path(tmp) / "warm", args.jobs, cache)  # bytecode, and the cache
        parse_wall, parse_cpu = min(parse_only(folder) for _ in range(args.runs))
        process = min(pass_baseline() for _ in range(5))
        full, again, based, empty = [], [], [], []
        base = folder / "_base" / "construtora.yaml"
        for run in range(args.runs):
            out = Path(tmp) / f"build{run}"
            full.append(run_build(folder, out, args.jobs, cache))
            again.append(run_build(folder, out, args.jobs, cache))
            text = base.read_text(encoding="utf-8")  # a value every tenant inherits
            base.write_text(re.sub(r"sla_hours: \d+", f"sla_hours: {100 + run}", text, count=1),
                            encoding="utf-8")
            based.append(run_build(folder, out, args.jobs, cache))
            empty.append(run_build(folder, Path(tmp) / f"empty{run}", args.jobs,
                                   Path(tmp) / f"cache{run}"))
    (cold, cold_cpu, _), (warm, warm_cpu, redone), (touched, touched_cpu, rebuilt) = \
        min(full), min(again), min(based)
    first, first_cpu, _ = min(empty)
    print(f"min of {args.runs} runs; --jobs {args.jobs or 'default (one per core)'}")
    print(f"baseline: parse {n} tenant files           {parse_wall:6.2f} s  CPU {parse_cpu:5.2f} s")
    print(f"baseline: python -c pass                   {process:6.2f} s")
    print(f"full build of {n} tenants                  {cold:6.2f} s  CPU {cold_cpu:5.2f} s  "
          f"({n / cold:.0f} tenants/s; {cold / parse_wall:.1f}x the parse baseline, CPU "
          f"{cold_cpu / parse_cpu:.1f}x; goal < 3 s)")
    print(f"  the same, empty cache                    {first:6.2f} s  CPU {first_cpu:5.2f} s")
    print(f"no-change rebuild                          {warm:6.2f} s  CPU {warm_cpu:5.2f} s  "
          f"({redone} built again; {warm / process:.1f}x python -c pass; goal < 0.3 s)")
    print(f"rebuild after the base they extend changed {touched:6.2f} s  CPU "
          f"{touched_cpu:5.2f} s  ({rebuilt} built again)")


if __name__ == "__main__":
    main()
