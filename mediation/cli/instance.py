"""Which Flask app a ``mediation`` command runs in: the one the command builds
(:func:`create_platform_app`), or, for the commands that verify anywhere, the installed
platform only where its CA already exists (:func:`platform_app`): on a court's machine a
check must not make an instance folder or keys."""

from __future__ import annotations

import click
from flask import Flask, current_app


def create_platform_app() -> Flask:
    """The app of this machine's settings; a setting it cannot start with is the operator's
    to mend, said in one line, not a traceback."""
    from .. import create_app
    from ..config import ConfigurationError

    try:
        return create_app()
    except ConfigurationError as error:
        raise click.ClickException(str(error)) from None


def platform_app() -> Flask | None:
    """The installed platform this command runs in, with an app context; None when there
    is none (a court's machine), found without creating its instance folder or keys."""
    from flask.cli import ScriptInfo

    from .. import installed_pki_dir

    if current_app:
        return current_app._get_current_object()
    ctx = click.get_current_context()
    info = ctx.find_object(ScriptInfo)
    if info is None:
        return None
    # The `mediation` command builds its app only where that app's CA already exists; an
    # app handed in (FlaskCliRunner, --app) is the caller's choice and is used as it is.
    if (
        info.create_app is create_platform_app
        and not (installed_pki_dir() / "root.crt.pem").is_file()
    ):
        return None
    app = info.load_app()
    ctx.with_resource(app.app_context())
    return app
