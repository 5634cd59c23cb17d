"""The court's own key: the trust roots a court is configured with, and the check of a
decision the court signed under them before the ruling counts.

The ruling is the court's act (CPL art 206; SPC judicial confirmation provisions arts 5, 7):
its signature must be the court's, created with data the court alone holds (Electronic
Signature Law art 13(1)-(2)). So the platform never holds a court's key. It prepares the
decision with an empty signature field; the court signs that file with its own tool or token,
and the platform accepts the result only if the file is the prepared decision, unchanged
(art 13(3)-(4): changes after signing must show), signed once in the court's field by a
certificate that chains to THIS court's roots and names the court, with a trusted timestamp.

Without roots the platform may seal the decision itself only outside production, with a
certificate and stamp that say "for demonstration only".
"""

from __future__ import annotations

import io
import re
import zlib
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
from flask import current_app
from flask_babel import gettext as _
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import skip_over_whitespace
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import (
    CatalogModificationRule,
    DiffResult,
    DocInfoRule,
    DSSCompareRule,
    FormUpdatingRule,
    MetadataUpdateRule,
    ModificationLevel,
    ObjectStreamRule,
    SigFieldCreationRule,
    SigFieldModificationRule,
    StandardDiffPolicy,
    XrefStreamRule,
)
from pyhanko.sign.diff_analysis.constants import ACROFORM_EXEMPT_STRICT_COMPARISON

from agreements.pki import to_asn1
from agreements.verify import verify_pdf
from mediation.accounts.models import Court
from mediation.agreements import credentials
from mediation.core.forms import FieldError

FIELD = "Court"  # the decision's signature field (decision.html's #sig-court)
MAX_ROOTS_BYTES = 64 * 1024
MAX_ROOTS = 10
# A signed decision is the prepared one (a few hundred KiB) plus a signature, validation
# data and timestamps; far more is not a signed decision.
MAX_SIGNED_BYTES = 10 * 2**20
# What the added revisions' streams may unpack to, together: a signature, validation data
# and timestamps are far less; a few KiB of zeros compressed can claim gigabytes.
MAX_UNPACKED_BYTES = 32 * 2**20
# Revisions a signing tool may add: the signature, validation data (DSS), document
# timestamps and their renewals. Each is diffed and validated, so the count is bounded.
MAX_ADDED_REVISIONS = 8


# pyHanko's default policy, less the filling of other kinds of fields, and allowing the first
# signature to set /SigFlags (1 -> 3: "append only"), which the default policy only expects
# after a first signature it validates from.
_LTA = ModificationLevel.LTA_UPDATES
SIGNING_ONLY = StandardDiffPolicy(
    global_rules=[
        CatalogModificationRule(),
        DocInfoRule().as_qualified(_LTA),
        XrefStreamRule().as_qualified(_LTA),
        ObjectStreamRule().as_qualified(_LTA),
        DSSCompareRule().as_qualified(_LTA),
        MetadataUpdateRule().as_qualified(_LTA),
    ],
    form_rule=FormUpdatingRule(
        field_rules=[SigFieldCreationRule(), SigFieldModificationRule()],
        ignored_acroform_keys=ACROFORM_EXEMPT_STRICT_COMPARISON | {"/SigFlags"},
    ),
)


class Mode(StrEnum):
    own = "own"  # the court's roots are configured: the court signs
    demonstration = "demonstration"  # no roots, not production: the built-in seal, labelled
    unavailable = "unavailable"  # no roots in production: no ruling until configured


def mode(court: Court) -> Mode:
    if court.trust_roots_pem:
        return Mode.own
    if current_app.config.get("ENV_NAME") == "production":
        return Mode.unavailable
    return Mode.demonstration


def roots_of(court: Court) -> list[x509.Certificate]:
    if not court.trust_roots_pem:
        return []
    return x509.load_pem_x509_certificates(court.trust_roots_pem.encode())


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


# -- configuring a court's roots (the platform administrator) --------------------------------


def parse_roots(data: bytes, *, now: datetime | None = None) -> list[x509.Certificate]:
    """The CA certificates of a PEM upload, each checked; FieldError("roots") otherwise."""
    now = now or datetime.now(UTC)
    if not data or not data.strip():
        raise FieldError("roots", _("Choose the court's root certificate (a PEM file)."))
    if len(data) > MAX_ROOTS_BYTES:
        raise FieldError("roots", _("The file is too large for certificates."))
    if b"PRIVATE KEY" in data:
        # The court's key never leaves the court: a file with one is refused, not stored.
        raise FieldError(
            "roots",
            _("The file contains a private key. Upload only the certificate; keep the key."),
        )
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise FieldError("roots", _("This is not a certificate in PEM form.")) from None
    if len(certs) > MAX_ROOTS:
        raise FieldError("roots", _("At most %(n)d certificates.", n=MAX_ROOTS))
    platform = _platform_certificates()
    for cert in certs:
        _check_not_platforms(cert, platform)
        _check_root(cert, now)
    return certs


def _platform_certificates() -> list[x509.Certificate]:
    """Every certificate the platform holds (or held) a key under: its root and the
    configured external roots, its issuing CA (online key) and TSA, and the retired ones.

    Read from PKI_DIR, never created. Issue #17 item 4: the court's signature must come
    from a key only the court holds, so nothing the platform could sign with is a court root.
    """
    found = [x509.load_der_x509_certificate(c.dump()) for c in credentials.trust_roots()]
    directory = Path(current_app.config["PKI_DIR"])
    for path in sorted([*directory.glob("*.crt.pem"), *directory.glob("retired/*.crt.pem")]):
        found.extend(x509.load_pem_x509_certificates(path.read_bytes()))
    return found


def _check_not_platforms(cert: x509.Certificate, platform: list[x509.Certificate]) -> None:
    for own in platform:
        if cert == own or cert.public_key() == own.public_key():
            raise FieldError("roots", _("This is the platform's own certificate, not the court's."))
        try:
            cert.verify_directly_issued_by(own)
        except (ValueError, TypeError, InvalidSignature):
            continue
        # The platform could mint such a CA again, and with it the court's certificate.
        raise FieldError(
            "roots",
            _(
                "%(name)s was issued by the platform. The court's root must be the court's own.",
                name=display_name(cert),
            ),
        )


def display_name(cert: x509.Certificate) -> str:
    """The certificate's common name (organisation, else the whole subject)."""
    for oid in (NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME):
        found = cert.subject.get_attributes_for_oid(oid)
        if found:
            return str(found[0].value)
    return cert.subject.rfc4514_string()


def _check_root(cert: x509.Certificate, now: datetime) -> None:
    name = display_name(cert)
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is None or not constraints.ca:
        raise FieldError(
            "roots", _("%(name)s is not a certificate authority's certificate.", name=name)
        )
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is not None and not usage.key_cert_sign:
        raise FieldError("roots", _("%(name)s may not issue certificates.", name=name))
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise FieldError("roots", _("%(name)s is expired or not yet valid.", name=name))


def set_roots(court: Court, data: bytes, *, now: datetime | None = None) -> list[x509.Certificate]:
    certs = parse_roots(data, now=now)
    court.trust_roots_pem = "".join(
        c.public_bytes(serialization.Encoding.PEM).decode() for c in certs
    )
    return certs


def clear_roots(court: Court) -> None:
    court.trust_roots_pem = None


# -- checking the decision the court signed ---------------------------------------------------


def check_signed(prepared: bytes, signed: bytes, court: Court) -> None:
    """Raise FieldError("decision") unless ``signed`` is ``prepared`` signed by the court.

    Every check says in the user's language what is wrong; nothing is stored here.
    """
    if not signed:
        raise FieldError("decision", _("Choose the signed decision (a PDF file)."))
    if len(signed) > MAX_SIGNED_BYTES:
        raise FieldError(
            "decision", _("The file is too large: at most %(n)d MB.", n=MAX_SIGNED_BYTES >> 20)
        )
    # Byte for byte the prepared decision first: its text cannot have been altered, and
    # a decision signed for another application (or an earlier draft) does not fit.
    if signed == prepared:
        raise FieldError("decision", _("The file is not signed."))
    if len(signed) < len(prepared) or not signed.startswith(prepared):
        raise FieldError("decision", _not_the_decision())
    _check_streams(signed[len(prepared) :], MAX_UNPACKED_BYTES)
    reader = _reader(signed)
    base = _prepared_revision(prepared, reader)
    _only_the_signature_added(reader, base)
    report = verify_pdf(
        signed,
        trust_roots=[to_asn1(c) for c in roots_of(court)],
        # The signature's timestamp may come from the court's TSA (under its roots) or
        # from one the platform trusts.
        timestamp_trust_roots=[to_asn1(c) for c in roots_of(court)] + credentials.trust_roots(),
    )
    signatures = [s for s in report.signatures if s.kind == "signature"]
    if not signatures:
        raise FieldError("decision", _("The file is not signed."))
    if len(signatures) != 1 or signatures[0].field_name != FIELD:
        raise FieldError(
            "decision", _("The decision must be signed once, in the court's signature field.")
        )
    found = signatures[0]
    if not found.intact:
        raise FieldError(
            "decision", _("The signature does not match the file: it was changed after signing.")
        )
    if not found.trusted:
        raise FieldError(
            "decision",
            _("The signature's certificate is not issued under this court's root certificate."),
        )
    if not _names_court(reader, court):
        raise FieldError(
            "decision", _("The signing certificate is not issued to %(court)s.", court=court.name)
        )
    if not found.timestamped:
        raise FieldError(
            "decision", _("The signature has no timestamp from a trusted timestamp authority.")
        )
    if not report.ok and not _validation_data_after(report, reader, signed):
        raise FieldError(
            "decision",
            _(
                "The signed file did not pass verification: a signature does not cover the "
                "file, or something was added after signing."
            ),
        )


def _not_the_decision() -> str:
    return _(
        "This is not the decision prepared for this ruling, or its text was changed. Download "
        "the decision again, sign it without changing it, and upload the signed file."
    )


# Every "stream" keyword pyHanko's reader could take (it allows spaces, comments or no end
# of line around it), and then some: each is checked or the file refused.
_STREAM = re.compile(rb"(?<!end)stream")
_OBJ = re.compile(rb"\d+\s+\d+\s+obj\b")
_FLATE = generic.NameObject("/FlateDecode")


def _check_streams(added: bytes, limit: int) -> None:
    """Raise FieldError("decision") unless every stream of what the court's tool added is
    stored plain or under one /FlateDecode, and all unpack to at most ``limit`` bytes.

    Checked before the PDF reader decodes any (it would unpack a bomb whole, and decode a
    chain of filters -- Flate over Flate, hex over Flate -- where one layer here looks
    small). A signing tool writes its signature, timestamp and validation data plain or
    with one Flate; anything else is refused rather than decoded."""
    total = 0
    position = 0
    while match := _STREAM.search(added, position):
        filters = _filters(added, position, match.start())
        if filters not in ([], [_FLATE]):
            raise FieldError(
                "decision",
                _("The file contains data packed in a way that cannot be checked."),
            )
        # Where the reader starts the data: after the spaces and one end of line.
        data = io.BytesIO(added)
        data.seek(match.end())
        skip_over_whitespace(data, stop_after_eol=True, error_on_end_of_stream=False)
        start = data.tell()
        end = added.find(b"endstream", start)
        if end < 0:
            end = len(added)
        if filters:
            # To the end of the added bytes, not the first "endstream": the reader takes
            # the data's /Length, and a bomb may hold that word inside.
            try:
                total += len(zlib.decompressobj().decompress(added[start:], limit + 1 - total))
            except zlib.error:
                raise FieldError("decision", _("The file is not a readable PDF.")) from None
        else:
            total += end - start
        if total > limit:
            raise FieldError("decision", _("The file is too large when unpacked."))
        position = end + len(b"endstream")


def _filters(added: bytes, start: int, keyword: int) -> list | None:
    """The /Filter list of the stream whose keyword is at ``keyword``, read by pyHanko from
    the dictionary after its ``N G obj`` header; None when that is not a plain dictionary
    with a direct filter (a reference would need the reader this check runs before)."""
    headers = list(_OBJ.finditer(added, start, keyword))
    if not headers:
        return None
    # The dictionary, then a token that is not "stream" (so that pyHanko reads no data,
    # and a comment before the keyword ends).
    text = added[headers[-1].end() : keyword].lstrip() + b"\n0"
    try:
        dictionary = generic.DictionaryObject.read_from_stream(
            io.BytesIO(text), generic.Reference(0, 0, None)
        )
    except Exception:  # whatever pyHanko cannot read as a dictionary is not checked, so refused
        return None
    found = dictionary.raw_get("/Filter") if "/Filter" in dictionary else None
    if found is None:
        return []
    if isinstance(found, generic.NameObject):
        return [found]
    if isinstance(found, generic.ArrayObject) and all(
        isinstance(f, generic.NameObject) for f in found
    ):
        return list(found)
    return None


def _reader(signed: bytes) -> PdfFileReader:
    try:
        reader = PdfFileReader(io.BytesIO(signed))
        reader.xrefs.total_revisions  # noqa: B018 - parse the cross-references now
    except Exception:  # whatever the reader chokes on is not a signed decision
        raise FieldError("decision", _("The file is not a readable PDF.")) from None
    return reader


def _prepared_revision(prepared: bytes, reader: PdfFileReader) -> int:
    """The index of the prepared decision's last revision inside the signed file: the
    cross-reference chain must run through the prepared file's own end."""
    mine = PdfFileReader(io.BytesIO(prepared)).xrefs
    base = mine.total_revisions - 1
    theirs = reader.xrefs
    added = theirs.total_revisions - mine.total_revisions
    if added < 1:
        raise FieldError("decision", _("The file is not signed."))
    if added > MAX_ADDED_REVISIONS:
        raise FieldError("decision", _("The file has too many later changes to be checked."))
    if any(
        theirs.get_startxref_for_revision(i) != mine.get_startxref_for_revision(i)
        for i in range(base + 1)
    ):
        raise FieldError("decision", _not_the_decision())
    return base


def _only_the_signature_added(reader: PdfFileReader, base: int) -> None:
    """After the prepared revision: the court's field filled, validation data and document
    timestamps, nothing else. A validator reviews changes after each signature only, so
    what the signing revision itself changed (say, the page's text) is checked here."""
    try:
        diff = SIGNING_ONLY.review_file(reader, base)
    except Exception:
        diff = None
    timestamps = {s.field_name for s in _embedded(reader) if s.sig_object_type == "/DocTimeStamp"}
    if (
        not isinstance(diff, DiffResult)
        or diff.modification_level > ModificationLevel.FORM_FILLING
        or not diff.changed_form_fields <= {FIELD, *timestamps}
    ):
        raise FieldError("decision", _("The file changes the decision besides signing it."))


def _validation_data_after(report, reader: PdfFileReader, signed: bytes) -> bool:
    """A PAdES B-LT file: the court's tool added validation data (DSS) after its signature
    and no document timestamp, so the last signature does not cover the file's end. That is
    allowed when every signature holds and what follows is whole revisions, which
    _only_the_signature_added reviewed (validation data only), up to the file's last byte."""
    if not report.signatures or not all(s.ok for s in report.signatures):
        return False
    last = reader.xrefs.total_revisions - 1
    tail = signed[reader.xrefs.get_xref_container_info(last).end_location :]
    # Only the trailer, startxref and %%EOF after the last cross-reference data.
    return len(tail) < 4096 and tail.count(b"%%EOF") == 1 and tail.rstrip().endswith(b"%%EOF")


def _embedded(reader: PdfFileReader) -> list:
    try:
        return list(reader.embedded_signatures)
    except Exception:
        return []


def _names_court(reader: PdfFileReader, court: Court) -> bool:
    """The court's certificate names the court (subject CN or O): roots may be shared, say
    by a province's courts, and one court's certificate must not rule for another."""
    for sig in _embedded(reader):
        if sig.field_name != FIELD or sig.sig_object_type == "/DocTimeStamp":
            continue
        subject = sig.signer_cert.subject.native
        # Exactly: a name that merely contains this court's (a branch's) is another court.
        return court.name in (subject.get("common_name"), subject.get("organization_name"))
    return False


def subject_of(signed: bytes) -> str:
    """The court certificate's subject, for the journal."""
    for sig in _embedded(PdfFileReader(io.BytesIO(signed))):
        if sig.field_name == FIELD:
            cert: asn1_x509.Certificate = sig.signer_cert
            return cert.subject.human_friendly
    return ""
