"""The platform's long-running processes, as systemd starts them (deploy/systemd/): ``mediation
run`` (the web pages and Socket.IO), ``mediation worker`` (the periodic jobs) and ``mediation
recorder`` (the rooms whose participants agreed to be recorded)."""

from __future__ import annotations

import os
import signal
import sys

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade


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

    from ..agreements import credentials

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

    from ..worker import run_loop, run_once

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

    from ..recording.recorder import main as record

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
