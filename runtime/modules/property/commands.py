"""`portal import INSTANCE DIR`: the ERP export into the instance's property data."""

from __future__ import annotations

from pathlib import Path

import click

from .. import INSTANCE
from . import bp


@bp.cli.command("import")
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--dry-run", is_flag=True, help="Check and count; change nothing.")
def import_erp(folder: str, dry_run: bool) -> None:
    """Import an ERP export (customers, developments, units, contracts, contract_parties,
    and the modules' own files, such as instalments)."""
    from ...erp.importer import run

    report = run(Path(folder), dry_run=dry_run)
    if report.errors:
        for line in report.errors:
            click.echo(line, err=True)
        raise click.ClickException(f"{len(report.errors)} problem(s); nothing was imported")
    click.echo("would change (dry run):" if dry_run else "imported:")
    for table, counts in report.counts.items():
        kept = (f" {counts['kept']:>7} kept (changed in the portal)" if counts["kept"]
                else "")
        removed = f" {counts['removed']:>7} removed" if counts["removed"] else ""
        click.echo(f"  {table:<17} {counts['created']:>7} created {counts['updated']:>7} "
                   f"updated {counts['unchanged']:>7} unchanged{kept}{removed}")
    instance = click.get_current_context().meta[INSTANCE]  # as the user wrote it
    if report.counts.get("customers", {}).get("kept") and not dry_run:
        click.echo(f"changes made in the portal were kept; list them for the ERP with: "
                   f"portal export changes {instance}")
    if report.new_customers and not dry_run:
        click.echo(f"{len(report.new_customers)} new customer(s): send their first-access "
                   f"links with: portal users invite {instance} --all-new")
