"""Long-term validation data: what every platform signature embeds, and archive renewal.

Every signature the platform makes is PAdES B-LTA (ETSI EN 319 142-1 6.2.1; for the court
package's CMS see :mod:`mediation.court.package`): at signing, the certificates, CRLs and
OCSP responses of every chain involved (signer, TSA, issuing CA, root) go into the
document's DSS, and a document timestamp closes the file. A verifier years later needs
nothing but the file and the root: the chain of document timestamps proves that each piece
of validation data existed while it was current.

A document timestamp is worth as long as its TSA certificate. :func:`renew_pdf` adds the
validation data of the newest one and a fresh document timestamp over everything; the
worker calls it for stored documents before the TSA certificate expires, when the
configured TSA's certificate outlives it (see :func:`due_for_renewal`,
:func:`timestamper_expiry` and mediation/archive.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import threading
from collections import OrderedDict
from datetime import datetime

from asn1crypto import cms, crl, tsp
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
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import PathError, ValidationError
from pyhanko_certvalidator.sig_validate import (
    DEFAULT_VALIDATION_CONTEXT,
    DefaultSignatureValidator,
    SignatureValidationContext,
)

from agreements import pki, revinfo
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
    cert = token_signer(signed_data)
    return None if cert is None else cert["tbs_certificate"]["validity"]["not_after"].native


def token_signer(signed_data: cms.SignedData) -> asn1_x509.Certificate | None:
    """The certificate that signed a timestamp token (or any SignedData), from those it
    carries; None when it carries none that matches."""
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
            return cert
    return None


def token_crls(
    token: cms.ContentInfo, authority: pki.Authority, timestamper: TimeStamper
) -> list[crl.CertificateList]:
    """A CRL for every certificate of the chain of the TSA that signed ``token`` that names
    where its CRL is published, for a CMS container a court checks offline years later
    (the court package, mediation/court/package.py; CAdES-LT, ETSI EN 319 122-1 5.4).

    The platform's TSA: its CA's own CRLs. An external TSA's (``timestamper`` an
    ExternalTimeStamper): the chain is validated against its roots and the CRLs fetched
    from the addresses its certificates name, revocation hard-fail, as signing a PDF
    does for its DSS (the platform cannot make them). Raises ValueError when the chain
    does not validate or a CRL cannot be found."""
    external = timestamper.trust_roots if isinstance(timestamper, ExternalTimeStamper) else None
    context = validation_context(
        authority, extra_roots=external, allow_fetching=external is not None
    )
    signed_data = token["content"]
    signer = token_signer(signed_data)
    if signer is None:
        raise ValueError("the timestamp token does not carry its signer's certificate")
    others = [
        c.chosen
        for c in signed_data["certificates"] or ()
        if isinstance(c.chosen, asn1_x509.Certificate)
    ]

    async def run() -> list[crl.CertificateList]:
        validator = CertificateValidator(
            signer, intermediate_certs=others, validation_context=context
        )
        try:
            path = await validator.async_validate_usage(set(), {"time_stamping"})
        except (PathError, ValidationError) as e:
            raise ValueError(f"the timestamp authority's chain does not validate: {e}") from e
        return await revinfo.chain_crls(path, context)

    return outside_event_loop(lambda: asyncio.run(run()))


def in_renewal_window(expiry: datetime | None, now: datetime) -> bool:
    """Whether a file whose newest timestamp's certificate expires at ``expiry`` is within
    RENEW_BEFORE of it (None: no document timestamp, nothing to renew)."""
    return expiry is not None and expiry - pki.RENEW_BEFORE <= now


def due_for_renewal(expiry: datetime | None, renewal_expiry: datetime, now: datetime) -> bool:
    """A file is renewed once its newest timestamp's certificate is within RENEW_BEFORE of
    expiring, and only by a TSA certificate that outlives it: ``renewal_expiry``, that of
    the certificate the renewal's timestamp will carry (:func:`timestamper_expiry`). A
    timestamp that expires no later than the one it follows extends nothing (ETSI EN
    319 142-1 5.5: each document timestamp carries the proof on past the previous one's
    expiry), and the file would be renewed again at every scan."""
    return in_renewal_window(expiry, now) and renewal_expiry > expiry  # type: ignore[operator]


def timestamper_expiry(timestamper: TimeStamper, authority: pki.Authority) -> datetime:
    """notAfter of the certificate ``timestamper`` signs its tokens with now.

    The platform's TSA: its certificate (ensure_authority renews it RENEW_BEFORE ahead).
    An external TSA (TSA_URL) keeps its certificates to itself until it signs: a probe
    token is asked for now and its signer's notAfter read. Not the newest token the
    platform got from it: that may come from another process or be months old (the TSA
    replaces its certificate when it chooses), and there is none when the files were
    timestamped by the platform's TSA before TSA_URL was set; the probe is what the TSA
    signs with at the moment of renewal, for one request per scan that finds a file due.
    A TSA serving several certificates at once can still answer the renewal with another
    one: the caller checks the renewed file's newest timestamp too (mediation/archive.py).
    Raises what the request raises when the TSA cannot be reached."""
    if not isinstance(timestamper, ExternalTimeStamper):
        return authority.tsa["tbs_certificate"]["validity"]["not_after"].native
    digest = hashlib.sha256(b"mediation archive renewal: which certificate signs").digest()
    token = outside_event_loop(lambda: asyncio.run(timestamper.async_timestamp(digest, "sha256")))
    expiry = token_signer_expiry(token["content"])
    if expiry is None:
        raise ValueError("the timestamp authority's token does not carry its certificate")
    return expiry


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
