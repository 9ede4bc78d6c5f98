"""`portal backup` and `portal restore`: an instance's database and data files, one archive.

The archive is a gzip-compressed tar file:

    manifest.json          tenant id, generator version, engine (and schema), Alembic heads,
                           created at
    database/portal.sqlite the SQLite database, copied with SQLite's online backup API
    database/portal.dump   or the PostgreSQL database, `pg_dump --format=custom` (only the
                           instance's schema when it has one: DATABASE_SCHEMA)
    data/...               the instance's data folder (uploads, outbox, secret key...),
                           without the SQLite database files themselves

With S3_BUCKET set (runtime/storage.py) the uploaded files live in the bucket, not in the
data folder: the archive then holds the database and data folder only, and its manifest's
`uploads_in` names the bucket and prefix to back up with the bucket's own tools
(versioning, replication, `aws s3 sync`), which copy objects better than a tar file can.

Consistent while the portal serves: the database copy is one snapshot (SQLite's backup
API reads under one read transaction; pg_dump in one repeatable-read transaction), and
it is taken before the files are copied, so every file the database names is in the
archive (a file uploaded meanwhile may be there too, unnamed: harmless).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from flask import Flask
from sqlalchemy import MetaData, inspect, select, text
from sqlalchemy.engine import URL

from . import pagecache, storage
from .extensions import db

FORMAT = 1  # bump when an older `portal restore` could not read the archive
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database/portal.sqlite"
PG_MEMBER = "database/portal.dump"
DATA = "data"
SKIPPED = ("-wal", "-shm", "-journal")


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message says why and what to do."""


@dataclass
class Restored:
    manifest: dict
    migrated: bool  # the backup was older than this release: migrations were run
    files: int


def _engine_name(app: Flask) -> str:
    return db.engine.dialect.name


def heads(app: Flask) -> list[str]:
    """The Alembic revisions the database is at (one per branch)."""
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as conn:
        return sorted(MigrationContext.configure(conn).get_current_heads())


def _revisions(app: Flask) -> set[str]:
    """Every migration this release has (the core's and each module's)."""
    from alembic.script import ScriptDirectory

    migrate = app.extensions["migrate"]
    script = ScriptDirectory.from_config(migrate.migrate.get_config(migrate.directory))
    return {r.revision for r in script.walk_revisions()}


def _sqlite_path(app: Flask) -> Path:
    return Path(db.engine.url.database).resolve()


def _pg_command(tool: str, url: URL, environ: Mapping[str, str]) -> tuple[list[str], dict]:
    """The libpq connection of `url` for a PostgreSQL client tool: (args, environment).

    `environ` is the caller's process environment (PG* variables, locale), which the
    runtime never reads itself. The password goes in the tool's environment, never on
    its command line (`ps` shows that)."""
    path = shutil.which(tool)
    if path is None:
        raise BackupError(f"{tool} is not installed: the PostgreSQL client tools are needed to "
                          f"{'back up' if tool == 'pg_dump' else 'restore'} a PostgreSQL "
                          "database (Debian: apt-get install postgresql-client)")
    env = dict(environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    args = [path, "--dbname", url.set(drivername="postgresql", password=None).render_as_string(
        hide_password=False)]
    return args, env


def _run(args: list[str], env: dict, what: str) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{what} failed: {done.stderr.strip() or done.stdout.strip()}")


def _data_files(data_dir: Path, database: Path | None) -> list[Path]:
    skip = set()
    if database is not None:
        skip = {database, *(Path(str(database) + s) for s in SKIPPED)}
    found = []
    for path in sorted(data_dir.rglob("*")):
        if path.is_file() and not path.is_symlink() and path.resolve() not in skip:
            found.append(path)
    return found


def backup(app: Flask, out: Path, environ: Mapping[str, str] | None = None) -> dict:
    """Write the archive of the instance's database and data folder to `out`; its manifest."""
    portal = app.extensions["portal"]
    data_dir = Path(app.config["PORTAL_DATA_DIR"]).resolve()
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with app.app_context():
        engine = _engine_name(app)
        if engine not in ("sqlite", "postgresql"):
            raise BackupError(f"cannot back up a {engine} database (SQLite and PostgreSQL only)")
        manifest = {
            "format": FORMAT,
            "tenant": portal["tenant"]["id"],
            "generator_version": portal.get("generator_version"),
            "engine": engine,
            # a tenant of a fleet sharing one PostgreSQL database: its schema, and only it
            "schema": app.config.get("PORTAL_DATABASE_SCHEMA"),
            "alembic_heads": heads(app),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        if storage.uses_bucket(app):  # not copied: the bucket is backed up on its own
            manifest["uploads_in"] = (f"s3://{app.config['PORTAL_S3_BUCKET']}/"
                                      f"{app.config['PORTAL_S3_PREFIX']}/")
        partial = out.with_name(f".{out.name}.{os.getpid()}.partial")
        with tempfile.TemporaryDirectory(prefix="portal-backup-") as tmp:
            dump = Path(tmp) / "database"
            database = None
            if engine == "sqlite":
                database = _sqlite_path(app)
                source = sqlite3.connect(database, timeout=30)
                target = sqlite3.connect(dump)
                try:
                    source.backup(target)  # one snapshot, while writers go on (WAL)
                finally:
                    target.close()
                    source.close()
                member = SQLITE_MEMBER
            else:
                args, env = _pg_command("pg_dump", db.engine.url, environ or {})
                if manifest["schema"]:
                    args += ["--schema", manifest["schema"]]
                _run([*args, "--format=custom", "--no-owner", "--no-acl", "--file", str(dump)],
                     env, "pg_dump")
                member = PG_MEMBER
            manifest["database"] = member
            files = _data_files(data_dir, database)
            if out.is_relative_to(data_dir):
                files = [f for f in files if f.resolve() != out]
            try:
                with tarfile.open(partial, "w:gz") as tar:
                    _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=2).encode())
                    tar.add(dump, member)
                    count = 0
                    for path in files:
                        try:
                            tar.add(path, f"{DATA}/{path.relative_to(data_dir).as_posix()}",
                                    recursive=False)
                            count += 1
                        except FileNotFoundError:  # deleted while we copied: not in the snapshot
                            continue
                manifest["files"] = count
                os.replace(partial, out)
            finally:
                partial.unlink(missing_ok=True)
    return manifest


def _add_bytes(tar: tarfile.TarFile, name: str, content: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(content)
    info.mtime = int(datetime.now(UTC).timestamp())
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(content))


def read_manifest(archive: Path) -> dict:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.extractfile(MANIFEST)
            if member is None:
                raise KeyError(MANIFEST)
            manifest = json.loads(member.read())
    except (tarfile.TarError, KeyError, OSError, ValueError, EOFError) as exc:
        raise BackupError(f"{archive}: not a portal backup ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{archive}: a backup of format {manifest.get('format')!r}; this "
                          f"portal reads format {FORMAT}")
    return manifest


def is_empty(app: Flask) -> bool:
    """No row in any table but Alembic's (a built, migrated, unused instance is empty)."""
    with app.app_context():
        names = [n for n in inspect(db.engine).get_table_names() if n != "alembic_version"]
        if not names:
            return True
        meta = MetaData()
        meta.reflect(db.engine, only=names)
        with db.engine.connect() as conn:
            return all(conn.execute(select(text("1")).select_from(meta.tables[n]).limit(1))
                       .first() is None for n in names)


def _safe_members(tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    members = []
    for m in tar.getmembers():
        path = PurePosixPath(m.name)
        if path.is_absolute() or ".." in path.parts or not (m.isfile() or m.isdir()):
            raise BackupError(f"the archive holds an unsafe entry: {m.name!r}")
        members.append(m)
    return members


def restore(app: Flask, archive: Path, force: bool = False,
            environ: Mapping[str, str] | None = None) -> Restored:
    """Replace the instance's database and data files with the archive's, then migrate."""
    manifest = read_manifest(archive)
    portal = app.extensions["portal"]
    data_dir = Path(app.config["PORTAL_DATA_DIR"]).resolve()
    with app.app_context():
        engine = _engine_name(app)
        if manifest["tenant"] != portal["tenant"]["id"] and not force:
            raise BackupError(f"{archive} is a backup of tenant {manifest['tenant']!r}, this "
                              f"instance is {portal['tenant']['id']!r}; use --force to restore "
                              "it here anyway")
        if manifest["engine"] != engine:
            raise BackupError(f"{archive} holds a {manifest['engine']} database and this "
                              f"instance uses {engine}; restore it on a {manifest['engine']} "
                              "database (set DATABASE_URL)")
        schema = app.config.get("PORTAL_DATABASE_SCHEMA")
        if manifest.get("schema") != schema:  # the dump names its schema in every statement
            raise BackupError(f"{archive} holds the schema {manifest.get('schema') or 'public'} "
                              f"and this instance uses {schema or 'public'}; restore it on an "
                              "instance with that DATABASE_SCHEMA")
        unknown = sorted(set(manifest.get("alembic_heads") or ()) - _revisions(app))
        if unknown:
            raise BackupError(f"{archive} was taken by a newer release (its database is at "
                              f"{', '.join(unknown)}, which this release does not know): "
                              "restore it with that release or a later one")
        if not force and not is_empty(app):
            raise BackupError("the instance's database is not empty: restoring would replace "
                              "everything in it; use --force to do so")
        with tempfile.TemporaryDirectory(prefix="portal-restore-",
                                         dir=data_dir.parent) as tmp:
            work = Path(tmp)
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(work, members=_safe_members(tar))
            dump = work / manifest["database"]
            if not dump.is_file():
                raise BackupError(f"{archive}: the database ({manifest['database']}) is missing")
            db.session.remove()
            if engine == "sqlite":
                _restore_sqlite(app, dump)
            else:
                _restore_postgresql(dump, environ or {}, schema)
            files = _restore_files(work / DATA, data_dir, _sqlite_path(app)
                                   if engine == "sqlite" else None)
        before = heads(app)
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory, revision="heads")
        migrated = heads(app) != before
        # pages running workers keep (runtime/pagecache.py) show the data replaced
        pagecache.bump(pagecache.EVERYONE)
        db.session.remove()
        db.engine.dispose()
    return Restored(manifest, migrated, files)


def _restore_sqlite(app: Flask, dump: Path) -> None:
    db.engine.dispose()
    source = sqlite3.connect(dump)
    target = sqlite3.connect(_sqlite_path(app), timeout=30)
    try:
        source.backup(target)  # page by page, under the target's write lock
    finally:
        target.close()
        source.close()


def _restore_postgresql(dump: Path, environ: Mapping[str, str], schema: str | None) -> None:
    args, env = _pg_command("pg_restore", db.engine.url, environ)
    with db.engine.begin() as conn:  # --force: the tables of later migrations go too
        if schema:  # the instance's own schema, whole: the dump creates it again
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        else:
            meta = MetaData()
            meta.reflect(conn)
            meta.drop_all(conn)
    db.engine.dispose()
    clean = [] if schema else ["--clean", "--if-exists"]
    _run([*args, *clean, "--no-owner", "--no-acl", "--single-transaction", "--exit-on-error",
          str(dump)], env, "pg_restore")


def _restore_files(source: Path, data_dir: Path, database: Path | None) -> int:
    """Each top-level entry of the archive's data folder replaces the instance's."""
    if not source.is_dir():
        return 0
    count = 0
    for entry in sorted(source.iterdir()):
        target = data_dir / entry.name
        if database is not None and target.resolve() == database:
            continue
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
        os.replace(entry, target)
        count += sum(1 for p in target.rglob("*") if p.is_file()) if target.is_dir() else 1
    return count
