"""Build many tenants into one folder: unchanged ones skipped, the others on every core.

`portal build --all` of a fleet meets mostly tenants that did not change. Each is checked
against the build index (the size and modification time of every file it read: no YAML is
parsed) in this process, which imports neither the build nor its libraries (Jinja, Babel,
fontTools, Pillow) when nothing needs building. The tenants left are built by a pool of
processes, one per core. The first of them is built here before the pool starts, so the
workers (forked) inherit what it loaded: the schema validator, the compiled catalogues,
the theme's files and the parsed bases.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .diagnostics import Diagnostic, TenantError, display_path
from .incremental import BuildIndex, BuildResult

# a worker's answer: (file, its result and index entry) or (file, None, its diagnostics)
Compiled = tuple[str, BuildResult | None, dict | list[Diagnostic] | None]


@dataclass
class Report:
    """What a batch built (in the order of its files) and what it refused."""

    built: list[BuildResult] = field(default_factory=list)
    failures: list[Diagnostic] = field(default_factory=list)
    failed: int = 0  # tenant files refused
    skipped: int = 0  # tenant files not built again: nothing they read changed

    @property
    def changed(self) -> int:
        return sum(result.changed for result in self.built)


def find_tenants(folder: Path) -> list[Path]:
    """Tenant files under `folder`: */tenant.yaml and *.yaml, skipping _bases."""
    found = [*folder.glob("*/tenant.yaml"), *folder.glob("*.yaml"), *folder.glob("*.yml")]
    return sorted(p for p in found
                  if not any(part.startswith("_") for part in p.relative_to(folder).parts))


def cpu_count() -> int:
    """The cores this process may run on (a container's or taskset's share, not the host's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def build_all(files: list[str], out_dir: Path, jobs: int | None = None,
              on_done: Callable[[str], None] | None = None) -> Report:
    """Build `files` into out_dir/<tenant.id>, skipping those whose inputs did not change.

    `jobs`: processes that build at once (default: one per core). `on_done(file)` is
    called as each file is finished, for a progress bar.
    """
    out_dir = Path(out_dir)
    index = BuildIndex(out_dir)
    outcomes: dict[str, BuildResult | list[Diagnostic]] = {}
    pending = []
    report = Report()
    for file in dict.fromkeys(files):  # a file named twice is built once
        hit = index.lookup(file)
        if hit is None:
            pending.append(file)
            continue
        outcomes[file] = BuildResult(hit.tenant_id, out_dir / hit.tenant_id, hit.release,
                                     changed=False)
        report.skipped += 1
        if on_done:
            on_done(file)
    try:
        for file, result, detail in _compile_all(pending, out_dir, jobs or cpu_count()):
            if result is None:
                index.forget(file)
                outcomes[file] = detail
            else:
                index.adopt(file, detail)
                outcomes[file] = result
            if on_done:
                on_done(file)
        _shared_ids(list(dict.fromkeys(files)), set(pending), outcomes, out_dir, index)
    finally:
        index.save()  # what was built before an error is not built again
    for file in files:
        outcome = outcomes[file]
        if isinstance(outcome, list):  # its diagnostics
            report.failures += outcome
            report.failed += 1
        else:
            report.built.append(outcome)
    return report


def _shared_ids(files: list[str], pending: set[str], outcomes: dict, out_dir: Path,
                index: BuildIndex) -> None:
    """Refuse each tenant file whose tenant.id an earlier file has: both build one instance.

    Two workers may even have written that instance at once, so the files of the id built
    in this run are built again one after the other: the instance is the last one's, as
    when one process built them in order.
    """
    owners: dict[str, list[str]] = {}
    for file in files:
        if isinstance(outcomes[file], BuildResult):
            owners.setdefault(outcomes[file].tenant_id, []).append(file)
    for tenant_id, named in owners.items():
        if len(named) < 2:
            continue
        if pending.intersection(named):
            for file, result, entry in map(_compile, named, itertools.repeat(out_dir)):
                if result is not None:
                    index.adopt(file, entry)
        for file in named[1:]:
            outcomes[file] = [_shared_id(file, tenant_id, named[0], out_dir)]


def _shared_id(file: str, tenant_id: str, first: str, out_dir: Path) -> Diagnostic:
    from .loader import load  # the file was built: it loads

    loc = load(file).loc(("tenant", "id"))
    return Diagnostic(file, loc.line, loc.column, "tenant.id",
                      f'"{tenant_id}" is also the id of {display_path(first)}: both build '
                      f"{out_dir / tenant_id}, the last one over the other; give each tenant "
                      "its own id")


def _compile_all(files: list[str], out_dir: Path, jobs: int) -> Iterator[Compiled]:
    """Each file compiled: the first here, the rest by `jobs` forked workers."""
    if not files:
        return
    yield _compile(files[0], out_dir)  # fills the caches the workers inherit
    from multiprocessing import get_all_start_methods, get_context

    rest = files[1:]
    workers = min(jobs, len(rest))
    if workers <= 1 or "fork" not in get_all_start_methods():  # Windows: one at a time
        yield from (_compile(file, out_dir) for file in rest)
        return
    # chunks of some 15 tenants (0.1 s) for 500: a round trip costs about 1 ms, and the core
    # that finishes first waits at most one chunk for the other (it was a quarter of the
    # share of each, 0.4 s)
    chunk = max(1, len(rest) // (workers * 16))
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
        yield from pool.map(_compile, rest, itertools.repeat(out_dir), chunksize=chunk)


def _compile(file: str, out_dir: Path) -> Compiled:
    """Build one tenant (in a worker or here); its index entry goes back to the caller."""
    from .build import build

    index = BuildIndex(out_dir, fresh=True)
    try:
        result = build(file, out_dir, index)
    except TenantError as exc:
        return file, None, exc.diagnostics
    return file, result, index.entry(file)
