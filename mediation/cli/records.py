"""A case's records checked and completed from the console: ``mediation journal verify`` (the
proceedings journal's hash chain), ``mediation recording verify`` (every recording hashed
again) and ``mediation recording compose`` (the review videos of ended sessions)."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from ..extensions import db


@click.group("journal")
def journal_group() -> None:
    """The proceedings journal."""


@journal_group.command("verify")
@click.argument("case_number")
@with_appcontext
def journal_verify(case_number: str) -> None:
    """Check the hash chain of CASE_NUMBER; exit 1 when it is broken."""
    from sqlalchemy import select

    from ..cases.models import Case
    from ..journal.operations import sealed_problems, verify_chain

    case = db.session.scalar(select(Case).where(Case.number == case_number))
    if case is None:
        raise click.ClickException(f"no case {case_number}")
    report = verify_chain(case.id)
    if not report.ok:
        click.echo(f"{case_number}: chain broken at entry {report.broken_at}: {report.reason}")
        sys.exit(1)
    # One side's content is kept beside the chain, which holds its hash.
    sealed = sealed_problems(case.id)
    if sealed:
        listed = ", ".join(str(seq) for seq in sealed)
        click.echo(f"{case_number}: sealed content does not match entries {listed}")
        sys.exit(1)
    click.echo(f"{case_number}: chain intact, {report.entries} entries")


@click.group("recording")
def recording_group() -> None:
    """Recorded sessions: their integrity and review videos."""


@recording_group.command("verify")
@click.argument("case_number")
@with_appcontext
def recording_verify(case_number: str) -> None:
    """Hash every recording of CASE_NUMBER again; exit 1 when any differs or is missing."""
    from sqlalchemy import select

    from ..cases.models import Case
    from ..recording import operations as recording

    case = db.session.scalar(select(Case).where(Case.number == case_number))
    if case is None:
        raise click.ClickException(f"no case {case_number}")
    problems = recording.verify(case.id)
    for found, problem in problems:
        click.echo(f"{found.path}: {problem} (recorded SHA-256 {found.sha256})")
    if problems:
        sys.exit(1)
    click.echo(f"{case_number}: {len(recording.of_case(case.id))} recordings, all intact")


@recording_group.command("compose")
@with_appcontext
def recording_compose() -> None:
    """Make the review video of every ended session that has none yet."""
    from ..recording import operations as recording

    for session_id in recording.to_compose():
        composition = recording.claim_composition(session_id)
        db.session.commit()
        if composition is None:
            continue  # another worker took it
        try:
            recording.compose_session(composition)
        except Exception:
            db.session.rollback()
            composition = db.session.merge(composition)
            composition.status = "failed"
            db.session.commit()
            raise
        db.session.commit()
        click.echo(f"session {session_id}: {composition.status}")
