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
    """`portal NAME INSTANCE ...`: the module's command, run inside the instance's app."""
    from runtime.modules import INSTANCE

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
def build(files: tuple[str, ...], all_: bool, out_dir: str) -> None:
    """Validate and compile tenants into instance folders."""
    from generator.build import build as build_one
    from generator.build import find_tenants
    from generator.diagnostics import TenantError
    from generator.incremental import BuildIndex

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
    failures, built = [], []
    index = BuildIndex(Path(out_dir))
    with click.progressbar(targets, label="Building", file=sys.stderr,
                           show_pos=True, item_show_func=lambda t: t or "") as bar:
        for target in bar:
            try:
                built.append(build_one(target, Path(out_dir), index))
            except TenantError as exc:
                failures += exc.diagnostics
    index.save()
    for d in failures:
        click.echo(d.format(), err=True)
    changed = sum(r.changed for r in built)
    click.echo(f"built {len(built)} instance(s) in {out_dir}/ ({changed} changed, "
               f"{len(built) - changed} unchanged)" + (f"; {len(targets) - len(built)} failed"
                                                     if failures else ""))
    if len(built) == 1:
        _next_steps(built[0].instance)
    if failures:
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
def schema() -> None:
    """Print the tenant JSON Schema (for editors and CI)."""
    from generator.schema import load_schema, render

    click.echo(render(load_schema()), nl=False)


@main.command()
@click.argument("tenant_id")
@click.option("--dir", "folder", default="tenants", show_default=True, type=click.Path())
def new(tenant_id: str, folder: str) -> None:
    """Write tenants/ID/tenant.yaml, a valid starting point."""
    from generator.scaffold import ScaffoldError, scaffold

    try:
        path = scaffold(tenant_id, Path(folder))
    except ScaffoldError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {path}\nnext: portal validate {path}")


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

    with app.app_context():
        try:
            # "heads": the core's revisions and each module's branch
            upgrade(directory=app.extensions["migrate"].directory, revision="heads")
        except sqlalchemy.exc.OperationalError as exc:
            raise click.ClickException(f"cannot reach the database: {exc.orig}") from None


@main.group()
def db() -> None:
    """Database of an instance."""


@db.command("upgrade")
@click.argument("instance", type=click.Path(exists=True, file_okay=False))
def db_upgrade(instance: str) -> None:
    """Create or migrate the database of INSTANCE (idempotent)."""
    with _instance(instance):
        pass  # opening an instance migrates its database
    click.echo(f"database of {instance} is up to date")


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
@click.argument("instance", type=click.Path(exists=True, file_okay=False))
@click.option("--interval", default=5.0, show_default=True, type=click.FloatRange(0.1, 3600),
              help="Seconds between polls for due messages.")
@click.option("--stop-with", "parent", type=int, hidden=True,
              help="Stop when this process (the web server that started us) is gone.")
def outbox_work(instance: str, interval: float, parent: int | None) -> None:
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
        if result.tried or result.server_down:
            click.echo(_pass_summary(result) + (f"; server unavailable: {result.server_down}"
                                                if result.server_down else ""), err=True)

    with _instance(instance):
        click.echo(f"outbox worker for {instance}: polling every {interval:g} s", err=True)
        work(stop, interval=interval, on_pass=report)
    click.echo("outbox worker stopped", err=True)


@contextmanager
def _mail_worker(instance: str):
    """`portal outbox work INSTANCE` as a child process, for as long as the server runs."""
    import os
    import signal
    import subprocess

    child = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "outbox", "work", instance,
                              "--stop-with", str(os.getpid())])
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
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def serve(instance: str, host: str, port: int) -> None:
    """Serve INSTANCE for preview (production: gunicorn --chdir INSTANCE wsgi:app)."""
    app = _app(instance)
    _upgrade(app)
    click.echo(f"serving {app.extensions['portal']['tenant']['name']} on http://{host}:{port}/")
    with _mail_worker(instance):
        _run(instance, host, port)


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
    from runtime.demo import DEMO_PASSWORD, seed

    with app.app_context():
        logins = seed(tenant.parent / "erp")
    click.echo(f"\nDemo portal of {app.extensions['portal']['tenant']['name']} "
               f"built in {result.instance}")
    click.echo(f"Open http://{host}:{port}/ and log in (password for all: {DEMO_PASSWORD}):")
    for role, email, document in logins:
        extra = f" or CPF {document}" if document else ""
        click.echo(f"  {role:<8} {email}{extra}")
    click.echo(f"E-mails are written to {result.instance / 'data' / 'outbox'}/\n")
    if not no_serve:
        with _mail_worker(str(result.instance)):
            _run(str(result.instance), host, port)


if __name__ == "__main__":
    main()
