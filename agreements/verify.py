"""Verification of signed agreements: integrity, trust, timestamps and later changes.

Electronic Signature Law art 13(3)-(4) makes a signature reliable only if any change to it,
or to the document, after signing can be detected. :attr:`Report.ok` is therefore strict:
every signature must be intact, chain to a trusted root at its timestamped signing time,
carry a valid timestamp, and be followed only by further signatures; and the last one must
cover every byte of the file, so even bytes appended after it make the report fail.

Long-term: the platform's documents are PAdES B-LTA (agreements/archive.py). Each signature's
timestamp, and each document timestamp, is checked as of the first document timestamp that
follows it, and the newest as of the moment of verification (``at``), with only the
certificates, CRLs and OCSP responses the file's DSS carries and the trust roots given: a
renewed document verifies years after every certificate in it expired, offline. How the
newest one's revocation data is judged once it is past its nextUpdate: see
:func:`newest_timestamp_status`.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from asn1crypto import cms, crl, parser, tsp, x509
from cryptography import x509 as crypto_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESIndeterminate
from pyhanko.sign.diff_analysis import DiffResult, ModificationLevel
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import SignatureCoverageLevel, TimestampSignatureStatus
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.path import ValidationPath
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    FreshnessReqType,
    RevocationCheckingPolicy,
)

from agreements._loop import outside_event_loop

# Signing, adding signature fields and LTV data (DSS, document timestamps) only.
_ALLOWED_AFTER = ModificationLevel.FORM_FILLING


@dataclass(frozen=True)
class SignatureCheck:
    """Outcome for one signature (or document timestamp), in signing order."""

    field_name: str
    kind: str  # "signature" or "document timestamp"
    signer: str | None  # certificate subject CN
    role: str | None  # certificate subject title
    document_ref: str | None  # certificate subject OU
    signing_time: datetime | None  # from the timestamp token, not the signer's clock
    intact: bool  # signed bytes unchanged and the cryptographic signature verifies
    trusted: bool  # certificate chains to a trust root, checked at signing_time
    timestamped: bool  # timestamp token intact and from a trusted TSA
    coverage: str  # "entire file", "entire revision" or a sign of tampering
    signed_up_to: int  # byte offset where the signed revision ends
    changes_after: str | None  # pyHanko ModificationLevel of later revisions
    only_signatures_after: bool
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return (
            self.intact
            and self.trusted
            and self.timestamped
            and self.only_signatures_after
            and not self.problems
        )


@dataclass(frozen=True)
class Report:
    """All signatures of a document plus problems found at document level."""

    signatures: tuple[SignatureCheck, ...]
    file_size: int
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return (
            bool(self.signatures)
            and not self.problems
            and all(s.ok for s in self.signatures)
            and self.signatures[-1].coverage == "entire file"
        )


def context(
    roots: list[x509.Certificate],
    moment: datetime | None = None,
    dss: DocumentSecurityStore | None = None,
    crls: list[crl.CertificateList] | None = None,
    *,
    retroactive: bool = False,
    revinfo_policy: CertRevTrustPolicy | None = None,
) -> ValidationContext:
    # Revocation: documents signed since B-LTA carry, in their DSS, a CRL or OCSP response
    # for every certificate of every chain (agreements.archive); they are used when present
    # and a revoked certificate fails. "soft-fail" keeps documents signed before then (no
    # validation data) verifiable: their signer certificates lived ten minutes and their
    # keys signed once (art 13(1)-(2)), leaving no window in which revoking them mattered.
    # allow_fetching=False keeps verification off the network (deterministic, no leaks):
    # what a court checks is what the file carries. ``crls``: a CMS container's own (the
    # court package's crls fields), as a PDF's are in its DSS. ``retroactive`` and
    # ``revinfo_policy``: for the newest timestamp only (newest_timestamp_status).
    kwargs = {
        "trust_roots": roots,
        "moment": moment,
        "allow_fetching": False,
        "revocation_mode": "soft-fail",
        "retroactive_revinfo": retroactive,
        "crls": list(crls or []),
    }
    if revinfo_policy is not None:
        kwargs["revinfo_policy"] = revinfo_policy
    if dss is not None:
        return dss.as_validation_context(kwargs)
    return ValidationContext(**kwargs)


# Any carried revocation data, however old, may say a certificate was revoked: the newest
# timestamp's last check (newest_timestamp_status) reads all of it for revocations only.
_ANY_AGE = CertRevTrustPolicy(
    RevocationCheckingPolicy.from_legacy("soft-fail"),
    freshness=timedelta(days=100 * 366),
    freshness_req_type=FreshnessReqType.MAX_DIFF_REVOCATION_VALIDATION,
)

_Status = TypeVar("_Status", bound=TimestampSignatureStatus)


def newest_timestamp_status(
    validate: Callable[[ValidationContext], _Status],
    roots: list[x509.Certificate],
    at: datetime | None,
    made_at: Callable[[_Status], datetime | None],
    *,
    dss: DocumentSecurityStore | None = None,
    crls: list[crl.CertificateList] | None = None,
) -> _Status:
    """The status of the newest timestamp (a PDF's last document timestamp, a package's
    newest archive token): ``validate`` run as of ``at`` with the carried revocation data.

    Nothing later proves when this token existed, so it is checked as of ``at`` (its TSA's
    certificate must still be valid: renewal adds a timestamp before it expires). Its
    revocation data, though, can never be newer than the file: a court checks it offline
    months or years later, long after an external TSA's CRL (a week or a month) passed its
    nextUpdate; pyHanko-certvalidator's default freshness (thisUpdate..nextUpdate around the
    validation time, RFC 5280 5.1.2.5) then calls it stale, and the file that was valid is
    not any more. ETSI EN 319 102-1 judges revocation data by the time it is proven to
    matter for, not by today: the revocation freshness checker (5.2.5) compares its issuance
    with the moment in question, and validation time sliding (5.6.2.2) moves the control
    time back to where the data was current. For every older timestamp that moment is the
    next document timestamp's (verify_pdf's ``_proof_times``); for the newest it is its own
    genTime, the moment the TSA used its key. So, when the only fault as of ``at`` is stale
    revocation data (pyHanko: TRY_LATER), the token is valid when both hold:

    - as of its genTime, with the carried revocation data judged current then (thisUpdate
      to nextUpdate; issued later too, ``retroactive``: a CRL published after the token
      that does not list the certificate says more, not less): the chain was not revoked
      when the token was made;
    - as of ``at``, with every carried CRL or OCSP response read whatever its age: none says
      a certificate of the chain was revoked by then. Nothing proves the token existed
      before such a revocation (5.6.2, past signature validation: REVOKED_NO_POE), so it
      fails, as before.

    Taking the newest token's own genTime as its time is this verifier's policy (the
    signature validation policy sets revocation freshness, ETSI TS 119 172-1): a strict
    EN 319 102-1 validator, having no proof of existence for the newest token, says
    INDETERMINATE until it gets current revocation data (pyHanko's adesverify offline:
    docs/verification.md, "Months later"). What this cannot know either is a revocation
    after the newest revocation data the file carries: only the TSA's current CRL tells,
    which a court can fetch. ``made_at``: the token's genTime read from a status.
    """
    status = validate(context(roots, at, dss, crls))
    stale = (
        not status.trusted
        and status.intact
        and status.valid
        and status.trust_problem_indic == AdESIndeterminate.TRY_LATER
    )
    made = made_at(status)
    if not stale or made is None:
        return status
    then = validate(context(roots, made, dss, crls, retroactive=True))
    if not then.trusted:
        return then
    return validate(context(roots, at, dss, crls, revinfo_policy=_ANY_AGE))


def verify_pdf(
    pdf: bytes,
    *,
    trust_roots: list[x509.Certificate],
    timestamp_trust_roots: list[x509.Certificate] | None = None,
    at: datetime | None = None,
) -> Report:
    """Verify every signature in ``pdf``; never raises for a malformed or tampered file.

    ``timestamp_trust_roots`` defaults to ``trust_roots`` (the built-in TSA); add an
    external TSA's root there when one is configured. ``at`` validates as of another
    moment than now (an audit, or a test of what a verifier will see next year).
    """
    ts_roots = timestamp_trust_roots if timestamp_trust_roots is not None else trust_roots
    try:
        reader = PdfFileReader(io.BytesIO(pdf))
        embedded = reader.embedded_signatures
        filled = {name for name, value, _ in enumerate_sig_fields(reader) if value is not None}
        dss = DocumentSecurityStore.read_dss(reader) if "/DSS" in reader.root else None
        proofs = _proof_times(embedded)
    except Exception as e:  # a file the reader chokes on is simply not a valid document
        return Report((), len(pdf), (f"unreadable PDF: {type(e).__name__}: {e}",))
    if not embedded:
        return Report((), len(pdf), ("no signatures",))
    checks = outside_event_loop(
        lambda: tuple(
            _check(
                sig,
                pdf,
                trust_roots,
                ts_roots,
                filled,
                proofs[i] or at,
                dss,
                last=sig is embedded[-1],
                newest=proofs[i] is None,
            )
            for i, sig in enumerate(embedded)
        )
    )
    problems = ()
    if checks[-1].coverage != "entire file":
        uncovered = len(pdf) - checks[-1].signed_up_to
        problems = (
            f"{uncovered} bytes after the last signature are not signed"
            if uncovered > 0
            else "the last signature does not cover the whole file",
        )
    return Report(checks, len(pdf), problems)


def _proof_times(embedded: list[EmbeddedPdfSignature]) -> list[datetime | None]:
    """For each signature, the time of the first document timestamp after it, if any.

    That timestamp proves the signature, its timestamp and the validation data before it
    existed then (ETSI EN 319 102-1 5.6.2.4, proof of existence); so the signature's
    timestamp (or, for a document timestamp, the timestamp itself) is checked as of that
    moment, while its TSA certificate was valid, and the newest one as of the moment of
    verification. Each later timestamp is in turn checked the same way, so the chain holds
    only if every link does (Report.ok requires every entry to pass).
    """
    times: list[datetime | None] = [None] * len(embedded)
    following: datetime | None = None
    for i in range(len(embedded) - 1, -1, -1):
        times[i] = following
        if embedded[i].sig_object_type == "/DocTimeStamp":
            following = _token_time(embedded[i].signed_data)
    return times


def _token_time(signed_data: cms.SignedData) -> datetime | None:
    info = signed_data["encap_content_info"]["content"].parsed
    return info["gen_time"].native if isinstance(info, tsp.TSTInfo) else None


def _check(
    sig: EmbeddedPdfSignature,
    pdf: bytes,
    roots: list[x509.Certificate],
    ts_roots: list[x509.Certificate],
    signature_fields: set[str],
    at: datetime | None,
    dss: DocumentSecurityStore | None,
    *,
    last: bool,
    newest: bool,
) -> SignatureCheck:
    """``at``: when the signature's timestamp is checked (see :func:`_proof_times`);
    ``newest``: no document timestamp follows (see :func:`newest_timestamp_status`)."""
    base = {"field_name": sig.field_name, "signed_up_to": _signed_end(sig)}
    try:
        problems = _container_problems(sig, pdf, last=last)
        if sig.sig_object_type == "/DocTimeStamp":
            if newest:
                status = newest_timestamp_status(
                    lambda ctx: validate_pdf_timestamp(sig, validation_context=ctx),
                    ts_roots,
                    at,
                    lambda st: st.timestamp,
                    dss=dss,
                )
            else:
                status = validate_pdf_timestamp(sig, validation_context=context(ts_roots, at, dss))
            kind, signing_time = "document timestamp", status.timestamp
            timestamped = status.intact and status.valid and status.trusted
            paths = [status.validation_path]
        else:
            # Point-in-time validation: the certificate lives minutes, so it is checked at
            # the moment the timestamp proves the signature existed. The timestamp itself is
            # checked now (or at `at`), against ts_roots; if it is bad, `timestamped` is false.
            status = validate_pdf_signature(
                sig,
                signer_validation_context=context(roots, claimed_time(sig.signer_info) or at, dss),
                ts_validation_context=context(ts_roots, at, dss),
            )
            kind = "signature"
            tst = status.timestamp_validity
            timestamped = tst is not None and tst.intact and tst.valid and tst.trusted
            signing_time = tst.timestamp if tst is not None else None
            paths = [status.validation_path, tst.validation_path if tst else None]
        if status.trusted and timestamped:
            problems += unsigned_part_problems(sig.signed_data, paths)
            problems += revocation_data_problems(sig.signed_data, paths)
    except Exception as e:  # whatever breaks validation means "not valid"
        return SignatureCheck(
            **base,
            kind="signature",
            signer=None,
            role=None,
            document_ref=None,
            signing_time=None,
            intact=False,
            trusted=False,
            timestamped=False,
            coverage="unknown",
            changes_after=None,
            only_signatures_after=False,
            problems=(f"cannot be validated: {type(e).__name__}: {e}",),
        )
    subject = status.signing_cert.subject.native
    level = status.modification_level
    diff = status.diff_result
    only_signatures = status.coverage == SignatureCoverageLevel.ENTIRE_FILE or (
        status.coverage == SignatureCoverageLevel.ENTIRE_REVISION
        and isinstance(diff, DiffResult)
        and level is not None
        and level <= _ALLOWED_AFTER
        # DocMDP does not apply to a document timestamp (pyHanko leaves it unset).
        and (bool(status.docmdp_ok) or (kind == "document timestamp" and status.docmdp_ok is None))
        # FORM_FILLING would also allow filling in other kinds of fields; only
        # signature fields may change after a signature.
        and diff.changed_form_fields <= signature_fields
    )
    if not only_signatures and isinstance(diff, Exception):
        problems.append(f"later change not allowed: {diff}")
    return SignatureCheck(
        **base,
        kind=kind,
        signer=subject.get("common_name"),
        role=subject.get("title"),
        document_ref=subject.get("organizational_unit_name"),
        signing_time=signing_time,
        intact=status.intact and status.valid,
        trusted=status.trusted,
        timestamped=timestamped,
        coverage=status.coverage.name.lower().replace("_", " "),
        changes_after=level.name if level is not None else None,
        only_signatures_after=only_signatures,
        problems=tuple(problems),
    )


def _signed_end(sig: EmbeddedPdfSignature) -> int:
    try:
        start, length = sig.byte_range[2], sig.byte_range[3]
        return int(start) + int(length)
    except (IndexError, TypeError, ValueError):
        return 0


def claimed_time(signer_info: cms.SignerInfo) -> datetime | None:
    """genTime of the signature timestamp, unverified: only used as the validation moment."""
    for attr in signer_info["unsigned_attrs"] or ():
        if attr["type"].native == "signature_time_stamp_token":
            info = attr["values"][0]["content"]["encap_content_info"]["content"].parsed
            return info["gen_time"].native if isinstance(info, tsp.TSTInfo) else None
    return None


def _container_problems(sig: EmbeddedPdfSignature, pdf: bytes, *, last: bool) -> list[str]:
    """Bytes in /Contents that no digest covers must still be exactly what was written.

    The last signature's container is outside every byte range, and DER parsers ignore what
    follows the structure; without this check a changed padding byte, or a hex digit
    switched to upper case, would go unnoticed.
    """
    contents: bytes = sig.pkcs7_content
    _, _, _, header, body, trailer = parser.parse(contents)
    der = contents[: len(header) + len(body) + len(trailer)]
    problems = []
    if contents[len(der) :].strip(b"\0"):
        problems.append("signature container has data after its end")
    # A length byte can grow into the zero padding and parsers shrug; only a re-encoding
    # shows it. Earlier containers are inside later byte ranges, so only the last needs it.
    if last and cms.ContentInfo.load(der).dump(force=True) != der:
        problems.append("signature container is not in DER as written")
    gap = pdf[int(sig.byte_range[1]) : int(sig.byte_range[2])]
    hex_text = contents.hex().encode()
    if gap not in (b"<" + hex_text + b">", b"<" + hex_text.upper() + b">"):
        problems.append("signature container is not encoded as written")
    return problems


def unsigned_part_problems(
    signed_data: cms.SignedData, paths: list[ValidationPath | None]
) -> list[str]:
    """Parts of the container that no signature covers and validators skip.

    Every carried certificate must be one a validated path used: a changed byte in, say, a
    spare copy of the root would otherwise pass unseen (art 13(3): changes to the signature
    must show), and so would one in the redundant version and algorithm fields.
    """
    used = {c.dump() for p in paths if p is not None for c in p.iter_certs(include_root=True)}
    carried = list(signed_data["certificates"] or ())
    problems = _structure_problems(signed_data)
    problems += _unsigned_attribute_problems(signed_data)
    for token in _timestamp_tokens(signed_data):
        if token["content_type"].native != "signed_data":
            problems.append("timestamp token is not SignedData")
        carried += list(token["content"]["certificates"] or ())
        problems += _structure_problems(token["content"])
        problems += _unsigned_attribute_problems(token["content"])
    if unused := [c for c in carried if c.chosen.dump() not in used]:
        problems.append(f"{len(unused)} embedded certificate(s) are not part of a validated chain")
    # The unused-bits octet of a certificate's signature BIT STRING is outside what the
    # certificate signs, and verifiers ignore it; X.509 signatures leave it zero.
    if any(c.chosen["signature_value"].contents[:1] != b"\0" for c in carried):
        problems.append("an embedded certificate's signature is not encoded as issued")
    return problems


def _timestamp_tokens(signed_data: cms.SignedData) -> list[cms.ContentInfo]:
    return [
        value
        for attr in signed_data["signer_infos"][0]["unsigned_attrs"] or ()
        if attr["type"].native == "signature_time_stamp_token"
        for value in attr["values"]
    ]


def _unsigned_attribute_problems(signed_data: cms.SignedData) -> list[str]:
    """Unsigned attributes are outside what the signature covers and validators skip those
    they do not know: a signature may carry its one timestamp token, a timestamp token
    (document or archive timestamp, or the signature's own) nothing (art 13(3))."""
    infos = list(signed_data["signer_infos"])
    is_token = signed_data["encap_content_info"]["content_type"].native == "tst_info"
    allowed = [] if is_token else ["signature_time_stamp_token"]
    problems = []
    for info in infos:
        attrs = list(info["unsigned_attrs"] or ())
        kinds = [a["type"].native for a in attrs]
        if any(k not in allowed for k in kinds) or len(kinds) > 1:
            problems.append(f"container carries unsigned attributes it may not: {kinds}")
        elif any(len(a["values"]) != 1 for a in attrs):
            problems.append("a timestamp attribute does not hold exactly one token")
    return problems


def revocation_data_problems(
    signed_data: cms.SignedData, paths: list[ValidationPath | None]
) -> list[str]:
    """The crls fields of the container and of the timestamp tokens in it are outside what
    any signature covers: every CRL there must be one that a certificate of a validated
    chain signed, so nothing can be slipped in (art 13(3)). Other revocation formats (OCSP
    responses, RFC 5940) are refused: the platform carries OCSP responses in a PDF's DSS,
    and a package's crls field holds CRLs only."""
    issuers = [
        crypto_x509.load_der_x509_certificate(c.dump())
        for p in paths
        if p is not None
        for c in p.iter_certs(include_root=True)
    ]
    containers = [signed_data] + [t["content"] for t in _timestamp_tokens(signed_data)]
    problems = []
    for choice in (c for sd in containers for c in sd["crls"] or ()):
        if choice.name != "crl":
            problems.append("container carries revocation data other than CRLs")
            continue
        try:
            found = crypto_x509.load_der_x509_crl(choice.chosen.dump())
            vouched = any(
                c.subject == found.issuer and found.is_signature_valid(c.public_key())
                for c in issuers
            )
        except (ValueError, TypeError):  # unreadable, or a key type it cannot check
            vouched = False
        if not vouched:
            problems.append("container carries a CRL no validated chain vouches for")
    return problems


def _structure_problems(signed_data: cms.SignedData) -> list[str]:
    """Fields no signature covers and validators skip must hold their RFC 5652 values."""
    infos = list(signed_data["signer_infos"])
    problems = []
    for info in infos:
        sid_kind = info["sid"].name
        if info["version"].native != ("v1" if sid_kind == "issuer_and_serial_number" else "v3"):
            problems.append("SignerInfo version does not match its signer identifier")
    # RFC 5652 5.1, ignoring the attribute-certificate cases (v4, v5) no signer here uses.
    plain = signed_data["encap_content_info"]["content_type"].native == "data"
    v3 = not plain or any(i["version"].native == "v3" for i in infos)
    if signed_data["version"].native != ("v3" if v3 else "v1"):
        problems.append("SignedData version is not the one RFC 5652 prescribes")
    declared = sorted(d.dump() for d in signed_data["digest_algorithms"])
    if declared != sorted({i["digest_algorithm"].dump() for i in infos}):
        problems.append("declared digest algorithms differ from those used")
    return problems


def summarize(report: Report) -> str:
    """Human-readable, one line per signature, for the CLI and logs."""
    stamps = sum(1 for s in report.signatures if s.kind == "document timestamp")
    lines = [
        f"{'VALID' if report.ok else 'NOT VALID'}: {len(report.signatures) - stamps} "
        f"signature(s), {stamps} document timestamp(s), {report.file_size} bytes"
    ]
    lines += [f"  problem: {p}" for p in report.problems]
    for i, s in enumerate(report.signatures, 1):
        when = (
            s.signing_time.astimezone(UTC).isoformat(timespec="seconds") if s.signing_time else "?"
        )
        verdict = "ok" if s.ok else "FAILED"
        lines.append(
            f"{i}. [{verdict}] {s.field_name}: {s.signer or '?'} ({s.role or s.kind}) at {when}; "
            f"intact={_yn(s.intact)} trusted={_yn(s.trusted)} timestamp={_yn(s.timestamped)} "
            f"coverage={s.coverage} later={s.changes_after or '-'}"
        )
        lines += [f"     problem: {p}" for p in s.problems]
    return "\n".join(lines)


def _yn(flag: bool) -> str:
    return "yes" if flag else "NO"
