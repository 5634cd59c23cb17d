"""Signer credentials: a one-off key and certificate per signature (a party, the mediator),
with its own CRL partition; and the long-lived keys in the token (the institution's seal,
the package signer), with certificates renewed when due."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers import Signer
from pyhanko_certvalidator.registry import SimpleCertificateStore

from agreements import keys

from .authority import Authority, needs_issue
from .certificates import (
    BACKDATE,
    CRL_REFRESH,
    build_certificate,
    crl_location,
    distinguished_name,
    empty_crl,
    good_ocsp,
    locked,
    sign,
    to_asn1,
    to_crypto,
    write_cert,
    write_file,
)
from .revocation import crl_due

# RFC 5280 requires PrintableString for serialNumber; refuse anything it cannot carry.
_PRINTABLE = re.compile(r"[A-Za-z0-9 '()+,\-./:=?]+")

# published_signer_crl).
SIGNER_CRLS = "signer-crls"
# Long-lived signers (seal, package signer) whose key is in the token.
LONG_LIVED_LIFETIME = timedelta(days=365)


class SignerCredential:
    """A one-off certificate and its private key, held only in this object.

    Electronic Signature Law art 13(1)-(2) asks that the signature creation data belong to
    and be controlled by the signer alone. The key is generated for one signing act after
    the signer authenticated, is never serialised or stored, and is dropped by
    :meth:`destroy` (or leaving a ``with`` block) right after use.

    Python cannot zero memory: :meth:`destroy` drops the only reference to the
    ``cryptography`` key object, whose OpenSSL key is freed (OpenSSL clears the private
    scalar when freeing it) once CPython's reference count reaches zero. Because the key is
    never exported to Python ``bytes``, no immutable copy is left behind by this module;
    swap or a core dump could still hold it, which short lifetimes keep of little value.
    """

    def __init__(
        self,
        certificate: asn1_x509.Certificate,
        private_key: ec.EllipticCurvePrivateKey,
        chain: list[asn1_x509.Certificate],
        crls: list[asn1_crl.CertificateList] | None = None,
        ocsps: list[asn1_ocsp.OCSPResponse] | None = None,
    ) -> None:
        self.certificate = certificate
        self._private_key: ec.EllipticCurvePrivateKey | None = private_key
        self.cert_registry = SimpleCertificateStore.from_certs([certificate, *chain])
        # This certificate's own revocation data (see issue_signer), to embed with it.
        self.crls = list(crls or [])
        self.ocsps = list(ocsps or [])

    @property
    def destroyed(self) -> bool:
        return self._private_key is None

    @property
    def not_after(self) -> datetime:
        return self.certificate["tbs_certificate"]["validity"]["not_after"].native

    def signer(self) -> Signer:
        """A pyHanko signer that signs with this credential's key while it exists."""
        return _EphemeralSigner(self)

    def destroy(self) -> None:
        """Drop the private key; signing with this credential fails afterwards."""
        self._private_key = None

    def __enter__(self) -> SignerCredential:
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()


class _EphemeralSigner(Signer):
    """Like pyHanko's ``SimpleSigner``, but without a PKCS#8 copy of the key.

    ``SimpleSigner`` wants the key as asn1crypto ``PrivateKeyInfo`` (DER bytes) and parses
    it again for every signature, which would leave un-erasable ``bytes`` copies around.
    """

    def __init__(self, credential: SignerCredential) -> None:
        super().__init__(
            signing_cert=credential.certificate,
            cert_registry=credential.cert_registry,
            embed_roots=True,
        )
        self._credential = credential

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        # pyHanko's size estimate (dry_run) gets a real signature too, as SimpleSigner does.
        return self.sign_raw(data, digest_algorithm)

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        """ECDSA signature over ``data`` (pyHanko hashes and DER-wraps around it)."""
        key = self._credential._private_key
        if key is None:
            raise SigningError("The signing credential has been destroyed")
        algorithm = getattr(hashes, digest_algorithm.upper())()
        return key.sign(data, ec.ECDSA(algorithm))


def issue_signer(
    authority: Authority,
    *,
    common_name: str,
    role: str,
    document_ref: str,
    signer_id: str | None = None,
    valid_for: timedelta = timedelta(minutes=10),
) -> SignerCredential:
    """Generate a key pair in memory and a short-lived certificate naming the signer.

    Subject: CN = signer's name, title = role (party, mediator, institution...),
    OU = document reference, serialNumber = ``signer_id`` (e.g. the account id) when given.
    """
    if signer_id is not None and not _PRINTABLE.fullmatch(signer_id):
        raise ValueError("signer_id must be a PrintableString (letters, digits, ' ()+,-./:=?)")
    key = ec.generate_private_key(ec.SECP256R1())
    issuing = to_crypto(authority.issuing)
    serial = x509.random_serial_number()
    # A CRL partition of its own, as a TSA certificate has (see authority.issue_tsa), and for the
    # same reason: years later the validator's control time must slide back to before this
    # ten-minute certificate expired, which a CRL shared with later signers would prevent.
    scope = crl_location(authority.crl_base, signer_stem(serial))
    builder = build_certificate(
        distinguished_name(ou=document_ref, title=role, serial=signer_id or "", cn=common_name),
        key.public_key(),
        issuer=issuing,
        lifetime=valid_for,
        ca=False,
        crl_url=scope,
        serial=serial,
    )
    # No extendedKeyUsage: NSS (pdfsig, Firefox) and Acrobat accept a signer certificate
    # without one, whereas a "wrong" EKU makes them reject it.
    cert = sign(builder, authority.issuing_key)
    assert isinstance(cert, x509.Certificate)
    horizon = cert.not_valid_after_utc - BACKDATE
    crl = signer_crl(authority, serial, next_update=horizon)
    # The record that this serial was issued (the CRL, no key nor certificate): what
    # published_signer_crl serves, so that nobody can have the CA sign for made-up serials.
    folder = authority.directory / SIGNER_CRLS
    folder.mkdir(mode=0o755, exist_ok=True)
    write_file(folder / f"{signer_stem(serial)}.crl", crl.dump(), 0o644)
    response = good_ocsp(cert, issuing, authority.issuing_key, next_update=horizon)
    return SignerCredential(to_asn1(cert), key, authority.chain, crls=[crl], ocsps=[response])


def signer_stem(serial: int) -> str:
    return f"signer-{serial:x}"


def signer_crl(
    authority: Authority, serial: int, *, next_update: datetime | None = None
) -> asn1_crl.CertificateList:
    """The (empty) CRL of one signer certificate's partition: embedded when it signs, and
    what ``<crl_base>/signer-<serial>.crl`` serves afterwards (nothing is ever revoked)."""
    issuing = to_crypto(authority.issuing)
    crl = empty_crl(
        issuing,
        authority.issuing_key,
        next_update=next_update or datetime.now(UTC) + CRL_REFRESH,
        scope=crl_location(authority.crl_base, signer_stem(serial)),
    )
    return asn1_crl.CertificateList.load(crl.public_bytes(serialization.Encoding.DER))


def published_signer_crl(authority: Authority, serial: int) -> bytes | None:
    """What ``<crl_base>/signer-<serial>.crl`` serves (DER), or None for a serial this CA
    never issued a signer certificate under.

    Only serials recorded by :func:`issue_signer` (``signer-crls/``) are answered, and
    their CRL is re-signed only when older than :data:`CRL_REFRESH` or past its nextUpdate,
    as ``issuing.crl`` is: a request, anonymous and public, never makes the issuing CA (a
    token operation when a token is configured) sign for a made-up serial, nor sign the
    same partition twice in one period. Certificates issued before these records existed
    get no answer here; their signatures embed the CRL made when they were issued, which
    is what a validator years later uses (see :mod:`agreements.signing`).
    """
    path = authority.directory / SIGNER_CRLS / f"{signer_stem(serial)}.crl"
    if not path.is_file():
        return None
    issuing = to_crypto(authority.issuing)
    with locked(authority.directory):
        recorded = x509.load_der_x509_crl(path.read_bytes())
        if not recorded.is_signature_valid(issuing.public_key()):
            return None  # issued by a retired issuing CA: not this one's to answer for
        if crl_due(path, issuing):
            write_file(path, signer_crl(authority, serial).dump(), 0o644)
        return path.read_bytes()


def long_lived_signer(
    authority: Authority, *, label: str, common_name: str, role: str, signer_id: str
) -> keys.TokenCredential:
    """The credential of a key that stays in the token, with a certificate from the issuing
    CA (``signers/<label>.crt.pem``), issued when missing, expiring, from a previous issuing
    CA, or naming someone else (an institution renamed). The key is made once and kept
    through renewals: it is the institution's seal, not a one-off.

    Subject: CN = ``common_name``, title = ``role``, serialNumber = ``signer_id``.
    """
    token = authority.token
    if token is None:
        raise ValueError("long-lived signers need a PKCS#11 token")
    if not _PRINTABLE.fullmatch(signer_id):
        raise ValueError("signer_id must be a PrintableString (letters, digits, ' ()+,-./:=?)")
    subject = distinguished_name(title=role, serial=signer_id, cn=common_name)
    folder = authority.directory / "signers"
    path = folder / f"{label}.crt.pem"
    issuing = to_crypto(authority.issuing)
    with locked(authority.directory):
        cert = x509.load_pem_x509_certificate(path.read_bytes()) if path.exists() else None
        key = token.key_for(cert) if cert is not None else None
        if cert is None or key is None or cert.subject != subject or needs_issue(path, issuing):
            if key is None:
                key = token.generate(label)
            builder = build_certificate(
                subject, key.public_key(), issuer=issuing, lifetime=LONG_LIVED_LIFETIME, ca=False
            )
            cert = sign(builder, authority.issuing_key)
            folder.mkdir(mode=0o700, exist_ok=True)
            write_cert(path, cert)
    return keys.TokenCredential(to_asn1(cert), key, authority.chain)
