"""The ``mediation`` command: the group itself, and every command on it.

Each command lives with its kind: processes.py (``run``, ``worker``, ``recorder``),
install.py (``create-admin``, ``demo``), records.py (``journal``, ``recording``), upkeep.py
(``cases``, ``governance-rebuild``, ``storage``, ``backup``, ``restore``), divisions.py (the
operator's additions to the list of division codes), agreement.py and
court.py (verification anywhere, with trust.py's roots; the court API's tokens), pki.py
(the platform's certificate authority); instance.py says which app a command runs in.
Flask's own ``shell`` and ``routes`` are added as they are.
"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup, routes_command, shell_command

from .agreement import agreement_group
from .court import court_group
from .divisions import divisions_group
from .install import admin_command, demo_command
from .instance import create_platform_app
from .pki import pki_group
from .processes import recorder_command, run_command, worker_command
from .records import journal_group, recording_group
from .upkeep import (
    backup_command,
    cases_group,
    governance_rebuild_command,
    restore_command,
    storage_group,
)


@click.group(cls=FlaskGroup, create_app=create_platform_app, add_default_commands=False)
def main() -> None:
    """The online dispute-mediation platform."""


main.add_command(shell_command)
main.add_command(routes_command)
# On main itself (app.cli too, for FlaskCliRunner): `pki init-root` runs on an offline
# machine with no instance.
main.add_command(pki_group)
# Verifying and reading the root work without building the app (which makes an instance
# folder): these groups sit on the command itself, so it does not load the app to find them;
# their commands that need it load it (with_appcontext). They stay on app.cli as well.
for _group in (agreement_group, court_group):
    main.add_command(_group)


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
        divisions_group,
        cases_group,
        storage_group,
        backup_command,
        restore_command,
    ):
        app.cli.add_command(command)
