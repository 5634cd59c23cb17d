"""Checking a signed agreement: every signature, the chain to the platform's root, the
timestamps, and whether the file is one the platform itself produced for a case."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from sqlalchemy import select

from agreements.verify import Report, verify_pdf
from mediation.extensions import db

from . import credentials, signing
from .models import Agreement, AgreementStatus, Signature
from .operations import by_short_code


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


def match(pdf: bytes) -> Match | None:
    """The signing act this file is the result of. A file whose archive timestamps were
    renewed later (mediation/archive.py) is that result plus incremental updates: it is
    matched by the revision it starts with (that the updates are only validation data and
    timestamps is for the verification report to say)."""
    digests = _revision_digests(pdf)
    found = db.session.scalars(
        select(Signature).where(Signature.result_sha256.in_(list(digests)))
    ).all()
    if not found:
        return None  # unsigned drafts are not evidence of anything
    signature = max(found, key=lambda s: digests[s.result_sha256])
    agreement = db.session.get(Agreement, signature.agreement_id)
    last = max(agreement.round_signatures(), key=lambda s: s.position, default=None)
    final = (
        agreement.status == AgreementStatus.effective
        and signature.voided_at is None
        and last is not None
        and last.id == signature.id
    )
    return Match(agreement, signature.position, final, signature.voided_at is not None)


def _revision_digests(pdf: bytes) -> dict[str, int]:
    """SHA-256 of the whole file and of every prefix ending a revision (%%EOF), mapped to
    the prefix's length."""
    ends = {len(pdf)}
    for found in re.finditer(rb"%%EOF(\r\n|\r|\n)?", pdf):
        ends.add(found.end())
        ends.add(found.start() + 5)
    return {hashlib.sha256(pdf[:end]).hexdigest(): end for end in ends}


def check(pdf: bytes) -> tuple[Report, Match | None]:
    return verify_pdf(pdf, trust_roots=credentials.trust_roots()), match(pdf)


def check_code(code: str) -> tuple[Agreement, Report] | None:
    """The agreement with this short code, and its current document's report."""
    agreement = by_short_code(code)
    # A voided round leaves no document until the next round makes one.
    data = signing.document_bytes(agreement) if agreement else None
    if agreement is None or data is None:
        return None
    return agreement, verify_pdf(data, trust_roots=credentials.trust_roots())
