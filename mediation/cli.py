"""The ``mediation`` command: run, worker, demo, journal checks, and Flask's own commands."""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, routes_command, shell_command, with_appcontext
from flask_migrate import upgrade

from .extensions import db
from .pki_commands import pki_group


def _create_app() -> Flask:
    from . import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False)
def main() -> None:
    """The online dispute-mediation platform."""


main.add_command(shell_command)
main.add_command(routes_command)


def register_commands(app: Flask) -> None:
    """The platform's commands live on ``app.cli``, so ``FlaskCliRunner`` reaches them too."""
    for command in (
        run_command,
        worker_command,
        recorder_command,
        demo_command,
        journal_group,
        recording_group,
        agreement_group,
        court_group,
        pki_group,
        admin_command,
        governance_rebuild_command,
        cases_group,
        storage_group,
        backup_command,
        restore_command,
    ):
        app.cli.add_command(command)


@click.command("run")
@click.option("--host", default=lambda: os.environ.get("MEDIATION_HOST", "127.0.0.1"))
@click.option("--port", default=lambda: int(os.environ.get("MEDIATION_PORT", "5000")), type=int)
@click.option("--migrate/--no-migrate", default=True, help="Apply pending migrations first.")
@with_appcontext
def run_command(host: str, port: int, migrate: bool) -> None:
    """Serve the platform (web pages and Socket.IO) on HOST:PORT."""
    if migrate:
        upgrade()
    if current_app.config["ENV_NAME"] == "production":
        _check_authority()  # no root yet: say how to make one, before serving anyone
    # The server runs on gevent, which must patch the standard library before anything is
    # imported: a fresh interpreter in this process's place (same pid, same signals).
    sys.stdout.flush()
    command = [sys.executable, "-m", "signaling.server", "--host", host, "--port", str(port)]
    os.execv(sys.executable, command)  # noqa: S606 - this interpreter, fixed arguments


def _check_authority() -> None:
    from agreements import keys

    from .agreements import credentials

    try:
        credentials.authority()
    except (FileNotFoundError, keys.TokenError) as e:
        raise click.ClickException(str(e)) from None


@click.command("worker")
@click.option("--once", is_flag=True, help="Run every job once and exit (for a timer).")
@with_appcontext
def worker_command(once: bool) -> None:
    """Run the periodic jobs (deadlines, outbox delivery) until stopped."""
    import threading

    from .worker import run_loop, run_once

    app = current_app._get_current_object()
    if once:
        for line in run_once(app):
            click.echo(line)
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    click.echo("Outbox worker running (Ctrl+C to stop)")
    run_loop(app, stop)


@click.command("recorder")
@click.option(
    "--url", default=None, help="Where the rooms are (default: RECORDER_URL or BASE_URL)."
)
@click.option("--parent", type=int, default=None, help="Stop when this process is gone.")
@with_appcontext
def recorder_command(url: str | None, parent: int | None) -> None:
    """Record rooms whose participants agreed (asyncio, aiortc), until stopped."""
    import asyncio

    from .recording.recorder import main as record

    app = current_app._get_current_object()
    url = url or app.config["RECORDER_URL"] or app.config["BASE_URL"]

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        watching = [_stop_without(parent, stop)] if parent is not None else []
        await asyncio.gather(record(app, url, stop), *watching)

    import logging

    # What it claims, joins and receives, for whoever runs it (and for failed tests' logs).
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("aioice", "aiortc", "socketio", "engineio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    click.echo(f"Recorder running for {url} (Ctrl+C to stop)")
    asyncio.run(run())


async def _stop_without(parent: int, stop) -> None:
    import asyncio

    while os.getppid() == parent and not stop.is_set():
        await asyncio.sleep(1)
    stop.set()


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Create demo accounts, an institution, a court and a case; print every login."""
    from .demo import seed

    logins = seed()
    db.session.commit()
    click.echo("Demo data ready. Log in with any of these:")
    width = max(len(login.role) for login in logins)
    for login in logins:
        click.echo(f"  {login.role:<{width}}  {login.identifier:<28} {login.secret}")
    from .demo import signed_agreement_file

    signed = signed_agreement_file()
    if signed:
        click.echo(f"A signed agreement (4 signatures): {signed}")
        click.echo(f"  check it with: mediation agreement verify {signed}")


@click.group("journal")
def journal_group() -> None:
    """The proceedings journal."""


@journal_group.command("verify")
@click.argument("case_number")
@with_appcontext
def journal_verify(case_number: str) -> None:
    """Check the hash chain of CASE_NUMBER; exit 1 when it is broken."""
    from sqlalchemy import select

    from .cases.models import Case
    from .journal.operations import sealed_problems, verify_chain

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


def _quiet_validators() -> None:
    """pyHanko logs each failed check with a traceback; the report says it in a line."""
    import logging

    logging.getLogger("pyhanko").setLevel(logging.ERROR)
    logging.getLogger("pyhanko_certvalidator").setLevel(logging.ERROR)


# -- verification anywhere --------------------------------------------------------------------
#
# A court checks an agreement or a package on its own machine: no instance, no database, no
# network. Trust comes from the root it is given (--root) or from the root whose published
# fingerprint it is given (--root-sha256, see agreements.anchors); inside an installed
# platform that already has its CA, from the platform's root. Never from a CA made on the
# spot: the check would then trust keys that signed nothing and call a genuine file false.

NO_ANCHOR = (
    "No trusted root: give the platform's root certificate with --root FILE (PEM or DER), "
    "or its published SHA-256 fingerprint with --root-sha256 HEX."
)


def _trust_options(command):
    command = click.option(
        "--root-sha256",
        "fingerprints",
        multiple=True,
        metavar="HEX",
        help="Trust the root certificate embedded in the file whose SHA-256 fingerprint is "
        "this one (as `mediation pki fingerprint` or the platform's page publishes it).",
    )(command)
    return click.option(
        "--root",
        "roots",
        multiple=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="A trusted root certificate (PEM or DER); repeat for several. Without --root or "
        "--root-sha256: this platform's root, when run inside an installed platform.",
    )(command)


@dataclass(frozen=True)
class _Trust:
    roots: list  # asn1crypto certificates
    platform: bool  # the platform's own root (inside an installed platform)

    def describe(self) -> str:
        from agreements.anchors import fingerprint

        source = "this platform's root" if self.platform else "given root"
        return "\n".join(
            f"{source}: {root.subject.human_friendly} SHA-256 {fingerprint(root)}"
            for root in self.roots
        )


def _trust(roots: tuple[Path, ...], fingerprints: tuple[str, ...], embedded, name: str) -> _Trust:
    """The roots to verify against; exits 2 with one line when there are none."""
    from agreements import anchors

    try:
        trusted = [
            cert
            for path in roots
            for cert in anchors.load_certificates(path.read_bytes(), source=str(path))
        ]
        if fingerprints:
            wanted = {anchors.parse_fingerprint(f) for f in fingerprints}
            found = anchors.pick(embedded(), wanted)
            if len(found) < len(wanted):
                raise anchors.AnchorError(
                    f"{name} carries no certificate with the SHA-256 fingerprint given; "
                    "check the fingerprint, or give the root itself with --root FILE."
                )
            trusted += found
    except anchors.AnchorError as error:
        _refuse(str(error))
    if trusted:
        return _Trust(trusted, platform=False)
    if _platform_app() is not None:
        from .agreements import credentials

        trusted = credentials.trust_roots()
        if trusted:
            return _Trust(trusted, platform=True)
    _refuse(NO_ANCHOR)


def _refuse(line: str) -> NoReturn:
    click.echo(line, err=True)
    sys.exit(2)


def _platform_app() -> Flask | None:
    """The installed platform this command runs in, with an app context; None when there
    is none (a court's machine), found without creating its instance folder or keys."""
    from flask.cli import ScriptInfo

    from . import installed_pki_dir

    if current_app:
        return current_app._get_current_object()
    ctx = click.get_current_context()
    info = ctx.find_object(ScriptInfo)
    if info is None:
        return None
    # The `mediation` command builds its app only where that app's CA already exists; an
    # app handed in (FlaskCliRunner, --app) is the caller's choice and is used as it is.
    if info.create_app is _create_app and not (installed_pki_dir() / "root.crt.pem").is_file():
        return None
    app = info.load_app()
    ctx.with_resource(app.app_context())
    return app


@click.group("agreement")
def agreement_group() -> None:
    """Signed agreements."""


@agreement_group.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_trust_options
def agreement_verify(file: Path, roots: tuple[Path, ...], fingerprints: tuple[str, ...]) -> None:
    """Check every signature of FILE; exit 0 only when all are intact, timestamped and
    chain to a trusted root, 1 when not, 2 when no root is given."""
    from agreements import anchors
    from agreements.verify import summarize, verify_pdf

    _quiet_validators()
    data = file.read_bytes()
    trust = _trust(roots, fingerprints, lambda: anchors.in_pdf(data), file.name)
    report = verify_pdf(data, trust_roots=trust.roots)
    click.echo(summarize(report))
    click.echo(trust.describe())
    if trust.platform:
        click.echo(_case_of(data))
    sys.exit(0 if report.ok else 1)


def _case_of(pdf: bytes) -> str:
    """Which case the platform keeps this file for (when verifying inside the platform)."""
    from sqlalchemy.exc import SQLAlchemyError

    from .agreements import verification

    try:
        found = verification.match(pdf)
    except SQLAlchemyError as error:  # an instance without its database: say so, go on
        db.session.rollback()
        return f"case records not available here ({type(error).__name__})"
    if found is None:
        return "not a document the platform keeps for any case"
    return f"matches case {found.agreement.case.number} ({found.stage})"


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

    from .accounts.models import Court
    from .court.api import new_token

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

    from .accounts.models import Court
    from .court.api import revoke_tokens

    court = db.session.scalar(select(Court).where(Court.name == court_name))
    if court is None:
        raise click.ClickException(f"no court named {court_name}")
    count = revoke_tokens(court, label)
    db.session.commit()
    click.echo(f"{count} token(s) revoked")


@court_group.command("verify")
@click.argument("package", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_trust_options
def court_verify(package: Path, roots: tuple[Path, ...], fingerprints: tuple[str, ...]) -> None:
    """Check PACKAGE offline: the signed manifest, every file's hash, the journal's chain and
    the signatures of the agreement and the application; exit 0 only if all hold, 1 when
    not, 2 when no root is given."""
    from .court import bundle, package_verify

    _quiet_validators()
    data = package.read_bytes()
    trust = _trust(roots, fingerprints, lambda: bundle.embedded_certificates(data), package.name)
    report = package_verify.verify(
        data, trust_roots=trust.roots, extra=bundle.all_checks(trust.roots)
    )
    click.echo(package_verify.summarize(report))
    click.echo(trust.describe())
    sys.exit(0 if report.ok else 1)


# On main itself (app.cli too, for FlaskCliRunner): `pki init-root` runs on an offline
# machine with no instance.
main.add_command(pki_group)


@click.group("recording")
def recording_group() -> None:
    """Recorded sessions: their integrity and review videos."""


@recording_group.command("verify")
@click.argument("case_number")
@with_appcontext
def recording_verify(case_number: str) -> None:
    """Hash every recording of CASE_NUMBER again; exit 1 when any differs or is missing."""
    from sqlalchemy import select

    from .cases.models import Case
    from .recording import operations as recording

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
    from .recording import operations as recording

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


@click.command("create-admin")
@click.option("--name", "real_name", required=True, help="Real name.")
@click.option("--phone", required=True, help="Mobile number (codes are sent to it).")
@click.option("--email", default=None)
@click.password_option(help="At least 8 characters.")
@with_appcontext
def admin_command(real_name: str, phone: str, email: str | None, password: str) -> None:
    """Open the first platform administrator's account (for a new installation)."""
    from .accounts.models import Role
    from .accounts.operations import FieldError, create_user

    try:
        user = create_user(
            real_name=real_name,
            phone=phone,
            email=email,
            password=password,
            roles=[Role.platform_admin],
            verified=True,  # the operator at the server's console vouches for the number
        )
    except FieldError as error:
        raise click.BadParameter(error.message, param_hint=error.field) from None
    db.session.commit()
    click.echo(f"Platform administrator {user.real_name} ({user.phone}) created.")


@click.command("governance-rebuild")
@with_appcontext
def governance_rebuild_command() -> None:
    """Place every case in its area again, then rebuild the governance dashboard's monthly
    tallies from the cases (after an upgrade, a restore or a bulk change made outside the
    application)."""
    from .governance import areas, tallies

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
    from .cases.extension import recompute_deadlines

    changed = recompute_deadlines()
    db.session.commit()
    click.echo(f"{changed} cases got new deadlines")


@click.group("storage")
def storage_group() -> None:
    """The files' storage: the local folder or S3-compatible object storage."""


@storage_group.command("check")
@with_appcontext
def storage_check_command() -> None:
    """Write, read by range and delete a probe file: exit 0 when the storage this process
    is configured with works (run it on every machine after setting MEDIATION_STORAGE_URL)."""
    import secrets

    from .core.storage import storage

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
    from .backup import BackupError, backup

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
    from .backup import BackupError, restore

    try:
        done = restore(current_app._get_current_object(), directory, force=force)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"Restored {done.files} files from {done.directory} ({done.dialect} database at "
        f"revision {done.revision}). Start the platform: `mediation run` applies any newer "
        "migrations."
    )


# Verifying and reading the root work without building the app (which makes an instance
# folder): these groups sit on the command itself, so it does not load the app to find them;
# their commands that need it load it (with_appcontext). They stay on app.cli as well.
for _group in (agreement_group, court_group):
    main.add_command(_group)


if __name__ == "__main__":  # python -m mediation.cli: how the web process starts its recorder
    main()
