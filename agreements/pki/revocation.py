"""Revocation data to publish and to embed: the CRLs under ``crl_base``, and the OCSP
responses of the TSA certificates (the platform runs no OCSP responder)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509

from .authority import Authority, tsa_stem, write_tsa_crl
from .certificates import (
    BACKDATE,
    CRL_MARGIN,
    CRL_REFRESH,
    crl_location,
    empty_crl,
    locked,
    to_asn1,
    to_crypto,
    write_crl,
)


def crl_files(authority: Authority) -> dict[str, bytes]:
    """The CRLs to publish under :attr:`Authority.crl_base`, by file name (DER).

    ``issuing.crl`` (the issuing CA's, for signer certificates) and the current TSA
    certificate's are re-signed when older than :data:`CRL_REFRESH`; ``root.crl`` (for the
    issuing CA) only when the root key is at hand (:func:`.authority.ensure_authority`).
    Both the issuing CA's and the root's CRLs run until shortly before the CA they are for
    expires, for the same reason as the TSA's (see :func:`.authority.issue_tsa`): a
    validator without network years later still finds them current.
    """
    directory = authority.directory
    issuing = to_crypto(authority.issuing)
    tsa = to_crypto(authority.tsa)
    tsa_path = directory / f"{tsa_stem(tsa.serial_number)}.crl"
    with locked(directory):
        if crl_due(directory / "issuing.crl", issuing):
            scope = crl_location(authority.crl_base, "issuing")
            crl = empty_crl(
                issuing,
                authority.issuing_key,
                next_update=issuing.not_valid_after_utc - CRL_MARGIN,
                scope=scope,
            )
            write_crl(directory / "issuing.crl", crl)
        if crl_due(tsa_path, issuing):
            write_tsa_crl(directory, tsa, issuing, authority.issuing_key, authority.crl_base)
        names = ["root.crl", "issuing.crl", *sorted(p.name for p in directory.glob("tsa-*.crl"))]
        return {n: (directory / n).read_bytes() for n in names if (directory / n).exists()}


def crl_due(path: Path, issuer: x509.Certificate) -> bool:
    if not path.exists():
        return True
    crl = x509.load_der_x509_crl(path.read_bytes())
    now = datetime.now(UTC)
    return (
        crl.issuer != issuer.subject
        or not crl.is_signature_valid(issuer.public_key())
        or crl.last_update_utc + BACKDATE + CRL_REFRESH <= now
        or crl.last_update_utc > now  # a clock that went back
        or (crl.next_update_utc is not None and crl.next_update_utc <= now)
    )


def validation_crls(
    authority: Authority, files: dict[str, bytes] | None = None
) -> list[asn1_crl.CertificateList]:
    """The current CRLs a validator needs for every chain this authority's signatures and
    timestamps use, including those of TSA certificates already replaced (they signed the
    older archive timestamps a renewal must prove). ``files``: what :func:`crl_files` just
    returned, so as not to check them again."""
    now = datetime.now(UTC)
    found = []
    for data in (files if files is not None else crl_files(authority)).values():
        crl = asn1_crl.CertificateList.load(data)
        next_update = crl["tbs_cert_list"]["next_update"].native
        if next_update is not None and next_update > now:
            found.append(crl)
    return found


def validation_ocsps(authority: Authority, *, fresh: bool = False) -> list[asn1_ocsp.OCSPResponse]:
    """The current OCSP responses of the TSA certificates (see
    :func:`.certificates.good_ocsp`). ``fresh``: the caller has just called
    :func:`crl_files`, which re-signs the current TSA's when due."""
    if not fresh:
        crl_files(authority)
    found = []
    now = datetime.now(UTC)
    for path in sorted(authority.directory.glob("tsa-*.ocsp")):
        response = asn1_ocsp.OCSPResponse.load(path.read_bytes())
        single = response.basic_ocsp_response["tbs_response_data"]["responses"][0]
        if single["next_update"].native > now:
            found.append(response)
    return found


def retired_certificates(authority: Authority) -> list[asn1_x509.Certificate]:
    """Certificates of retired issuing CAs and TSAs, for validating older timestamps."""
    retired = authority.directory / "retired"
    if not retired.is_dir():
        return []
    return [
        to_asn1(x509.load_pem_x509_certificate(p.read_bytes()))
        for p in sorted(retired.glob("*.crt.pem"))
        if p.name.startswith(("issuing-", "tsa-"))
    ]
