"""Which CRL answers for which certificate, and fetching those of chains the platform does
not run (an external TSA's, see :mod:`agreements.tsa`).

A CMS container the platform keeps for years (the court package's signed manifest and its
archive tokens, :mod:`mediation.court.package`) carries, CAdES-LT style (ETSI EN 319 122-1
5.4: the complete revocation data of every chain), a CRL for each certificate that names
where its CRL is published: a court checking it offline can reach none of those addresses.
A certificate naming no distribution point (the long-lived signers' in a PKCS#11 token, or
any certificate of a CA without a publication URL) points nowhere, and asks for nothing.

A CRL answers for a certificate when its issuer issued both (the CRL's signature checked
with the issuer's key) and, if it is a partition (RFC 5280 5.2.5, an issuing distribution
point naming where it is published), when the certificate names that same place.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509 as crypto_x509
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.path import ValidationPath


def distribution_points(cert: asn1_x509.Certificate) -> set[str]:
    """The URIs where ``cert`` says its issuer publishes the CRL covering it (RFC 5280
    4.2.1.13; full names only: the platform's and every TSA's certificates use them)."""
    points = cert.crl_distribution_points_value
    found: set[str] = set()
    for point in points or ():
        name = point["distribution_point"]
        if name.name == "full_name":
            found |= {g.native for g in name.chosen if g.name == "uniform_resource_identifier"}
    return found


def covers(
    crl: asn1_crl.CertificateList, cert: asn1_x509.Certificate, issuer: asn1_x509.Certificate
) -> bool:
    """Whether ``crl`` is ``issuer``'s and its scope includes ``cert``."""
    if crl.issuer != issuer.subject or cert.issuer != issuer.subject:
        return False
    try:
        found = crypto_x509.load_der_x509_crl(crl.dump())
        key = crypto_x509.load_der_x509_certificate(issuer.dump()).public_key()
        if not found.is_signature_valid(key):  # type: ignore[arg-type]
            return False
    except (ValueError, TypeError):  # unreadable, or a key type it cannot check
        return False
    scope = crl.issuing_distribution_point_value
    if scope is None:
        return True  # a complete CRL: every certificate of its issuer
    if scope["only_contains_user_certs"].native and cert.ca:
        return False
    if scope["only_contains_ca_certs"].native and not cert.ca:
        return False
    if scope["only_contains_attribute_certs"].native or scope["indirect_crl"].native:
        return False
    name = scope["distribution_point"]
    if not name:  # the scope is not named by place
        return True
    if name.name != "full_name":
        return False
    named = {g.native for g in name.chosen if g.name == "uniform_resource_identifier"}
    return bool(named & distribution_points(cert))


def _pairs(
    paths: Iterable[ValidationPath | None],
) -> list[tuple[asn1_x509.Certificate, asn1_x509.Certificate]]:
    """(issuer, certificate) of every link of the paths that names a distribution point,
    each once. The trust anchors themselves need no CRL: they are trusted as given."""
    seen: set[bytes] = set()
    found = []
    for path in paths:
        if path is None:
            continue
        certs = list(path.iter_certs(include_root=True))
        for issuer, cert in itertools.pairwise(certs):
            if cert.dump() in seen or not distribution_points(cert):
                continue
            seen.add(cert.dump())
            found.append((issuer, cert))
    return found


def uncovered(
    paths: Iterable[ValidationPath | None], crls: list[asn1_crl.CertificateList]
) -> list[asn1_x509.Certificate]:
    """The certificates of ``paths`` that name a distribution point and that none of
    ``crls`` answers for."""
    return [
        cert for issuer, cert in _pairs(paths) if not any(covers(c, cert, issuer) for c in crls)
    ]


async def chain_crls(
    path: ValidationPath, context: ValidationContext
) -> list[asn1_crl.CertificateList]:
    """A CRL for every certificate of ``path`` that names a distribution point: those the
    context holds (the platform's own, or fetched while it validated the path), else
    fetched now from the addresses the certificate names (when the context may fetch).
    Raises ValueError for a certificate none can be found for: an OCSP-only chain cannot
    be carried in a container that holds CRLs only."""
    found: list[asn1_crl.CertificateList] = []
    for issuer, cert in _pairs([path]):
        candidates = [c for c in context.crls if covers(c, cert, issuer)]
        if not candidates and context.fetching_allowed:
            fetched = await context.async_retrieve_crls(cert)
            candidates = [c for c in fetched if covers(c, cert, issuer)]
        if not candidates:
            subject = cert.subject.human_friendly
            raise ValueError(
                f"no CRL could be found for {subject} (it names {distribution_points(cert)})"
            )
        # The newest: what a verifier later finds closest to the moment that matters.
        candidates.sort(key=lambda c: c["tbs_cert_list"]["this_update"].native)
        found.append(candidates[-1])
    return found


def merged(*groups: Iterable[asn1_crl.CertificateList]) -> list[asn1_crl.CertificateList]:
    """The CRLs of ``groups`` in order, each once (by their bytes)."""
    seen: set[bytes] = set()
    out = []
    for group in groups:
        for crl in group:
            if crl.dump() not in seen:
                seen.add(crl.dump())
                out.append(crl)
    return out
