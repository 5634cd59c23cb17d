"""Starting an installation: ``mediation create-admin`` opens the first platform
administrator's account, ``mediation demo`` fills a trial installation with demo data."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..extensions import db


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Create demo accounts, an institution, a court and a case; print every login."""
    from ..demo import seed

    logins = seed()
    db.session.commit()
    click.echo("Demo data ready. Log in with any of these:")
    width = max(len(login.role) for login in logins)
    for login in logins:
        click.echo(f"  {login.role:<{width}}  {login.identifier:<28} {login.secret}")
    from ..demo import signed_agreement_file

    signed = signed_agreement_file()
    if signed:
        click.echo(f"A signed agreement (4 signatures): {signed}")
        click.echo(f"  check it with: mediation agreement verify {signed}")


@click.command("create-admin")
@click.option("--name", "real_name", required=True, help="Real name.")
@click.option("--phone", required=True, help="Mobile number (codes are sent to it).")
@click.option("--email", default=None)
@click.password_option(help="At least 8 characters.")
@with_appcontext
def admin_command(real_name: str, phone: str, email: str | None, password: str) -> None:
    """Open the first platform administrator's account (for a new installation)."""
    from ..accounts.models import Role
    from ..accounts.operations import FieldError, create_user

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
