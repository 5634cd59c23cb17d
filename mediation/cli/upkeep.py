"""An operator's upkeep of an installation: the cases' deadlines computed again (``mediation
cases recompute-deadlines``), the governance tallies rebuilt (``governance-rebuild``), the
storage probed (``storage check``), and ``backup`` / ``restore`` (docs/backup.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from ..extensions import db


@click.command("governance-rebuild")
@with_appcontext
def governance_rebuild_command() -> None:
    """Place every case in its area again, then rebuild the governance dashboard's monthly
    tallies from the cases (after an upgrade, a restore or a bulk change made outside the
    application)."""
    from ..governance import areas, tallies

    moved = areas.place_all()
    months = tallies.rebuild()
    db.session.commit()
    click.echo(f"{moved} cases placed anew; {months} months of governance tallies rebuilt")


@click.group("cases")
def cases_group() -> None:
    """Cases and their statutory clocks."""


@cases_group.command("recompute-deadlines")
@with_appcontext
def recompute_deadlines_command() -> None:
    """Compute every open case's deadline again; run after upgrading chinese-calendar."""
    from ..cases.extension import recompute_deadlines

    changed = recompute_deadlines()
    db.session.commit()
    click.echo(f"{changed} cases got new deadlines")


@cases_group.command("calendar")
@click.option(
    "--check",
    "file",
    type=click.Path(dir_okay=False),
    help="Check this holiday file instead of showing the configured calendar.",
)
@with_appcontext
def calendar_command(file: str | None) -> None:
    """Which years' public holidays the deadlines follow: the chinese-calendar package's, and
    the holiday file's (MEDIATION_HOLIDAYS_FILE, or holidays.toml in the instance folder),
    for the years the State Council has published and the package does not know yet.
    --check FILE reads a file before it is installed; exit 1 if it cannot be used. After
    changing a year the package already knew, run ``mediation cases recompute-deadlines``."""
    import chinese_calendar

    from ..cases import clocks, holidays

    package_years = sorted({d.year for d in chinese_calendar.holidays})
    if file is not None:
        try:
            extra = holidays.load(file)
        except holidays.HolidayFileError as error:
            click.echo(f"Cannot be used: {error}", err=True)
            sys.exit(1)
    else:
        extra = clocks.supplement()
    click.echo(f"chinese-calendar knows {package_years[0]}-{package_years[-1]}")
    if extra.source is None:
        click.echo("no holiday file")
    for year, days in sorted(extra.years.items()):
        off = ", ".join(
            f"{name} {len([d for d in days.holidays if days.holidays[d] == name])} days"
            for name in dict.fromkeys(days.holidays[d] for d in sorted(days.holidays))
        )
        worked = ", ".join(d.isoformat() for d in sorted(days.workdays)) or "none"
        replaces = " (replaces the package's)" if year in package_years else ""
        click.echo(f"{year} from {extra.source}{replaces}: {off}; weekend days worked: {worked}")
    if file is None:
        last = clocks.known_until()
        click.echo(
            f"deadlines follow the published calendar until the end of {last}; "
            f"later days count Monday-Friday until {last + 1} is given"
        )


@click.group("storage")
def storage_group() -> None:
    """The files' storage: the local folder or S3-compatible object storage."""


@storage_group.command("check")
@with_appcontext
def storage_check_command() -> None:
    """Write, read by range and delete a probe file: exit 0 when the storage this process
    is configured with works (run it on every machine after setting MEDIATION_STORAGE_URL)."""
    import secrets

    from ..core.storage import storage

    backend = storage()
    key = f"probe/{secrets.token_hex(8)}"
    data = secrets.token_bytes(64)
    try:
        backend.put(key, data)
        with backend.open_range(key, 8, 16) as part:
            ranged = part.read()
        intact = backend.get(key) == data and ranged == data[8:16] and backend.size(key) == 64
        backend.delete(key)
    except Exception as error:  # the message is the answer: unreachable, denied, no bucket
        click.echo(f"{backend!r}: {error}", err=True)
        sys.exit(1)
    if not intact or backend.exists(key):
        click.echo(f"{backend!r}: the probe did not come back intact", err=True)
        sys.exit(1)
    click.echo(f"{backend!r}: write, ranged read and delete work")


@click.command("backup")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def backup_command(directory: Path) -> None:
    """Back up the database, stored files and PKI directory into the new DIRECTORY
    (docs/backup.md); safe while the platform runs."""
    from ..backup import BackupError, backup

    try:
        done = backup(current_app._get_current_object(), directory)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"Backup in {done.directory}: {done.dialect} database (revision {done.revision}), "
        f"{done.files} files, {done.size} bytes, each SHA-256 in manifest.json"
    )


@click.command("restore")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace an instance that holds data.")
@with_appcontext
def restore_command(directory: Path, force: bool) -> None:
    """Restore the backup in DIRECTORY into this instance, after checking every file's
    SHA-256; an instance that holds data is replaced only with --force."""
    from ..backup import BackupError, restore

    try:
        done = restore(current_app._get_current_object(), directory, force=force)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"Restored {done.files} files from {done.directory} ({done.dialect} database at "
        f"revision {done.revision}). Start the platform: `mediation run` applies any newer "
        "migrations."
    )
