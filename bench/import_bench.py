"""ERP import throughput: N units with their customers, contracts and parties, in one run.

Runs the import at 10,000 and 50,000 units (same machine, same run) and prints rows per
second for each; the ratio of the two rates shows whether it grows worse than linearly
(1.0 = linear). Then a second import of the 50,000 (nothing changes) is timed.

    .venv/bin/python bench/import_bench.py [--units 50000]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cpf(rng: random.Random) -> str:
    base = [rng.randint(0, 9) for _ in range(9)]
    for weights in (range(10, 1, -1), range(11, 1, -1)):
        rest = sum(n * w for n, w in zip(base, weights, strict=False)) % 11
        base.append(0 if rest < 2 else 11 - rest)
    return "".join(map(str, base))


def generate(folder: Path, units: int) -> int:
    """Files for `units` units in 20 developments, one contract and 1-2 customers each."""
    rng = random.Random(7)
    folder.mkdir(parents=True)
    developments = [f"D{d:03d};Empreendimento {d};Rua {d}, 100;São Paulo;SP;2027-12-31"
                    for d in range(20)]
    (folder / "developments.csv").write_text(
        "id;name;address;city;state;delivery_forecast\n" + "\n".join(developments) + "\n")
    customers, unit_rows, contracts, parties, used = [], [], [], [], set()
    for u in range(units):
        unit_rows.append(f"U{u};D{u % 20:03d};{u:06d};T{u % 4};{u % 30};{60 + u % 40},50;Apto")
        contracts.append(f"K{u};{2020 + u % 6}/{u:06d};U{u};2024-01-15;active")
        for k in range(1 if u % 3 else 2):
            number = cpf(rng)
            while number in used:
                number = cpf(rng)
            used.add(number)
            cid = f"C{u}-{k}"
            customers.append(f"{cid};Cliente {u} {k};{number};c{u}.{k}@example.com")
            parties.append(f"K{u};{cid};{'holder' if k == 0 else 'co-holder'}")
    (folder / "customers.csv").write_text("id;name;document;email\n" + "\n".join(customers))
    (folder / "units.csv").write_text("id;development_id;code;tower;floor;area;type\n" +
                                      "\n".join(unit_rows))
    (folder / "contracts.csv").write_text("id;number;unit_id;signed_on;status\n" +
                                          "\n".join(contracts))
    (folder / "contract_parties.csv").write_text("contract_id;customer_id;role\n" +
                                                 "\n".join(parties))
    return len(developments) + len(customers) + len(unit_rows) + len(contracts) + len(parties)


def timed_import(instance: Path, folder: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "cli.py"), "import", str(instance), str(folder)],
                   check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def fresh_instance(tmp: Path, name: str) -> Path:
    out = tmp / name
    subprocess.run([sys.executable, str(ROOT / "cli.py"), "build",
                    str(ROOT / "tests/fixtures/tenants/minimal/tenant.yaml"), "--out", str(out)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    instance = out / "minimal"
    subprocess.run([sys.executable, str(ROOT / "cli.py"), "db", "upgrade", str(instance)],
                   check=True, stdout=subprocess.DEVNULL)
    return instance


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        results = {}
        for units in (args.units // 5, args.units):
            rows = generate(tmp_path / f"erp-{units}", units)
            instance = fresh_instance(tmp_path, f"i{units}")
            seconds = timed_import(instance, tmp_path / f"erp-{units}")
            results[units] = (rows, seconds)
            print(f"{units:>7} units: {rows:>7} rows in {seconds:6.1f} s  "
                  f"({rows / seconds:,.0f} rows/s)")
        small, big = results[args.units // 5], results[args.units]
        ratio = (big[0] / big[1]) / (small[0] / small[1])
        print(f"rate at {args.units} vs {args.units // 5} units: {ratio:.2f} "
              "(1.0 = linear; below 1 grows worse than linearly)")
        again = timed_import(instance, tmp_path / f"erp-{args.units}")
        print(f"the same {args.units}-unit import again (no change): {again:.1f} s")


if __name__ == "__main__":
    main()
