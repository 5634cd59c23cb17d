"""Verification anywhere: the roots ``mediation agreement verify`` and ``mediation court
verify`` trust.

A court checks an agreement or a package on its own machine: no instance, no database, no
network. Trust comes from the root it is given (--root) or from the root whose published
fingerprint it is given (--root-sha256, see agreements.anchors); inside an installed
platform that already has its CA, from the platform's root. Never from a CA made on the
spot: the check would then trust keys that signed nothing and call a genuine file false.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import click

from .instance import platform_app

NO_ANCHOR = (
    "No trusted root: give the platform's root certificate with --root FILE (PEM or DER), "
    "or its published SHA-256 fingerprint with --root-sha256 HEX."
)


def trust_options(command):
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
class Trust:
    roots: list  # asn1crypto certificates
    platform: bool  # the platform's own root (inside an installed platform)

    def describe(self) -> str:
        from agreements.anchors import fingerprint

        source = "this platform's root" if self.platform else "given root"
        return "\n".join(
            f"{source}: {root.subject.human_friendly} SHA-256 {fingerprint(root)}"
            for root in self.roots
        )


def choose_roots(
    roots: tuple[Path, ...], fingerprints: tuple[str, ...], embedded, name: str
) -> Trust:
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
        refuse(str(error))
    if trusted:
        return Trust(trusted, platform=False)
    if platform_app() is not None:
        from ..agreements import credentials

        trusted = credentials.trust_roots()
        if trusted:
            return Trust(trusted, platform=True)
    refuse(NO_ANCHOR)


def refuse(line: str) -> NoReturn:
    click.echo(line, err=True)
    sys.exit(2)


def quiet_validators() -> None:
    """pyHanko logs each failed check with a traceback; the report says it in a line."""
    import logging

    logging.getLogger("pyhanko").setLevel(logging.ERROR)
    logging.getLogger("pyhanko_certvalidator").setLevel(logging.ERROR)
