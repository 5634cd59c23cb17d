"""``mediation court``: the court API's tokens (made and revoked on the platform) and a court
package checked offline (trust.py says which roots)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from ..extensions import db
from .trust import choose_roots, quiet_validators, trust_options


@click.group("court")
def court_group() -> None:
    """Judicial confirmation: court API tokens, package verification."""


@court_group.command("token")
@click.argument("court_name")
@click.option("--label", default="", help="What the token is for (shown to administrators).")
@with_appcontext
def court_token(court_name: str, label: str) -> None:
    """Make a court API token for COURT_NAME; it is shown once."""
    from sqlalchemy import select

    from ..accounts.models import Court
    from ..court.api import new_token

    court = db.session.scalar(select(Court).where(Court.name == court_name))
    if court is None:
        raise click.ClickException(f"no court named {court_name}")
    token = new_token(court, label)
    db.session.commit()
    click.echo(token)


@court_group.command("revoke")
@click.argument("court_name")
@click.option("--label", default=None, help="Only the tokens made with this label.")
@with_appcontext
def court_revoke(court_name: str, label: str | None) -> None:
    """Revoke COURT_NAME's API tokens (a leaked one stops working at once)."""
    from sqlalchemy import select

    from ..accounts.models import Court
    from ..court.api import revoke_tokens

    court = db.session.scalar(select(Court).where(Court.name == court_name))
    if court is None:
        raise click.ClickException(f"no court named {court_name}")
    count = revoke_tokens(court, label)
    db.session.commit()
    click.echo(f"{count} token(s) revoked")


@court_group.command("verify")
@click.argument("package", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@trust_options
def court_verify(package: Path, roots: tuple[Path, ...], fingerprints: tuple[str, ...]) -> None:
    """Check PACKAGE offline: the signed manifest, every file's hash, the journal's chain and
    the signatures of the agreement and the application; exit 0 only if all hold, 1 when
    not, 2 when no root is given."""
    from ..court import bundle, package_verify

    quiet_validators()
    data = package.read_bytes()
    trust = choose_roots(
        roots, fingerprints, lambda: bundle.embedded_certificates(data), package.name
    )
    report = package_verify.verify(
        data, trust_roots=trust.roots, extra=bundle.all_checks(trust.roots)
    )
    click.echo(package_verify.summarize(report))
    click.echo(trust.describe())
    sys.exit(0 if report.ok else 1)
