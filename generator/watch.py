"""`portal dev`: rebuild a tenant after every save of a file it was read from.

The watch set is every file the last build read (the tenant file, its `extends` bases, pages,
assets, template overrides: the build index's inputs), the files the last diagnostics point at
(a broken base), and the tenant's own folder, so a file missing now (the logo a diagnostic asks
for) is seen when it is added; the ERP files of a tenant live in that folder too. Folders are
watched, not files: editors save by writing a new file and renaming it over the old one.
Like the rest of the generator, this never imports Flask; runtime/devserver.py serves.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import watchfiles

from .build import build
from .diagnostics import Diagnostic, TenantError, display_path
from .incremental import BuildIndex
from .validate import validate_file

# a file in the dev output folder says `portal dev` made it: only then may it reset the data
MARKER = ".portal-dev"
# a save is built once the files have been quiet this long (editors write in several steps)
QUIET_MS = 50


class OutputError(Exception):
    """The output folder holds something `portal dev` did not make (it never resets that)."""


@dataclass(frozen=True)
class Outcome:
    """One build attempt."""

    instance: Path | None  # the instance built; None when the files have errors
    changed: bool  # a new release was swapped in
    diagnostics: tuple[Diagnostic, ...]  # the errors that stopped the build
    seconds: float
    warnings: tuple[str, ...] = ()  # of a new release, as `portal validate` prints them

    @property
    def problems(self) -> list[tuple[str, str]]:
        """Each error as (`file:line:col`, what is wrong), as `portal validate` prints it."""
        found = []
        for d in self.diagnostics:
            written = f"{display_path(d.file)}:{d.line}:{d.column}:"  # as format() starts
            where = f"{display_path(os.path.normpath(d.file))}:{d.line}:{d.column}"
            found.append((where, d.format().removeprefix(written).strip()))
        return found


def claim(out_dir: Path) -> None:
    """Make `out_dir` portal dev's own, or refuse one that holds anything else."""
    if out_dir.is_dir() and not (out_dir / MARKER).is_file() and any(out_dir.iterdir()):
        raise OutputError(f"{out_dir} was not made by portal dev and is not empty; portal dev "
                          "resets the data of the instances in its folder: choose another --out")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MARKER).write_text("made by portal dev: its instances hold sample data only\n",
                                  encoding="utf-8")


class Rebuilder:
    """Builds one tenant into the dev output folder and knows which files to watch."""

    def __init__(self, file: Path, out_dir: Path) -> None:
        self.file = file.resolve()
        self.folder = self.file.parent
        self.out_dir = out_dir.resolve()
        self.index = BuildIndex(self.out_dir)
        self.inputs: frozenset[Path] = frozenset({self.file})
        self._ignored = watchfiles.DefaultFilter()  # editor swap files, .git, __pycache__

    def build(self) -> Outcome:
        """Validate and build; a broken save leaves the last good release in place."""
        started = time.perf_counter()
        try:
            result = build(str(self.file), self.out_dir, self.index)
        except TenantError as exc:
            # a fix may come in a file the diagnostics point at (a base outside the folder)
            self.inputs |= {Path(d.file).resolve() for d in exc.diagnostics}
            return Outcome(None, False, tuple(exc.diagnostics), time.perf_counter() - started)
        except OSError as exc:  # a file replaced while it was read (the next event retries),
            where = str(exc.filename or self.file)  # or an output folder that cannot be written
            problem = Diagnostic(where, 1, 1, "", f"cannot build: {exc.strerror or exc}")
            return Outcome(None, False, (problem,), time.perf_counter() - started)
        finally:
            self.index.save()
        self.inputs = frozenset({self.file, *self.index.inputs(str(self.file))})
        took = time.perf_counter() - started
        # the build keeps only the errors; the warnings (contrast, logo size) are shown again
        # for each new release, from the files it has just parsed (cached: a few ms)
        warnings = tuple(d.format() for d in validate_file(str(self.file)).warnings) \
            if result.changed else ()
        return Outcome(result.instance, result.changed, (), took, warnings)

    def roots(self) -> list[Path]:
        """The folders to watch (recursively): the tenant's and those of every input."""
        folders = {f for f in {self.folder, *(p.parent for p in self.inputs)} if f.is_dir()}
        return sorted(f for f in folders if not any(other in f.parents for other in folders))

    def relevant(self, change: watchfiles.Change, path: str) -> bool:
        """A change to an input, or to anything in the tenant's folder but the build output."""
        if not self._ignored(change, path):
            return False
        where = Path(path)
        if where == self.out_dir or self.out_dir in where.parents:
            return False
        return where in self.inputs or self.folder in where.parents

    def watch(self, stop: threading.Event, on_build: Callable[[Outcome], None]) -> None:
        """Rebuild after every relevant save until `stop` is set; `on_build` gets each outcome.

        The watch restarts when the roots change (a new base, an asset in another folder).
        """
        while not stop.is_set():
            roots = self.roots()
            try:
                for _changes in watchfiles.watch(*roots, watch_filter=self.relevant,
                                                 stop_event=stop, step=QUIET_MS,
                                                 raise_interrupt=False):
                    on_build(self.build())
                    if self.roots() != roots:
                        break
            except FileNotFoundError:  # a watched folder was removed: watch what is left
                stop.wait(0.5)
