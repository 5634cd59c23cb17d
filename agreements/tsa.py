"""RFC 3161 timestamps: the platform's built-in TSA, or an external one.

Every agreement signature carries a signature timestamp, which proves the signature existed
while the signer's ten-minute certificate was valid, and a document timestamp closes each
signing act (PAdES B-LTA, see :mod:`agreements.archive`); verification checks each
certificate at the moment a timestamp proves (see :mod:`agreements.verify`).

The built-in TSA answers in-process (:func:`timestamper_for`) and, through :func:`respond`,
over HTTP: the web app can expose it with ``Content-Type: application/timestamp-reply`` so
that any RFC 3161 client can use it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import lru_cache
from typing import ClassVar, NamedTuple

from asn1crypto import algos, cms, core, tsp, x509
from cryptography.hazmat.primitives import hashes
from pyhanko.sign import general
from pyhanko.sign.general import get_pyca_cryptography_hash, simple_cms_attribute
from pyhanko.sign.timestamps import DummyTimeStamper, HTTPTimeStamper, TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError, get_nonce
from pyhanko_certvalidator.registry import SimpleCertificateStore

from agreements.keys import sign_data
from agreements.pki import Authority

log = logging.getLogger(__name__)

QUERY_CONTENT_TYPE = "application/timestamp-query"
REPLY_CONTENT_TYPE = "application/timestamp-reply"

# The TSA policy under which tokens are issued; a UUID-based OID (X.667), since the
# platform has no OID arc of its own. Changing it invalidates nothing, but keep it stable.
POLICY_OID = "2.25.79927907753975388526235515612352929128"
# SHA-1 imprints are refused: a collision would let one timestamp vouch for another document.
ACCEPTED_DIGESTS = {"sha256": 32, "sha384": 48, "sha512": 64, "sha3_256": 32, "sha3_512": 64}


class TimestampRejectedError(ValueError):
    """A request the TSA refuses; ``failure`` is an RFC 3161 PKIFailureInfo bit name."""

    def __init__(self, failure: str, message: str) -> None:
        super().__init__(message)
        self.failure = failure


class PlatformTimeStamper(DummyTimeStamper):
    """pyHanko's in-process TSA with the platform's policy, UTC time and request checks.

    pyHanko ships this class "for testing"; what it lacks for production use (a policy of
    our own, accuracy, honouring certReq, rejecting bad requests) is added here. The
    cryptography (RSA PKCS#1 v1.5 over the signed attributes) is pyHanko's.
    """

    def __init__(self, authority: Authority) -> None:
        super().__init__(
            tsa_cert=authority.tsa,
            # Unused: _sign_tst_info signs with self._key, which may be in a PKCS#11 token.
            tsa_key=None,
            certs_to_embed=SimpleCertificateStore.from_certs(authority.chain),
        )
        self._key = authority.tsa_key

    def _sign_tst_info(
        self, tst_info_data: bytes, md_algorithm: str, dt: datetime
    ) -> tuple[bytes, cms.CMSAttributes]:
        """pyHanko's signed attributes, signed with the key already loaded: pyHanko's own
        version parses the key from DER on every timestamp, and checking an RSA-3072 key
        on load costs about 100 ms, more than the rest of a signature together."""
        digest = hashes.Hash(get_pyca_cryptography_hash(md_algorithm))
        digest.update(tst_info_data)
        signed_attrs = cms.CMSAttributes(
            [
                simple_cms_attribute("content_type", "tst_info"),
                simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(dt)})),
                cms.CMSAttribute.load(_static_parts(self.tsa_cert.dump()).signing_certificate),
                simple_cms_attribute("message_digest", digest.finalize()),
            ]
        )
        # RSA PKCS#1 v1.5, as pyHanko's _build_signed_data declares it.
        signature = sign_data(self._key, signed_attrs.dump(), md_algorithm)
        return signature, signed_attrs

    def _build_signed_data(
        self,
        tst_info_data: bytes,
        md_algorithm: str,
        signature: bytes,
        signed_attrs: cms.CMSAttributes,
    ) -> dict:
        """pyHanko's SignedData, with the parts that are the same in every token (signer
        identifier, certificates) taken from their DER (see :func:`_static_parts`)."""
        static = _static_parts(self.tsa_cert.dump(), tuple(c.dump() for c in self.certs_to_embed))
        digest_algorithm = algos.DigestAlgorithm({"algorithm": md_algorithm})
        signer_info = cms.SignerInfo(
            {
                "version": "v1",
                "sid": cms.SignerIdentifier.load(static.sid),
                "digest_algorithm": digest_algorithm,
                "signature_algorithm": algos.SignedDigestAlgorithm(
                    {"algorithm": "rsassa_pkcs1v15"}
                ),
                "signed_attrs": signed_attrs,
                "signature": signature,
            }
        )
        return {
            "version": "v3",  # for the EncapsulatedContentInfo
            "digest_algorithms": cms.DigestAlgorithms((digest_algorithm,)),
            "encap_content_info": cms.EncapsulatedContentInfo(
                {
                    "content_type": cms.ContentType("tst_info"),
                    "content": cms.ParsableOctetString(tst_info_data),
                }
            ),
            "certificates": cms.CertificateSet.load(static.certificates),
            "signer_infos": [signer_info],
        }

    def _build_tst_info(
        self, message_imprint: tsp.MessageImprint, dt: datetime, req: tsp.TimeStampReq
    ) -> tsp.TSTInfo:
        args = {
            "version": "v1",
            "policy": POLICY_OID,
            "message_imprint": message_imprint,
            # 63 random bits: unique without a counter shared between app workers.
            "serial_number": get_nonce(),
            "gen_time": dt,
            "accuracy": {"seconds": 1},
            "tsa": x509.GeneralName(name="directory_name", value=self.tsa_cert.subject),
        }
        if req["nonce"].native is not None:
            args["nonce"] = req["nonce"]
        return tsp.TSTInfo(args)

    async def _ensure_dummy(self) -> None:
        """pyHanko takes a rehearsal timestamp to learn the TSA's certificates before it
        gathers their validation data (B-LTA); this TSA knows its certificate, so the
        rehearsal (an RSA-3072 signature per signing act) is skipped. Sizes are reserved
        by the callers, so no dummy response is needed for estimating either."""
        if not self._certs:
            self._certs[self.tsa_cert.issuer_serial] = self.tsa_cert

    def check(self, req: tsp.TimeStampReq) -> None:
        """Raise :class:`TimestampRejectedError` for a request this TSA must not answer."""
        if req["version"].native != "v1":
            raise TimestampRejectedError("bad_request", "unsupported version")
        imprint = req["message_imprint"]
        algorithm = imprint["hash_algorithm"]["algorithm"].native
        if algorithm not in ACCEPTED_DIGESTS:
            raise TimestampRejectedError("bad_alg", f"digest {algorithm} not accepted")
        if len(imprint["hashed_message"].native) != ACCEPTED_DIGESTS[algorithm]:
            raise TimestampRejectedError("bad_data_format", "imprint length does not match digest")
        policy = req["req_policy"].native
        if policy is not None and policy != POLICY_OID:
            raise TimestampRejectedError("unaccepted_policy", f"policy {policy} not offered")
        if req["extensions"].native:
            raise TimestampRejectedError("unaccepted_extension", "extensions are not supported")

    def request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        self.check(req)
        dt = self.fixed_dt or datetime.now(UTC)
        algorithm = req["message_imprint"]["hash_algorithm"]["algorithm"].native
        tst_info_der = self._build_tst_info(req["message_imprint"], dt, req).dump()
        signature, signed_attrs = self._sign_tst_info(tst_info_der, algorithm, dt)
        signed_data = self._build_signed_data(tst_info_der, algorithm, signature, signed_attrs)
        if not req["cert_req"].native:
            # RFC 3161 2.4.1: without certReq the certificates field must be absent.
            del signed_data["certificates"]
        token = cms.ContentInfo(
            {"content_type": "signed_data", "content": cms.SignedData(signed_data)}
        )
        return tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token})


class _StaticParts(NamedTuple):
    signing_certificate: bytes  # the ESS signing-certificate attribute (RFC 2634 5.4)
    sid: bytes  # the SignerIdentifier: issuer and serial number
    certificates: bytes  # the CertificateSet: the TSA's certificate and its chain


@lru_cache(maxsize=8)
def _static_parts(tsa_cert: bytes, chain: tuple[bytes, ...] = ()) -> _StaticParts:
    """What every token of one TSA certificate repeats, as DER. Re-encoding these
    asn1crypto structures for each token (their names' SET OFs are sorted again) cost
    several times the RSA signature itself; DER loaded back is written out as it is."""
    cert = x509.Certificate.load(tsa_cert)
    sid = cms.SignerIdentifier(
        {
            "issuer_and_serial_number": cms.IssuerAndSerialNumber(
                {"issuer": cert.issuer, "serial_number": cert.serial_number}
            )
        }
    )
    certs = {cert, *(x509.Certificate.load(c) for c in chain)}
    return _StaticParts(
        signing_certificate=simple_cms_attribute(
            "signing_certificate", general.as_signing_certificate(cert)
        ).dump(),
        sid=sid.dump(),
        certificates=cms.CertificateSet(
            [cms.CertificateChoices({"certificate": c}) for c in certs]
        ).dump(),
    )


class ExternalTimeStamper(HTTPTimeStamper):
    """An RFC 3161 service elsewhere, with the roots its certificate chains to: signing
    B-LTA gathers the validation data of its chain (over the network: the platform cannot
    make that TSA's CRLs), which needs them.

    Its tokens are put in DER before use (:func:`in_der`): OpenSSL's ``ts -reply``, and the
    services built on it, write the certificates in the order they were configured, which
    DER does not allow; a document timestamp that ends the file, or a court package's
    archive token, then failed the platform's own check that nothing outside the signed
    bytes was changed (agreements/verify.py, court/package_verify.py)."""

    def __init__(self, url: str, *, trust_roots: list[x509.Certificate], **kwargs) -> None:
        super().__init__(url, **kwargs)
        self.trust_roots = list(trust_roots)

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> cms.ContentInfo:
        return in_der(await super().async_timestamp(message_digest, md_algorithm))


class NotDerError(TimestampRequestError):
    """A token whose signed parts are not in DER: the platform cannot embed it as written
    (the check of every file would fail) nor re-encode it (its signature would break)."""


def in_der(token: cms.ContentInfo) -> cms.ContentInfo:
    """``token`` with its certificates in DER order (a SET OF is sorted by encoding, X.690
    11.6; ISO 32000-2 12.8.3.3 wants the signature container in DER).

    Only the order changes: each certificate keeps its bytes, and the certificates field
    is outside what the TSA signed, so the token stays valid. Anything else not in DER
    is refused (:class:`NotDerError`) rather than re-encoded."""
    der = token.dump()
    if cms.ContentInfo.load(der).dump(force=True) == der:
        return token
    signed_data = cms.ContentInfo.load(der)["content"]
    certificates = signed_data["certificates"]
    if certificates.native is not None:
        ordered = sorted(choice.dump() for choice in certificates)
        signed_data["certificates"] = cms.CertificateSet(
            [cms.CertificateChoices.load(encoded) for encoded in ordered]
        )
    fixed = cms.ContentInfo({"content_type": "signed_data", "content": signed_data})
    der = fixed.dump()
    if cms.ContentInfo.load(der).dump(force=True) != der:
        raise NotDerError("the timestamp authority's token is not in DER")
    return cms.ContentInfo.load(der)


def timestamper_for(
    authority: Authority,
    *,
    url: str | None = None,
    timeout: float = 5,
    auth: tuple[str, str] | None = None,
    trust_roots: list[x509.Certificate] | None = None,
) -> TimeStamper:
    """The configured timestamper: the built-in TSA, or the RFC 3161 service at ``url``.

    An external TSA's certificate must chain to one of ``trust_roots``, and a verifier must
    trust it too (pass it as ``timestamp_trust_roots`` to
    :func:`agreements.verify.verify_pdf`).
    """
    if url:
        return ExternalTimeStamper(url, trust_roots=trust_roots or [], timeout=timeout, auth=auth)
    return PlatformTimeStamper(authority)


class _RejectionResp(core.Sequence):
    # asn1crypto's TimeStampResp marks timeStampToken mandatory, but RFC 3161 2.4.2 says a
    # rejection carries none; this is the same SEQUENCE without it.
    _fields: ClassVar = [("status", tsp.PKIStatusInfo)]


def _rejection(failure: str, text: str) -> _RejectionResp:
    status = {
        "status": "rejection",
        "status_string": [text],
        "fail_info": tsp.PKIFailureInfo({failure}),
    }
    return _RejectionResp({"status": status})


def respond(request_der: bytes, *, authority: Authority) -> bytes:
    """Answer a DER ``TimeStampReq`` with a DER ``TimeStampResp`` from the built-in TSA.

    Never raises for bad input: RFC 3161 wants a rejection response (HTTP 200) instead.
    """
    try:
        req = tsp.TimeStampReq.load(request_der, strict=True)
        req.native  # noqa: B018 -- parses every field now, so bad DER is caught here
        response = PlatformTimeStamper(authority).request_tsa_response(req)
    except TimestampRejectedError as e:
        return _rejection(e.failure, str(e)).dump()
    except (ValueError, TypeError, KeyError) as e:
        log.info("Malformed timestamp request: %s", e)
        return _rejection("bad_data_format", "malformed request").dump()
    except Exception:
        log.exception("Timestamp authority failure")
        return _rejection("system_failure", "internal error").dump()
    return response.dump()


__all__ = [
    "POLICY_OID",
    "QUERY_CONTENT_TYPE",
    "REPLY_CONTENT_TYPE",
    "ExternalTimeStamper",
    "NotDerError",
    "PlatformTimeStamper",
    "TimestampRejectedError",
    "in_der",
    "respond",
    "timestamper_for",
]
