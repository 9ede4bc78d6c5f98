"""`portal status DIR`: one line per instance built under DIR, for whoever runs the fleet.

Read-only: it opens each instance's database to look (migrations applied, outbox
backlog) and never migrates it. `portal import` records its last run in the instance's
data folder (`data/last_import.json`: when, and the counts per table), which is what
the "last import" column shows.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, inspect, select

LAST_IMPORT = "last_import.json"
BACKLOG = ("pending", "failed", "unknown")


def record_import(data_dir: Path, counts: dict[str, dict[str, int]]) -> None:
    """Note a finished (not dry-run) ERP import: when, and its counts per table."""
    entry = {"at": datetime.now(UTC).isoformat(timespec="seconds"), "counts": counts}
    path = data_dir / LAST_IMPORT
    tmp = path.with_name(f".{LAST_IMPORT}.{os.getpid()}")
    tmp.write_text(json.dumps(entry, indent=2), encoding="utf-8")
    os.replace(tmp, path)


def last_import(data_dir: Path) -> dict | None:
    try:
        entry = json.loads((data_dir / LAST_IMPORT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    counts = entry.get("counts") or {}
    entry["totals"] = {what: sum(c.get(what, 0) for c in counts.values())
                       for what in ("created", "updated", "unchanged", "removed")}
    return entry


def instances(folder: Path) -> list[Path]:
    """The built instances directly under `folder` (each has release/config.json)."""
    return sorted(p for p in folder.iterdir()
                  if p.is_dir() and (p / "release" / "config.json").is_file())


def _release(instance: Path) -> dict:
    link = instance / "release"
    target = os.readlink(link) if link.is_symlink() else str(link)
    config_file = link / "config.json"
    built = datetime.fromtimestamp(config_file.stat().st_mtime, UTC)
    return {"id": Path(target).name, "built_at": built.isoformat(timespec="seconds")}


def pending_migrations(app) -> list[str]:
    """The revisions of this release the database has not run yet (every branch)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from .extensions import db

    config = app.extensions["migrate"].migrate.get_config(
        app.extensions["migrate"].directory)
    script = ScriptDirectory.from_config(config)
    every = {r.revision for r in script.walk_revisions()}
    quiet = logging.getLogger("alembic.runtime.migration")
    level, quiet.level = quiet.level, logging.WARNING  # no "Context impl" line per instance
    try:
        with db.engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_heads()
    finally:
        quiet.setLevel(level)
    applied = {r.revision for head in current for r in script.iterate_revisions(head, "base")}
    return sorted(every - applied)


def _outbox(db) -> dict[str, int] | None:
    from .models import OutboxMessage

    if not inspect(db.engine).has_table(OutboxMessage.__tablename__):
        return None
    counts = dict.fromkeys(BACKLOG, 0)
    counts.update(db.session.execute(
        select(OutboxMessage.status, func.count()).where(OutboxMessage.status.in_(BACKLOG))
        .group_by(OutboxMessage.status)).all())
    return counts


def status(instance: Path) -> dict:
    """What `portal status` shows of one instance; "error" says what could not be read."""
    from . import InstanceError, create_app, load_config
    from .extensions import db

    row: dict = {"instance": str(instance), "id": instance.name}
    try:
        config = load_config(instance)
        row["id"] = config["tenant"]["id"]
        row["release"] = _release(instance)
        row["generator_version"] = config.get("generator_version")
        row["last_import"] = last_import(instance / "data")
        app = create_app(instance)
    except (InstanceError, OSError, KeyError) as exc:
        row["error"] = str(exc)
        return row
    try:
        with app.app_context():
            pending = pending_migrations(app)
            row["migrations_pending"] = len(pending)
            row["pending_revisions"] = pending
            row["outbox"] = _outbox(db)
    except Exception as exc:  # noqa: BLE001 - one unreachable database must not hide the rest
        row["error"] = f"database: {str(exc).splitlines()[0]}"
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        lease, app.extensions["portal"].lease = app.extensions["portal"].lease, None
        if lease is not None:
            lease.close()
    return row


def table(rows: list[dict]) -> str:
    """The rows as an aligned text table."""
    header = ("INSTANCE", "RELEASE", "BUILT (UTC)", "GENERATOR", "MIGRATIONS", "OUTBOX",
              "LAST IMPORT")
    lines = [header]
    for r in rows:
        release = r.get("release") or {}
        if "migrations_pending" in r:
            n = r["migrations_pending"]
            migrations = f"yes ({n} pending)" if n else "no"
        else:
            migrations = "?"
        outbox = r.get("outbox")
        backlog = ("no table yet" if outbox is None else
                   f"{outbox['pending']} pending, {outbox['failed'] + outbox['unknown']} failed")
        if "migrations_pending" not in r:
            backlog = "?"
        imported = r.get("last_import")
        last = "never" if not imported else (
            f"{imported['at'][:16].replace('T', ' ')} ({imported['totals']['created']} created, "
            f"{imported['totals']['updated']} updated)")
        lines.append((r["id"], release.get("id", "?")[:12],
                      release.get("built_at", "?")[:16].replace("T", " "),
                      r.get("generator_version") or "?", migrations, backlog, last))
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    out = ["  ".join(str(v).ljust(w) for v, w in zip(line, widths, strict=True)).rstrip()
           for line in lines]
    for r in rows:
        if r.get("error"):
            out.append(f"{r['id']}: {r['error']}")
    return "\n".join(out)
