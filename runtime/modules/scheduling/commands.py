"""`portal scheduling remind INSTANCE`: queue tomorrow's reminders once (the outbox worker
does the same on each of its passes)."""

from __future__ import annotations

import click

from . import bp


@bp.cli.group("scheduling")
def scheduling() -> None:
    """Appointments of an instance."""


@scheduling.command("remind")
def remind() -> None:
    """Queue the reminder e-mail of each appointment of tomorrow not reminded yet."""
    from .service import remind as queue_reminders

    click.echo(f"{queue_reminders()} reminder(s) queued")
