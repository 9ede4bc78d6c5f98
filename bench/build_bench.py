"""Build throughput: 500 generated tenants with `portal build --all`, then a no-change rebuild.

Baseline, measured in the same run: loading the same 500 YAML files (parse only).
Goals: full build < 10 s, no-change rebuild < 2 s.

    .venv/bin/python bench/build_bench.py [--tenants 500]
"""

from __future__ import annotations

import argparse
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


def run_build(folder: Path, out: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "cli.py"), "build", "--all", str(folder),
                    "--out", str(out)], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def parse_only(folder: Path) -> float:
    started = time.perf_counter()
    yaml = YAML(typ="safe", pure=True)
    for path in sorted(folder.glob("t*/tenant.yaml")):
        yaml.load(path.read_text(encoding="utf-8"))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder, out = Path(tmp) / "tenants", Path(tmp) / "build"
        generate(folder, args.tenants)
        baseline = parse_only(folder)
        full = run_build(folder, out)
        again = run_build(folder, out)
    n = args.tenants
    print(f"baseline: parse {n} tenant files             {baseline:6.2f} s")
    print(f"full build of {n} tenants (one process)      {full:6.2f} s  "
          f"({n / full:.0f} tenants/s; goal < 10 s; {full / baseline:.1f}x the parse baseline)")
    print(f"no-change rebuild                            {again:6.2f} s  "
          f"(goal < 2 s; {again / baseline:.1f}x the parse baseline)")


if __name__ == "__main__":
    main()
