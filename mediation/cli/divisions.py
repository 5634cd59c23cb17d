"""``mediation divisions``: the operator's additions to the list of division codes
(core.divisions): a county, city or street created after the list was published, which an
administrator could not otherwise register an institution, a court or a region's staff in."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from ..core import divisions


@click.group("divisions")
def divisions_group() -> None:
    """Administrative divisions: names, and the ones added to the list."""


@divisions_group.command("show")
@click.argument("code")
@with_appcontext
def show_command(code: str) -> None:
    """How the platform names a division code, and whether an administrator can type it."""
    area = divisions.prefix(code)
    if not area:
        raise click.UsageError(f"{code!r} is no division code: six digits, or nine for a street")
    with current_app.test_request_context():  # named in Chinese, as the pages are
        named = divisions.name(area, full=True)
    known = "taken where an administrator types it" if divisions.exists(area) else "refused"
    click.echo(f"{divisions.full_code(area)}\t{named}\t{known}")


@divisions_group.command("add")
@click.argument("code")
@click.argument("name")
@click.option(
    "--rename",
    is_flag=True,
    help="The code is listed: give it this name instead, on every page and record.",
)
@with_appcontext
def add_command(code: str, name: str, rename: bool) -> None:
    """Add a division created after the list (its code, its Chinese name) to the file
    DIVISIONS_ADDED (default: divisions-added.csv in the instance folder)."""
    was = divisions.chinese_name(divisions.prefix(code))
    try:
        area = divisions.add(code, name, rename=rename)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    with current_app.test_request_context():
        named = divisions.name(area, full=True)
    click.echo(
        f"{'renamed' if was else 'added'} {divisions.full_code(area)} {named}"
        f"{f' (was {was})' if was else ''} in {divisions.ADDED}; restart the platform's "
        "processes (web, worker) for them to read it"
    )
