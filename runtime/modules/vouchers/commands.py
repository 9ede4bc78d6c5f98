"""`portal vouchers import INSTANCE FILE [--dry-run]`: a voucher list into the club."""

from __future__ import annotations

from pathlib import Path

import click

from . import bp


@bp.cli.group("vouchers")
def vouchers() -> None:
    """Benefits club of an instance."""


@vouchers.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check and count; change nothing.")
def import_vouchers(file: str, dry_run: bool) -> None:
    """Import a voucher list (CSV or JSON); images it names are read beside it."""
    from .importer import folder_images, run

    path = Path(file)
    if path.suffix.lower() not in (".csv", ".json"):
        raise click.UsageError(f"{file}: expected a .csv or .json file")
    result = run(path, folder_images(path.parent), dry_run=dry_run)
    if result.errors:
        for line in result.errors:
            click.echo(line, err=True)
        raise click.ClickException(f"{len(result.errors)} problem(s); nothing was imported")
    click.echo("would change (dry run):" if dry_run else "imported:")
    click.echo(f"  offers {result.count('create'):>7} created {result.count('update'):>7} "
               f"updated {result.count('unchanged'):>7} unchanged")
    click.echo(f"  codes  {result.new_codes:>7} new")
