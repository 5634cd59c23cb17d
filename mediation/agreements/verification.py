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
    voided: bool  # a round that an edit or the case's end voided

    @property
    def stage(self) -> str:
        """For the CLI and logs (the page words it in the reader's language)."""
        if self.final:
            return "final, in force"
        if self.voided:
            return f"VOIDED: signature {self.signatures} of a round that no longer counts"
        if self.agreement.status == AgreementStatus.refused:
            return f"after signature {self.signatures}; a party refused to sign: NOT in force"
        return f"after signature {self.signatures}: signing not finished, NOT in force"


def trust_roots() -> list[asn1_x509.Certificate]:
    """The platform's root, and any external CA's roots configured (PEM files).

    Read, never created: before the platform has signed anything it has no root, and
    nothing can verify against it.
    """
    root = signing.platform_root()
    roots = [root] if root is not None else []
    for name in current_app.config.get("PKI_TRUST_ROOTS") or []:
        data = Path(name).read_bytes()
        if pem.detect(data):
            data = pem.unarmor(data)[2]
        roots.append(asn1_x509.Certificate.load(data))
    return roots


def match(pdf: bytes) -> Match | None:
    digest = hashlib.sha256(pdf).hexdigest()
    signature = db.session.scalar(select(Signature).where(Signature.result_sha256 == digest))
    if signature is None:
        return None  # unsigned drafts are not evidence of anything
    agreement = db.session.get(Agreement, signature.agreement_id)
    final = (
        agreement.status == AgreementStatus.effective
        and agreement.document_sha256 == digest
        and signature.voided_at is None
    )
    return Match(agreement, signature.position, final, signature.voided_at is not None)


def check(pdf: bytes) -> tuple[Report, Match | None]:
    return verify_pdf(pdf, trust_roots=trust_roots()), match(pdf)


def check_code(code: str) -> tuple[Agreement, Report] | None:
    """The agreement with this short code, and its current document's report."""
    from .operations import by_short_code

    agreement = by_short_code(code)
    # A voided round leaves no document until the next round makes one.
    data = signing.document_bytes(agreement) if agreement else None
    if agreement is None or data is None:
        return None
    return agreement, verify_pdf(data, trust_roots=trust_roots())
