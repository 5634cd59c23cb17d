"""``mediation agreement verify``: a signed agreement checked, on a court's machine or inside
the platform (trust.py says which roots)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..extensions import db
from .trust import choose_roots, quiet_validators, trust_options


@click.group("agreement")
def agreement_group() -> None:
    """Signed agreements."""


@agreement_group.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@trust_options
def agreement_verify(file: Path, roots: tuple[Path, ...], fingerprints: tuple[str, ...]) -> None:
    """Check every signature of FILE; exit 0 only when all are intact, timestamped and
    chain to a trusted root, 1 when not, 2 when no root is given."""
    from agreements import anchors
    from agreements.verify import summarize, verify_pdf

    quiet_validators()
    data = file.read_bytes()
    trust = choose_roots(roots, fingerprints, lambda: anchors.in_pdf(data), file.name)
    report = verify_pdf(data, trust_roots=trust.roots)
    click.echo(summarize(report))
    click.echo(trust.describe())
    if trust.platform:
        click.echo(_case_of(data))
    sys.exit(0 if report.ok else 1)


def _case_of(pdf: bytes) -> str:
    """Which case the platform keeps this file for (when verifying inside the platform)."""
    from sqlalchemy.exc import SQLAlchemyError

    from ..agreements import verification

    try:
        found = verification.match(pdf)
    except SQLAlchemyError as error:  # an instance without its database: say so, go on
        db.session.rollback()
        return f"case records not available here ({type(error).__name__})"
    if found is None:
        return "not a document the platform keeps for any case"
    return f"matches case {found.agreement.case.number} ({found.stage})"
