"""gunicorn's settings for a portal: `gunicorn -c python:runtime.gunicorn_conf ... wsgi:app`.

They matter with PROMETHEUS_MULTIPROC_DIR set (several workers, runtime/observability.py):
each worker then writes its counters to files in that folder, and /metrics adds up every
file. Files left by an earlier run of the server would be counted again, so the folder is
emptied when the server starts; a worker that ends is marked dead, so the gauges that
live with a process drop it. Without the variable both hooks do nothing. Command-line
options (workers, bind...) still come from the command line.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def on_starting(server) -> None:
    """Before any worker starts: an empty metrics folder (created if missing)."""
    folder = os.environ.get(VARIABLE)
    if not folder:
        return
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    for entry in path.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def child_exit(server, worker) -> None:
    if os.environ.get(VARIABLE):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
