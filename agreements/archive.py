"""Long-term validation data: what every platform signature embeds, and archive renewal.

Every signature the platform makes is PAdES B-LTA (ETSI EN 319 142-1 6.2.1; for the court
package's CMS see :mod:`mediation.court.package`): at signing, the certificates, CRLs and
OCSP responses of every chain involved (signer, TSA, issuing CA, root) go into the
document's DSS, and a document timestamp closes the file. A verifier years later needs
nothing but the file and the root: the chain of document timestamps proves that each piece
of validation data existed while it was current.

A document timestamp is worth as long as its TSA certificate. :func:`renew_pdf` adds the
validation data of the newest one and a fresh document timestamp over everything; the
worker calls it for stored documents before the TSA certificate expires (see
:func:`due_for_renewal` and mediation/archive.py).
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
from collections import OrderedDict
from datetime import datetime

from asn1crypto import cms, tsp
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers import PdfTimeStamper
from pyhanko.sign.signers.pdf_signer import (
    DSSContentSettings,
    SigDSSPlacementPreference,
    TimestampDSSContentSettings,
)
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.validation import validate_pdf_timestamp
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.sig_validate import (
    DEFAULT_VALIDATION_CONTEXT,
    DefaultSignatureValidator,
    SignatureValidationContext,
)

from agreements import pki
from agreements._loop import outside_event_loop
from agreements.tsa import ExternalTimeStamper, PlatformTimeStamper

# The validation data goes into the revision of the document timestamp that follows, before
# it is taken: the timestamp then covers every byte, its own validation data included, and
# nothing unsigned trails the file (agreements.verify insists on that). Without VRI entries,
# which PAdES no longer needs.
_TS_DSS = TimestampDSSContentSettings(include_vri=False, update_before_ts=True)
# A signature's validation data goes into its own revision (covered by it); the document
# timestamp is then added as a step of its own (close_with_timestamp) rather than through
# pyHanko's PAdES-LTA signing option, which re-reads and re-validates every earlier
# timestamp of the file on each signature: their data is already in the DSS.
DSS_SETTINGS = DSSContentSettings(
    include_vri=False, placement=SigDSSPlacementPreference.TOGETHER_WITH_SIGNATURE
)
# Room for a document timestamp's token from the built-in TSA (about 3.5 KiB of DER: an
# RSA-3072 signature and three certificates); saves pyHanko a rehearsal timestamp.
TIMESTAMP_RESERVED = 8 * 1024


class _OfflineByDesign(logging.Filter):
    """Drops pyHanko's warning, at every signature, that validation data is embedded with
    fetching not allowed ("this may give rise to unexpected results"): the platform makes
    every CRL and OCSP response of its own chains itself and passes them in (see
    :func:`validation_context`), and revocation checking is hard-fail, so anything missing
    fails the signature with an error instead. Only that one message is dropped; with an
    external TSA fetching is allowed and pyHanko says nothing."""

    MESSAGE = "Validation/revocation info will be embedded, but fetching is not allowed"

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self.MESSAGE)


logging.getLogger("pyhanko.sign.signers.pdf_signer").addFilter(_OfflineByDesign())


class _RememberedSignatures(DefaultSignatureValidator):
    """Checks signatures as pyHanko does, remembering those that verified.

    Signing gathers validation data by validating every chain involved, and most of what
    it checks is the same at each signature (the issuing CA's certificate, the root's, the
    issuing CA's and the TSA's CRLs and OCSP responses): 24 of the 32 checks of four
    signatures, P-384 signatures of about a millisecond each with their parsing. A signature
    over the same bytes with the same key and algorithm is valid or not once and for all, so
    only the successes are remembered, by a digest of all four; a failure is checked again
    every time.
    """

    _LIMIT = 256

    def __init__(self) -> None:
        self._valid: OrderedDict[bytes, None] = OrderedDict()
        self._lock = threading.Lock()

    def validate_signature(
        self,
        signature: bytes,
        signed_data: bytes,
        public_key_info,
        signature_algorithm,
        context: SignatureValidationContext = DEFAULT_VALIDATION_CONTEXT,
    ) -> None:
        key = hashlib.sha256()
        for part in (
            public_key_info.dump(),
            signature_algorithm.dump(),
            repr((context.contextual_md_algorithm, context.prehashed)).encode(),
            signature,
            signed_data,
        ):
            key.update(len(part).to_bytes(8, "big"))
            key.update(part)
        digest = key.digest()
        with self._lock:
            if digest in self._valid:
                self._valid.move_to_end(digest)
                return
        super().validate_signature(
            signature, signed_data, public_key_info, signature_algorithm, context
        )
        with self._lock:
            self._valid[digest] = None
            while len(self._valid) > self._LIMIT:
                self._valid.popitem(last=False)


_SIGNATURES = _RememberedSignatures()


def validation_context(
    authority: pki.Authority,
    *,
    credential: pki.SignerCredential | None = None,
    extra_roots: list[asn1_x509.Certificate] | None = None,
    allow_fetching: bool = False,
) -> ValidationContext:
    """The platform's own validation data, current now: what a signature embeds.

    Revocation is "hard-fail": every certificate the platform issued names its CRL, and
    signing fails rather than produce a document whose validation data is incomplete.
    ``allow_fetching`` is for an external TSA whose CRLs or OCSP responses the platform
    cannot make itself (its root then goes in ``extra_roots``).
    """
    files = pki.crl_files(authority)  # re-signs what is due, once for both below
    return ValidationContext(
        trust_roots=[*authority.trust_roots, *(extra_roots or [])],
        other_certs=[*authority.chain, *pki.retired_certificates(authority)],
        crls=[*pki.validation_crls(authority, files), *getattr(credential, "crls", [])],
        ocsps=[*pki.validation_ocsps(authority, fresh=True), *getattr(credential, "ocsps", [])],
        allow_fetching=allow_fetching,
        revocation_mode="hard-fail",
        signature_validator=_SIGNATURES,
    )


def last_timestamp_expiry(pdf: bytes) -> datetime | None:
    """When the certificate of the file's newest document timestamp expires (None: the file
    has no document timestamp, e.g. signed before B-LTA)."""
    reader = PdfFileReader(io.BytesIO(pdf))
    stamps = reader.embedded_timestamp_signatures
    if not stamps:
        return None
    return token_signer_expiry(stamps[-1].signed_data)


def token_signer_expiry(signed_data: cms.SignedData) -> datetime | None:
    """notAfter of the certificate that signed a timestamp token (or any SignedData)."""
    sid = signed_data["signer_infos"][0]["sid"]
    for choice in signed_data["certificates"] or ():
        cert = choice.chosen
        if not isinstance(cert, asn1_x509.Certificate):
            continue
        if sid.name == "issuer_and_serial_number":
            match = (
                cert.issuer == sid.chosen["issuer"]
                and cert.serial_number == sid.chosen["serial_number"].native
            )
        else:
            match = cert.key_identifier == sid.chosen.native
        if match:
            return cert["tbs_certificate"]["validity"]["not_after"].native
    return None


def due_for_renewal(expiry: datetime | None, authority: pki.Authority, now: datetime) -> bool:
    """A file is renewed once its newest timestamp's certificate is within RENEW_BEFORE of
    expiring, and only with a TSA certificate that outlives it (ensure_authority renews the
    TSA certificate on the same schedule, so the new one is in place by then)."""
    if expiry is None:
        return False
    current = authority.tsa["tbs_certificate"]["validity"]["not_after"].native
    return expiry - pki.RENEW_BEFORE <= now and current > expiry


def renew_pdf(
    pdf: bytes, authority: pki.Authority, timestamper: TimeStamper, *, md: str = "sha256"
) -> bytes:
    """Add the newest document timestamp's validation data and a new document timestamp
    over the whole file, in one incremental update: every signature stays as it is.

    pyHanko's ``update_archival_timestamp_chain`` does the same but writes the new
    timestamp's own validation data after it, unsigned until the next renewal; here it goes
    in before (see DSS_SETTINGS), so the file always ends with a timestamp.
    """
    reader = PdfFileReader(io.BytesIO(pdf))
    # With an external TSA (TSA_URL) the newest timestamp is that TSA's: checked against
    # its roots, its chain's revocation data fetched (the platform cannot make it). Before,
    # the platform's roots alone were used, the check failed and no such file was renewed.
    external = timestamper.trust_roots if isinstance(timestamper, ExternalTimeStamper) else None
    context = validation_context(
        authority, extra_roots=external, allow_fetching=external is not None
    )
    stamps = reader.embedded_timestamp_signatures
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))

    def run() -> bytes:
        if stamps:
            status = validate_pdf_timestamp(stamps[-1], validation_context=context)
            if not (status.intact and status.valid and status.trusted):
                raise ValueError("the newest document timestamp does not validate")
            DocumentSecurityStore.supply_dss_in_writer(
                writer,
                stamps[-1].pkcs7_content,
                paths=(status.validation_path,),
                validation_context=context,
            )
        return _timestamp(writer, timestamper, context, md)

    return outside_event_loop(run)


def close_with_timestamp(
    pdf: bytes, timestamper: TimeStamper, context: ValidationContext | None, *, md: str = "sha256"
) -> bytes:
    """A document timestamp over the whole file, its TSA's validation data in the DSS
    (gathered with ``context``; None when the DSS already has it)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    return outside_event_loop(_timestamp, writer, timestamper, context, md)


def _timestamp(
    writer: IncrementalPdfFileWriter,
    timestamper: TimeStamper,
    context: ValidationContext | None,
    md: str,
) -> bytes:
    reserved = TIMESTAMP_RESERVED if isinstance(timestamper, PlatformTimeStamper) else None
    out = PdfTimeStamper(timestamper).timestamp_pdf(
        writer,
        md,
        validation_context=context,
        in_place=True,
        dss_settings=_TS_DSS,
        bytes_reserved=reserved,
    )
    return out.getvalue()


def timestamp_time(token: cms.ContentInfo) -> datetime:
    """genTime of an RFC 3161 token (unverified)."""
    info = token["content"]["encap_content_info"]["content"].parsed
    assert isinstance(info, tsp.TSTInfo)
    return info["gen_time"].native
