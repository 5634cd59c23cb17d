"""The platform's signing credentials as this installation configures them: the PKCS#11
token, the certificate authority (agreements/pki/) and where its CRLs are published, the
roots a signature is checked against, an institution's seal, the timestamper. The signing
round (signing.py), the check of a signed file (verification.py) and the court's packages
take them from here."""

from __future__ import annotations

from pathlib import Path

from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from flask import current_app

from agreements import keys, pki, tsa

from .models import SignerRole


def token() -> keys.Token | None:
    """The PKCS#11 token holding the platform's keys, when MEDIATION_PKCS11_MODULE is set."""
    config = current_app.config
    if not config.get("PKCS11_MODULE"):
        return None
    found = current_app.extensions.get("agreements.token")
    if found is None:
        pin = keys.read_pin(config.get("PKCS11_PIN"), config.get("PKCS11_PIN_FILE"))
        found = keys.Token(
            keys.TokenConfig(
                module=config["PKCS11_MODULE"],
                pin=pin or "",
                token_label=config.get("PKCS11_TOKEN_LABEL"),
                slot=config.get("PKCS11_SLOT"),
                issuing_label=config["PKCS11_ISSUING_KEY_LABEL"],
                tsa_label=config["PKCS11_TSA_KEY_LABEL"],
                package_label=config["PKCS11_PACKAGE_KEY_LABEL"],
                seal_prefix=config["PKCS11_SEAL_KEY_PREFIX"],
            )
        )
        current_app.extensions["agreements.token"] = found
    return found


def authority() -> pki.Authority:
    """The platform CA in PKI_DIR (one per installation): created on first use in
    development; in production made offline (`mediation pki init-root`, `issue-ca`)."""
    found = current_app.extensions.get("agreements.authority")
    if found is None:
        passphrase = current_app.config.get("PKI_ROOT_PASSPHRASE")
        found = pki.ensure_authority(
            Path(current_app.config["PKI_DIR"]),
            name=current_app.config["PKI_NAME"],
            passphrase=passphrase.encode() if passphrase else None,
            token=token(),
            create_root=current_app.config["PKI_CREATE_ROOT"],
            crl_base=crl_base(),
        )
        current_app.extensions["agreements.authority"] = found
    return found


def crl_base() -> str:
    """Where the CA's CRLs are published (mediation/agreements/pki_views.py)."""
    return f"{current_app.config['BASE_URL'].rstrip('/')}/pki"


def platform_root():
    """The platform's root certificate (asn1crypto), or None before the CA exists.

    Only reads: verifying must never create a CA, or a verifier would end up trusting
    keys it just made instead of the ones that signed (see :mod:`agreements.anchors`).
    """
    found = current_app.extensions.get("agreements.authority")
    if found is not None:
        return found.root
    return pki.load_root(Path(current_app.config["PKI_DIR"]))


def seal_credential(institution) -> keys.TokenCredential | None:
    """The institution's long-lived seal (its key in the token, see agreements/keys.py), or
    None without a token: the seal is then a one-off key like every other signature."""
    found = authority()
    if found.token is None:
        return None
    return pki.long_lived_signer(
        found,
        label=f"{found.token.config.seal_prefix}{institution.id}",
        common_name=fit_name(institution.name),
        role=str(SignerRole.institution),
        signer_id=f"institution-{institution.id}",
    )


def timestamper():
    url = current_app.config.get("TSA_URL")
    if not url:
        return tsa.timestamper_for(authority())
    # An external TSA's chain ends at one of the configured extra roots.
    return tsa.timestamper_for(authority(), url=url, trust_roots=extra_roots())


def trust_roots() -> list[asn1_x509.Certificate]:
    """The platform's root, and any external CA's roots configured (PEM files).

    Read, never created: before the platform has signed anything it has no root, and
    nothing can verify against it.
    """
    root = platform_root()
    return ([root] if root is not None else []) + extra_roots()


def extra_roots() -> list[asn1_x509.Certificate]:
    """The roots configured in PKI_TRUST_ROOTS (PEM or DER files): an external TSA's."""
    roots = []
    for name in current_app.config.get("PKI_TRUST_ROOTS") or []:
        data = Path(name).read_bytes()
        if pem.detect(data):
            data = pem.unarmor(data)[2]
        roots.append(asn1_x509.Certificate.load(data))
    return roots


def fit_name(name: str, limit: int = 64) -> str:
    """A certificate's common name holds at most 64 bytes of UTF-8 (RFC 5280 ub-common-name):
    a longer name (an institution's, often) is cut at a character boundary."""
    while len(name.encode()) > limit:
        name = name[:-1]
    return name
