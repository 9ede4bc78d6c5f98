"""portal: validate, build and run white-label customer portals."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent


def _demo_tenant() -> Path:
    """The aurora example, from the checkout or from inside the installed package."""
    from generator.resources import data_folder

    return data_folder("tenants") / "aurora" / "tenant.yaml"


class PortalCLI(click.Group):
    """The portal's own commands, then each module's (found through the module registry).

    Module commands are looked up only for a name that is not the portal's own (and for
    --help), so `portal validate` and `portal build` never import Flask.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_module_commands()})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return super().get_command(ctx, name) or _module_commands().get(name)


def _module_commands() -> dict[str, click.Command]:
    """Every registered module's commands (Manifest.commands), each taking INSTANCE first."""
    from runtime.modules import manifests

    return {command.name: _on_instance(command) for manifest in manifests().values()
            for command in manifest.commands}


def _on_instance(command: click.Command) -> click.Command:
    """`portal NAME INSTANCE ...`: the module's command, run inside the instance's app.

    A module's group keeps its sub-commands: `portal GROUP NAME INSTANCE ...`.
    """
    from runtime.modules import INSTANCE

    if isinstance(command, click.Group):
        return click.Group(command.name, help=command.help, short_help=command.short_help,
                           commands=[_on_instance(c) for c in command.commands.values()])

    def run(instance: str, **kwargs) -> None:
        ctx = click.get_current_context()
        ctx.meta[INSTANCE] = instance
        with _instance(instance):
            ctx.invoke(command.callback, **kwargs)

    instance = click.Argument(["instance"], type=click.Path(exists=True, file_okay=False))
    return click.Command(command.name, callback=run, params=[instance, *command.params],
                         help=command.help, short_help=command.short_help)


@click.group(cls=PortalCLI, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="portal-generator")
def main() -> None:
    """Build one themed customer portal per tenant file."""


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="json prints the diagnostics for CI.")
def validate(files: tuple[str, ...], strict: bool, fmt: str) -> None:
    """Check tenant files; print every problem at once as file:line:col."""
    from generator.diagnostics import sort_diagnostics, to_json
    from generator.validate import validate_file

    diagnostics = []
    failed = False
    for file in files:
        result = validate_file(file)
        diagnostics += result.diagnostics
        failed |= bool(result.errors) or (strict and bool(result.warnings))
    diagnostics = sort_diagnostics(diagnostics)
    if fmt == "json":
        click.echo(to_json(diagnostics))
    else:
        for d in diagnostics:
            click.echo(d.format())
        if not failed:
            click.echo(f"{len(files)} file(s) valid", err=True)
    sys.exit(1 if failed else 0)


@main.command()
@click.argument("files", nargs=-1, type=click.Path())
@click.option("--all", "all_", is_flag=True,
              help="Build every tenant under FILES[0] (default tenants/).")
@click.option("--out", "out_dir", default="build", show_default=True,
              type=click.Path(file_okay=False), help="Folder that receives DIR/<tenant.id>/.")
@click.option("--jobs", "-j", type=click.IntRange(min=1),
              help="Tenants built at once, each in its own process (default: one per CPU core).")
def build(files: tuple[str, ...], all_: bool, out_dir: str, jobs: int | None) -> None:
    """Validate and compile tenants into instance folders; unchanged ones are skipped."""
    # not generator.build: a rebuild where nothing changed never imports it (generator/batch.py)
    from generator.batch import build_all, find_tenants

    if all_:
        if len(files) > 1:
            raise click.UsageError("--all takes at most one folder")
        folder = Path(files[0] if files else "tenants")
        if not folder.is_dir():
            raise click.UsageError(f"{folder}: no such folder")
        targets = [str(p) for p in find_tenants(folder)]
        if not targets:
            raise click.ClickException(f"no tenant files under {folder}")
    elif not files:
        raise click.UsageError("name tenant files to build, or use --all")
    else:
        targets = list(files)
    with click.progressbar(length=len(targets), label="Building", file=sys.stderr,
                           show_pos=True, item_show_func=lambda t: t or "") as bar:
        report = build_all(targets, Path(out_dir), jobs, on_done=lambda t: bar.update(1, t))
    for d in report.failures:
        click.echo(d.format(), err=True)
    built = report.built
    click.echo(f"built {len(built)} instance(s) in {out_dir}/ ({report.changed} changed, "
               f"{len(built) - report.changed} unchanged, {report.skipped} of them skipped: "
               "nothing they read changed)" + (f"; {report.failed} failed" if report.failed
                                              else ""))
    if len(built) == 1:
        _next_steps(built[0].instance)
    if report.failed:
        sys.exit(1)


def _next_steps(instance: Path) -> None:
    """What to run after building one instance, with its real path."""
    import shlex

    where = shlex.quote(str(instance))
    click.echo("next steps:")
    click.echo(f"  portal db upgrade {where}")
    click.echo(f"  portal users add {where} --role admin --email you@example.com "
               f"--name \"Your Name\"")
    click.echo(f"  portal serve {where}")


@main.command()
@click.argument("source", metavar="INSTANCE_OR_DIR",
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--target", required=True, type=click.Choice(["kubernetes", "compose", "systemd"]),
              help="What the bundle runs on.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="A new (or empty) folder that receives the bundle.")
@click.option("--registry", default="registry.example.com/portals", show_default=True,
              help="kubernetes: where the tenant images are pushed (REGISTRY/<id>:<release>).")
@click.option("--namespace", default="portals", show_default=True,
              help="kubernetes: the namespace of every resource.")
@click.option("--prefix", default="/opt/portal", show_default=True,
              help="systemd: the virtual environment the portal package is installed in.")
@click.option("--upload-max-mb", default=10, show_default=True, type=click.IntRange(1, 2048),
              help="PORTAL_UPLOAD_MAX_MB; the proxy's request size limit follows it.")
@click.option("--fleet", "shared", is_flag=True,
              help="One set of workloads serving every instance under the folder (the fleet "
                   "entry, a schema per tenant), not one set per instance.")
def deploy(source: Path, target: str, out_dir: Path, registry: str, namespace: str, prefix: str,
           upload_max_mb: int, shared: bool) -> None:
    """Write a deploy bundle for a built instance, or for every instance under a folder."""
    from generator.deploy import DeployError, Options, warnings, write_bundle

    options = Options(registry=registry.rstrip("/"), namespace=namespace,
                      prefix=prefix.rstrip("/"), upload_max_mb=upload_max_mb)
    try:
        written = write_bundle(source, target, out_dir, options, shared=shared)
    except DeployError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote a {target} bundle in {out_dir}/ ({len(written)} files); "
               f"next: read {out_dir / 'README.md'}")
    for warning in warnings(source):
        click.echo(f"warning: {warning}", err=True)


@main.command()
def schema() -> None:
    """Print the tenant JSON Schema (for editors and CI)."""
    from generator.schema import load_schema, render

    click.echo(render(load_schema()), nl=False)


@main.command()
@click.argument("tenant_id")
@click.option("--from", "source", metavar="TENANT_OR_BASE",
              help="Copy this tenant (file or folder; ids renamed) or extend this base.")
@click.option("--locale", type=click.Choice(["pt-BR", "en", "es"]),
              help="Language of the starter's texts and service tree (default pt-BR, or the "
                   "base's).")
@click.option("--dir", "folder", default="tenants", show_default=True, type=click.Path())
def new(tenant_id: str, source: str | None, locale: str | None, folder: str) -> None:
    """Write tenants/ID/tenant.yaml: a starter showing the whole product, or a copy."""
    import shlex

    from generator.scaffold import ScaffoldError, scaffold

    try:
        path = scaffold(tenant_id, Path(folder), locale=locale, source=source)
    except ScaffoldError as exc:
        raise click.ClickException(str(exc)) from None
    where = shlex.quote(str(path))
    click.echo(f"wrote {path}")
    click.echo("next steps:")
    click.echo(f"  edit {where}: company name, contacts, colours, logo "
               f"({shlex.quote(str(path.parent / 'assets'))}), service tree, menu")
    click.echo(f"  portal validate --strict {where}")
    click.echo(f"  portal dev {where}   (the portal with sample content, rebuilt on every save)")
    click.echo(f"  portal build {where}")
    click.echo(f"  portal diff {where} --git HEAD   (once it is in git: what you changed)")


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--git", "rev", metavar="REV",
              help="Compare the tenant file as it is in git at REV (a commit, tag or branch) "
                   "with the file as it is now.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def diff(files: tuple[str, ...], rev: str | None, fmt: str) -> None:
    """What changed between two tenant files, resolved (bases and defaults included).

    \b
    portal diff OLD.yaml NEW.yaml
    portal diff tenants/aurora/tenant.yaml --git HEAD~1
    Exit status: 0 identical, 1 different, 2 an invalid file or revision.
    """
    import dataclasses
    import os

    from generator import diff as differ
    from generator.validate import validate_file

    if rev is None and len(files) != 2:
        raise click.UsageError("name two tenant files, or one with --git REV")
    if rev is not None and len(files) != 1:
        raise click.UsageError("--git REV takes one tenant file")
    with differ.temporary() as tmp:
        if rev is not None:
            try:
                old_file = str(differ.checkout(files[0], rev, Path(tmp)))
            except differ.GitError as exc:
                click.echo(f"Error: {exc}", err=True)
                sys.exit(2)
            pair, names = (old_file, files[0]), (f"{rev}:{files[0]}", files[0])
        else:
            pair, names = files, files
        results = [validate_file(f) for f in pair]
        errors = [d for r in results for d in r.errors]
        if errors:
            for d in errors:  # a file of the revision is named REV:path, not its temporary copy
                if rev is not None and d.file.startswith(tmp):
                    d = dataclasses.replace(d, file=f"{rev}:{os.path.relpath(d.file, tmp)}")
                click.echo(d.format(), err=True)
            sys.exit(2)
        changes = differ.diff(results[0].document, results[1].document)
    if fmt == "json":
        click.echo(differ.to_json(changes, *names))
    else:
        for change in changes:
            click.echo(change.format())
        click.echo(f"{names[0]} -> {names[1]}: " + (f"{len(changes)} change(s)" if changes
                                                  else "identical"), err=True)
    sys.exit(1 if changes else 0)


def _app(instance: str):
    """The Flask app of a built instance, or a clean error."""
    from runtime import InstanceError, create_app

    try:
        return create_app(instance)
    except InstanceError as exc:
        raise click.ClickException(str(exc)) from None


@contextmanager
def _instance(instance: str):
    """An app context on INSTANCE with its database migrated; connections closed after.

    Every command that opens an instance goes through here, so none of them meets a
    fresh build's empty database ("no such table"): the upgrade is idempotent.
    """
    app = _app(instance)
    _upgrade(app)
    with app.app_context():
        try:
            yield app
        finally:
            from runtime.extensions import db

            db.session.remove()  # give the connection back first, or dispose cannot close it
            db.engine.dispose()


def _upgrade(app) -> None:
    import sqlalchemy.exc
    from flask_migrate import upgrade
    from sqlalchemy import text

    from runtime.extensions import db

    schema = app.config.get("PORTAL_DATABASE_SCHEMA")
    with app.app_context():
        try:
            if schema:  # the instance's own schema (DATABASE_SCHEMA), made on its first upgrade
                with db.engine.begin() as conn:
                    conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            # "heads": the core's revisions and each module's branch
            upgrade(directory=app.extensions["migrate"].directory, revision="heads")
        except sqlalchemy.exc.OperationalError as exc:
            raise click.ClickException(f"cannot reach the database: {exc.orig}") from None


@main.group()
def db() -> None:
    """Database of an instance."""


@db.command("upgrade")
@click.argument("instance", metavar="INSTANCE_OR_DIR", type=click.Path(exists=True,
                                                                       file_okay=False))
@click.option("--all", "all_", is_flag=True,
              help="Every instance built under the folder INSTANCE_OR_DIR (a fleet).")
def db_upgrade(instance: str, all_: bool) -> None:
    """Create or migrate the database of INSTANCE (idempotent), or of every one with --all."""
    if all_:
        _upgrade_all(Path(instance))
        return
    with _instance(instance):
        pass  # opening an instance migrates its database
    click.echo(f"database of {instance} is up to date")


def _upgrade_all(folder: Path) -> None:
    """Each instance under `folder`, one after the other; a failing one does not stop the rest.

    Two instances sharing a database or a secret key are refused, as the fleet refuses
    to serve them (a fleet-wide PORTAL_DATABASE_URL needs PORTAL_DATABASE_SCHEMA=t_{tenant}).
    """
    from runtime import InstanceError, create_app
    from runtime.fleet import Owners
    from runtime.status import instances

    found = instances(folder)
    if not found:
        raise click.ClickException(f"no built instance under {folder}/")
    owners, failed = Owners(), 0
    for path in found:
        try:
            app = create_app(path)
            try:
                owners.claim(path.name, app.config)
                _upgrade(app)
            finally:
                _close(app)
        except (InstanceError, click.ClickException) as exc:
            failed += 1
            click.echo(f"{path.name}: {exc}", err=True)
            continue
        schema = app.config.get("PORTAL_DATABASE_SCHEMA")
        click.echo(f"{path.name}: up to date" + (f" (schema {schema})" if schema else ""))
    click.echo(f"{len(found) - failed} of {len(found)} database(s) up to date")
    if failed:
        sys.exit(1)


@main.group()
def users() -> None:
    """Accounts of an instance."""


@users.command("add")
@click.argument("instance", type=click.Path(exists=True, file_okay=False))
@click.option("--email", required=True)
@click.option("--password", help="Omit to send a first-access link instead.")
@click.option("--name", required=True)
@click.option("--document", help="CPF or CNPJ (checked).")
@click.option("--phone")
@click.option("--role", type=click.Choice(["client", "syndic", "staff", "admin"]),
              default="client", show_default=True)
def users_add(instance: str, email: str, password: str | None, name: str, document: str | None,
              phone: str | None, role: str) -> None:
    """Create an account (there is no self-registration)."""
    from runtime.accounts import AccountError, create_account

    with _instance(instance):
        try:
            user = create_account(email=email, password=password, name=name,
                                  document=document, phone=phone, role=role)
        except AccountError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"created {user.role} {user.email} (id {user.id})")
        if password is None:
            from runtime.accounts import send_first_access

            where = send_first_access(user)
            click.echo(f"first-access link queued; the outbox worker delivers it {where}")


@users.command("invite")
@click.argument("instance", type=click.Path(exists=True, file_okay=False))
@click.option("--all-new", is_flag=True,
              help="Every client with an e-mail who has no password and was never invited.")
@click.option("--email", "emails", multiple=True, help="Invite these accounts (repeatable).")
def users_invite(instance: str, all_new: bool, emails: tuple[str, ...]) -> None:
    """E-mail first-access links in bulk (e.g. after an ERP import)."""
    from sqlalchemy import func, select

    from runtime.accounts import send_first_access
    from runtime.extensions import db
    from runtime.models import User

    if not all_new and not emails:
        raise click.UsageError("use --all-new or name accounts with --email")
    with _instance(instance):
        query = select(User).where(User.active.is_(True), User.email.is_not(None),
                                   User.role.in_(("client", "syndic")))
        if all_new:
            query = query.where(User.password_hash.is_(None), User.invited_at.is_(None))
        else:
            query = query.where(func.lower(User.email).in_([e.lower() for e in emails]))
        targets = db.session.scalars(query.order_by(User.id)).all()
        for user in targets:
            send_first_access(user)
        db.session.commit()
    click.echo(f"queued {len(targets)} first-access link(s) for the outbox worker")


@main.group()
def export() -> None:
    """Data of an instance, for other systems."""


@export.command("changes")
@click.argument("instance", type=click.Path(exists=True, file_okay=False))
@click.option("--since", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M"]),
              help="Only changes made from this moment (UTC), e.g. 2026-03-01.")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv",
              show_default=True)
def export_changes(instance: str, since: datetime | None, fmt: str) -> None:
    """Print customer data changed in the portal that the ERP does not have yet."""
    from runtime.erp.changes import export as pending_changes
    from runtime.erp.changes import to_csv, to_json

    with _instance(instance):
        rows = pending_changes(since)
    click.echo(to_json(rows) if fmt == "json" else to_csv(rows), nl=False)


@main.group()
def outbox() -> None:
    """E-mail waiting in an instance's outbox."""


@outbox.command("send")
@click.argument("instance", type=click.Path(exists=True, file_okay=False))
@click.option("--failed", "retry_failed", is_flag=True,
              help="First re-queue the failed messages and those whose delivery is unknown.")
def outbox_send(instance: str, retry_failed: bool) -> None:
    """One delivery pass: send the e-mails that are due, then exit."""
    from runtime.mail import deliver_pending, requeue

    with _instance(instance):
        if retry_failed:
            click.echo(f"re-queued {requeue()} failed e-mail(s)")
        report = deliver_pending(limit=1_000_000)
    click.echo(_pass_summary(report))
    if report.server_down:
        raise click.ClickException(f"the mail server is unavailable: {report.server_down}; "
                                   "the rest stays queued and is retried with backoff")


def _pass_summary(report) -> str:
    parts = [f"sent {report.sent} e-mail(s)"]
    if report.retrying:
        parts.append(f"{report.retrying} will be retried later")
    if report.failed:
        parts.append(f"{report.failed} failed (see the staff console, E-mail delivery)")
    if report.unknown:
        parts.append(f"{report.unknown} interrupted, left for review")
    return "; ".join(parts)


@outbox.command("work")
@click.argument("instance", metavar="INSTANCE_OR_DIR", type=click.Path(exists=True,
                                                                       file_okay=False))
@click.option("--all", "all_", is_flag=True,
              help="Every instance built under the folder INSTANCE_OR_DIR (a fleet), in one "
                   "process.")
@click.option("--interval", default=5.0, show_default=True, type=click.FloatRange(0.1, 3600),
              help="Seconds between polls for due messages.")
@click.option("--stop-with", "parent", type=int, hidden=True,
              help="Stop when this process (the web server that started us) is gone.")
def outbox_work(instance: str, all_: bool, interval: float, parent: int | None) -> None:
    """Deliver e-mail until stopped (SIGTERM or Ctrl-C end it after the current message)."""
    import os
    import signal
    import threading

    from runtime.mail import work

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())

    def report(result) -> None:
        if parent is not None and os.getppid() != parent:
            stop.set()  # the server died without stopping us
        if result is not None and (result.tried or result.server_down):
            click.echo(_pass_summary(result) + (f"; server unavailable: {result.server_down}"
                                                if result.server_down else ""), err=True)

    if all_:
        _work_all(Path(instance), interval, stop, report)
    else:
        with _instance(instance):
            click.echo(f"outbox worker for {instance}: polling every {interval:g} s", err=True)
            work(stop, interval=interval, on_pass=report)
    click.echo("outbox worker stopped", err=True)


def _work_all(folder: Path, interval: float, stop, report) -> None:
    """The fleet's mail worker: a pass over every instance's outbox, then a pause."""
    from runtime import InstanceError
    from runtime.fleet import Outboxes

    try:
        outboxes = Outboxes(folder)
    except InstanceError as exc:
        raise click.ClickException(str(exc)) from None

    def each(reports: dict) -> None:
        for name, result in reports.items():
            if result.tried or result.server_down:
                click.echo(f"{name}: ", nl=False, err=True)
                report(result)
        if not reports:
            report(None)  # still watch the parent

    click.echo(f"outbox worker for every instance under {folder}/: polling every "
               f"{interval:g} s", err=True)
    outboxes.work(stop, interval, each)


@main.command()
@click.argument("instance", type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The archive to write (.tar.gz).")
def backup(instance: str, out_file: Path) -> None:
    """Archive INSTANCE's database and data files (uploads...) while it serves."""
    from runtime.backup import BackupError
    from runtime.backup import backup as run_backup

    app = _app(instance)
    try:
        manifest = run_backup(app, out_file, _environ())
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        _close(app)
    size = out_file.stat().st_size / 2**20
    click.echo(f"backed up {manifest['tenant']} ({manifest['engine']} database, "
               f"{manifest['files']} file(s)) to {out_file} ({size:.1f} MB)")
    if manifest.get("uploads_in"):
        click.echo(f"note: uploaded files are in {manifest['uploads_in']}, not in this "
                   "archive: back the bucket up with its own tools (see README)")


@main.command()
@click.argument("instance", type=click.Path(exists=True, file_okay=False))
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True,
              help="Replace a database that already holds data (and a backup of another tenant).")
def restore(instance: str, archive: Path, force: bool) -> None:
    """Put a `portal backup` archive back: database and data files; then migrate.

    Stop the portal (web and mail worker) of INSTANCE first."""
    from runtime.backup import BackupError
    from runtime.backup import restore as run_restore

    app = _app(instance)
    try:
        done = run_restore(app, archive, force=force, environ=_environ())
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        _close(app)
    click.echo(f"restored {done.manifest['tenant']} from {archive} (taken "
               f"{done.manifest['created_at']}; {done.files} file(s))"
               + ("; the database was migrated to this release" if done.migrated else ""))


def _environ() -> dict[str, str]:
    """For pg_dump and pg_restore: PG* variables, locale (the runtime never reads it)."""
    import os

    return dict(os.environ)


def _close(app) -> None:
    from runtime.extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@main.command()
@click.argument("folder", metavar="DIR", default="build",
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
def status(folder: Path, fmt: str) -> None:
    """Every instance built under DIR: release, generator, pending migrations, outbox, import."""
    import json

    from runtime.status import instances, table
    from runtime.status import status as instance_status

    rows = [instance_status(path) for path in instances(folder)]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
    elif rows:
        click.echo(table(rows))
    else:
        click.echo(f"no built instance under {folder}/", err=True)
    if any(r.get("error") for r in rows):
        sys.exit(1)


@contextmanager
def _mail_worker(instance: str, fleet: bool = False):
    """`portal outbox work INSTANCE` (or `--all DIR`) as a child process, while the server runs."""
    import os
    import signal
    import subprocess

    child = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "outbox", "work", instance,
                              *(["--all"] if fleet else []), "--stop-with", str(os.getpid())])
    # a SIGTERM to the server must reach the `finally` below, or the worker is orphaned
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        yield child
    finally:
        signal.signal(signal.SIGTERM, previous)
        child.terminate()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


@main.command()
@click.argument("instance", type=click.Path(exists=True, file_okay=False))
@click.option("--sample", is_flag=True, required=True,
              help="Plausible sample content made from the tenant file, in its language.")
def seed(instance: str, sample: bool) -> None:
    """Fill an EMPTY instance with sample content and print the logins (a second run, or an
    instance with data of its own, is refused: the sample never mixes with real data)."""
    from runtime import sample as sample_content

    with _instance(instance) as app:
        try:
            logins = sample_content.seed()
        except sample_content.Refused as exc:
            raise click.ClickException(f"{instance}: {exc}") from None
        name = app.extensions["portal"]["tenant"]["name"]
    _print_logins(f"Sample content for {name} in {instance}", logins)



@main.command()
@click.argument("instance", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the PNG screenshots and index.html (created if missing).")
@click.option("--widths", default="390,1366", show_default=True,
              help="Viewport widths in pixels, comma-separated.")
@click.option("--screens", default=",".join(("login", "home", "menu", "request", "ticket",
                                             "staff")), show_default=True,
              help="Which screens: login, home, menu (each menu entry), request (a request "
                   "form), ticket, staff (the staff queue).")
def preview(instance: Path, out_dir: Path, widths: str, screens: str) -> None:
    """Screenshots of INSTANCE's main screens and an index.html contact sheet, made on a copy
    (the instance's own data is never touched; a copy without content gets sample content)."""
    from runtime.preview import SCREENS, PreviewError, run

    try:
        sizes = [int(w) for w in widths.split(",") if w.strip()]
    except ValueError:
        raise click.BadParameter(f"{widths!r}: expected widths like 390,1366",
                                 param_hint="--widths") from None
    if not sizes or any(not 240 <= w <= 3840 for w in sizes):
        raise click.BadParameter("each width must be between 240 and 3840 pixels",
                                 param_hint="--widths")
    chosen = tuple(s.strip() for s in screens.split(",") if s.strip())
    unknown = [s for s in chosen if s not in SCREENS]
    if unknown or not chosen:
        raise click.BadParameter(f"unknown {', '.join(unknown) or 'nothing'}; choose from "
                                 f"{', '.join(SCREENS)}", param_hint="--screens")
    try:
        shots = run(instance, out_dir, sizes, chosen, echo=click.echo, environ=_environ())
    except PreviewError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{len(shots)} screenshots; open {out_dir / 'index.html'}")

def _print_logins(title: str, logins) -> None:
    from runtime.sample import PASSWORD

    click.echo(f"{title}. Log in with (password for all: {PASSWORD}):")
    for login in logins:
        extra = f", CPF {login.document}" if login.document else ""
        if login.phone:
            extra += f" or phone {login.phone}"
        click.echo(f"  {login.role:<8} {login.email}{extra}")


@main.command()
@click.argument("instance", required=False, type=click.Path(exists=True, file_okay=False))
@click.option("--fleet", "fleet_dir", metavar="DIR",
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Serve every instance built under DIR, chosen by the Host header.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def serve(instance: str | None, fleet_dir: Path | None, host: str, port: int) -> None:
    """Serve INSTANCE for preview (production: gunicorn --chdir INSTANCE wsgi:app).

    With --fleet DIR, one process serves every instance under DIR (production:
    gunicorn 'runtime.fleet:Fleet("DIR")').
    """
    if (instance is None) == (fleet_dir is None):
        raise click.UsageError("give either INSTANCE or --fleet DIR")
    if fleet_dir is not None:
        _serve_fleet(fleet_dir, host, port)
        return
    app = _app(instance)
    _upgrade(app)
    click.echo(f"serving {app.extensions['portal']['tenant']['name']} on http://{host}:{port}/")
    with _mail_worker(instance):
        _run(instance, host, port)


def _serve_fleet(folder: Path, host: str, port: int) -> None:
    """Every instance under `folder` (databases migrated by `portal db upgrade --all`)."""
    from werkzeug.serving import run_simple

    from runtime import InstanceError
    from runtime.fleet import Fleet

    try:
        fleet = Fleet(folder)
    except InstanceError as exc:
        raise click.ClickException(str(exc)) from None
    hosts = sorted(fleet.hosts)
    if not hosts:
        raise click.ClickException(f"no built instance under {folder}/")
    click.echo(f"serving {len(fleet.hosts)} host name(s) of {folder}/ on port {port}:")
    for name in hosts:
        click.echo(f"  http://{name}:{port}/")
    click.echo("(*.localhost names reach this machine in browsers; databases are not migrated "
               f"here: portal db upgrade --all {folder})")
    with _mail_worker(str(folder), fleet=True):
        run_simple(host, port, fleet, threaded=True)


def _run(instance: str, host: str, port: int) -> None:
    """Serve with the app that follows rebuilds (as gunicorn does with wsgi.py)."""
    from werkzeug.serving import run_simple

    from runtime.releases import LiveInstance

    run_simple(host, port, LiveInstance(instance), threaded=True)


@main.command()
@click.option("--out", "out_dir", default="build", show_default=True, type=click.Path())
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Build and fill the database, do not serve.")
def demo(out_dir: str, host: str, port: int, no_serve: bool) -> None:
    """Build the demo tenant, fill it with demo content, print the logins, serve it."""
    import os

    from generator.build import build as build_one
    from generator.diagnostics import TenantError

    os.environ.setdefault("PORTAL_MAIL", "outbox")  # the demo never sends real e-mail
    tenant = _demo_tenant()
    try:
        result = build_one(str(tenant), Path(out_dir))
    except TenantError as exc:
        raise click.ClickException(str(exc)) from None
    app = _app(str(result.instance))
    _upgrade(app)
    from runtime.demo import ACCOUNTS, DEMO_PASSWORD, seed

    with app.app_context():
        logins = seed(tenant.parent / "erp")
        managing = _managing_clients()
    click.echo(f"\nDemo portal of {app.extensions['portal']['tenant']['name']} "
               f"built in {result.instance}")
    click.echo(f"Open http://{host}:{port}/ and log in (password for all: {DEMO_PASSWORD}):")
    phones = {account[2]: account[5] for account in ACCOUNTS}
    for role, email, document in logins:
        extra = f", CPF {document}" if document else ""
        if role == "client" and phones.get(email):  # clients log in by phone too
            extra += f" or phone {phones[email]}"
        if email in managing:  # one account, two portals
            extra += " (also building manager: the Síndico tab, or the switch on each page)"
        click.echo(f"  {role:<8} {email}{extra}")
    click.echo(f"E-mails are written to {result.instance / 'data' / 'outbox'}/")
    click.echo(f"Operations: portal status {out_dir}; portal backup {result.instance} "
               f"--out aurora-backup.tar.gz (see README, Operations)")
    click.echo(f"Screenshots for approval: portal preview {result.instance} --out previews/aurora"
               "  (needs pip install -e '.[preview]')\n")
    if not no_serve:
        with _mail_worker(str(result.instance)):
            _run(str(result.instance), host, port)


@main.command()
@click.argument("file", metavar="TENANT.yaml",
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", default="build/dev", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="portal dev's own folder for the throwaway instance.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def dev(file: Path, out_dir: Path, host: str, port: int) -> None:
    """Build TENANT.yaml, fill it with sample content and serve it; rebuild on every save
    of the file, its bases, pages and assets, and reload the open pages. A save with errors
    shows them in the page and here, and the last good build stays."""
    import os

    from generator.watch import OutputError, Rebuilder, claim
    from runtime.devserver import serve as serve_dev

    try:
        claim(out_dir)
    except OutputError as exc:
        raise click.ClickException(str(exc)) from None
    # its own SQLite database, no Redis, no real e-mail: never the settings of a real portal
    for name in [n for n in os.environ if n.startswith("PORTAL_")]:
        del os.environ[name]
    os.environ["PORTAL_MAIL"] = "outbox"
    serve_dev(Rebuilder(file, out_dir), host, port, click.echo, _print_logins)


def _managing_clients() -> set[str]:
    """The e-mails of clients who also manage a development (they have two portals)."""
    from runtime.erp.models import SyndicDevelopment
    from runtime.extensions import db
    from runtime.models import User

    return set(db.session.scalars(db.select(User.email).join(
        SyndicDevelopment, SyndicDevelopment.user_id == User.id).where(User.role == "client")))


if __name__ == "__main__":
    main()
