"""``mediation pki``: the platform's certificate authority. The root is made on an offline
machine (``init-root``, no instance needed), the issuing CA and TSA issued with it on the
platform (``issue-ca``), and the root published for courts to trust (``fingerprint``,
``export-root``)."""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext


@click.group("pki")
def pki_group() -> None:
    """The platform's certificate authority: the offline root, the issuing CA, and the
    root's publication for courts to trust."""


@pki_group.command("fingerprint")
@with_appcontext
def pki_fingerprint() -> None:
    """Print the SHA-256 fingerprint of the platform's root certificate (what a court
    passes to `verify --root-sha256`, and compares with `openssl x509 -fingerprint -sha256`)."""
    from agreements.anchors import fingerprint

    click.echo(fingerprint(_platform_root()))


@pki_group.command("export-root")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, allow_dash=True))
@click.option("--der", is_flag=True, help="DER instead of PEM.")
@with_appcontext
def pki_export_root(file: str, der: bool) -> None:
    """Write the platform's root certificate to FILE (`-`: standard output), to publish it."""
    from asn1crypto import pem

    root = _platform_root()
    data = root.dump() if der else pem.armor("CERTIFICATE", root.dump())
    with click.open_file(file, "wb") as out:
        out.write(data)


def _platform_root():
    from ..agreements import credentials

    root = credentials.platform_root()
    if root is None:
        raise click.ClickException(
            f"no root certificate in {current_app.config['PKI_DIR']} yet: see "
            "`mediation pki init-root` and `mediation pki issue-ca`"
        )
    return root


def _fingerprint(cert) -> str:
    """SHA-256 of the DER certificate, as `openssl x509 -fingerprint -sha256` prints it."""
    from cryptography.hazmat.primitives import hashes

    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def _passphrase(path: Path | None, *, confirm: bool) -> bytes:
    if path is not None:
        return path.read_text().splitlines()[0].encode()
    return click.prompt(
        "Root key passphrase", hide_input=True, confirmation_prompt=confirm
    ).encode()


@pki_group.command("init-root")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--name",
    default=lambda: os.environ.get("MEDIATION_PKI_NAME", "Online Mediation Platform"),
    help="The organisation the root names (the platform's PKI_NAME).",
)
@click.option(
    "--passphrase-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the passphrase from this file instead of asking.",
)
def pki_init_root(directory: Path, name: str, passphrase_file: Path | None) -> None:
    """On a separate, offline machine: make the root CA in DIRECTORY (root.crt.pem, and
    root.key.pem encrypted with a passphrase) and print its fingerprint to publish."""
    from agreements import pki

    passphrase = _passphrase(passphrase_file, confirm=True)
    if len(passphrase) < 12:
        raise click.ClickException("the passphrase needs at least 12 characters")
    try:
        cert = pki.init_root(directory, name=name, passphrase=passphrase)
    except FileExistsError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"Root CA: {cert.subject.rfc4514_string()}")
    click.echo(f"  valid until {cert.not_valid_after_utc:%Y-%m-%d}")
    click.echo(f"  SHA-256 fingerprint: {_fingerprint(cert)}")
    click.echo(
        f"Keep {directory / 'root.key.pem'} offline. Bring only the directory's copy to the "
        f"platform for `mediation pki issue-ca {directory}`, and take it away again."
    )


@pki_group.command("issue-ca")
@click.argument("root_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--passphrase-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the root key's passphrase from this file instead of asking.",
)
@with_appcontext
def pki_issue_ca(root_dir: Path, passphrase_file: Path | None) -> None:
    """Issue (or renew) the platform's issuing CA and TSA with the offline root in ROOT_DIR
    (root.crt.pem and its encrypted root.key.pem); their keys go to the PKCS#11 token when
    one is configured. The root key is used once and not copied."""
    from cryptography import x509

    from agreements import keys, pki

    from ..agreements import credentials

    config = current_app.config
    try:
        authority = pki.issue_ca(
            Path(config["PKI_DIR"]),
            root_dir=root_dir,
            passphrase=_passphrase(passphrase_file, confirm=False),
            name=config["PKI_NAME"],
            token=credentials.token(),
        )
    except (ValueError, TypeError) as e:  # a wrong passphrase, a key of another root
        raise click.ClickException(f"cannot use the root in {root_dir}: {e}") from None
    except (FileNotFoundError, keys.TokenError) as e:
        raise click.ClickException(str(e)) from None
    current_app.extensions["agreements.authority"] = authority
    where = "in the PKCS#11 token" if authority.token else f"in {config['PKI_DIR']}"
    for label, cert in (("Root CA", authority.root), ("Issuing CA", authority.issuing)):
        crypto = x509.load_der_x509_certificate(cert.dump())
        click.echo(f"{label}: {crypto.subject.rfc4514_string()}")
        click.echo(f"  SHA-256 fingerprint: {_fingerprint(crypto)}")
    click.echo(f"The issuing CA's and the TSA's keys are {where}.")
