"""Checking a signed agreement: every signature, the chain to the platform's root, the
timestamps, and whether the file is one the platform itself produced for a case."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from flask import current_app
from sqlalchemy import select

from agreements.verify import Report, verify_pdf
from mediation.extensions import db

from . import signing
from .models import Agreement, AgreementStatus, Signature


@dataclass(frozen=True)
class Match:
    """The case record a file corresponds to, and at which stage of signing."""

    agreement: Agreement
    signatures: int  # how many signatures the file carries in its round
    final: bool  # the agreement in force, with every signature


def trust_roots() -> list[asn1_x509.Certificate]:
    """The platform's root, and any external CA's roots configured (PEM files)."""
    roots = list(signing.authority().trust_roots)
    for name in current_app.config.get("PKI_TRUST_ROOTS") or []:
        data = Path(name).read_bytes()
        if pem.detect(data):
            data = pem.unarmor(data)[2]
        roots.append(asn1_x509.Certificate.load(data))
    return roots


def match(pdf: bytes) -> Match | None:
    digest = hashlib.sha256(pdf).hexdigest()
    signature = db.session.scalar(select(Signature).where(Signature.result_sha256 == digest))
    agreement = (
        db.session.get(Agreement, signature.agreement_id)
        if signature is not None
        else db.session.scalar(select(Agreement).where(Agreement.document_sha256 == digest))
    )
    if agreement is None:
        return None
    final = agreement.status == AgreementStatus.effective and agreement.document_sha256 == digest
    return Match(agreement, signature.position if signature else 0, final)


def check(pdf: bytes) -> tuple[Report, Match | None]:
    return verify_pdf(pdf, trust_roots=trust_roots()), match(pdf)


def check_code(code: str) -> tuple[Agreement, Report] | None:
    """The agreement with this short code, and its current document's report."""
    from .operations import by_short_code

    agreement = by_short_code(code)
    data = signing.document_bytes(agreement) if agreement else None
    if agreement is None or data is None:
        return None
    return agreement, verify_pdf(data, trust_roots=trust_roots())
