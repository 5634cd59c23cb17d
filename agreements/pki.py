"""The platform's own certificate authority: root CA, issuing CA, TSA, signer certificates.

Layout of the directory passed to :func:`ensure_authority` (the app uses ``instance/pki/``)::

    root.crt.pem     root.key.pem     self-signed; key only creates/renews the issuing CA
    issuing.crt.pem  issuing.key.pem  online CA issuing signer and TSA certificates
    tsa.crt.pem      tsa.key.pem      RFC 3161 TSA certificate (EKU timeStamping, critical)
    root.crl                          the root's CRL (DER) for the issuing CA, signed when the
                                      issuing CA is issued (root key at hand), valid until
                                      shortly before that CA expires
    issuing.crl                       the issuing CA's CRL, re-signed every CRL_REFRESH
    tsa-<serial>.crl  tsa-<serial>.ocsp  one CRL partition and one OCSP response per TSA
                                      certificate, current until shortly before it expires
    signer-crls/signer-<serial>.crl   one CRL partition per signer certificate issued: the
                                      record that the serial was issued, re-signed when
                                      served and older than CRL_REFRESH
    retired/                          certificates and keys replaced by a renewal

Every certificate below the root names where its CRL is published (CRL distribution point
under ``crl_base``: ``root.crl`` for the issuing CA, ``tsa-<serial>.crl`` for a TSA
certificate, ``signer-<serial>.crl`` for a signer certificate, whose partition CRL is made
when it is issued and served on request, for issued serials only), so that a validator
years later finds, embedded in the document, proof that nothing was revoked while it was used
(ETSI EN 319 102-1 5.2.6; the platform's signatures embed these CRLs, see
:mod:`agreements.signing`).

Keys are written with mode 0600; the root key is encrypted when a passphrase is given. The
root key is never loaded into :class:`Authority`: it is read only while the issuing CA is
created or renewed, so that in production it can live offline (remove ``root.key.pem`` after
setup, restore it to renew).

Production (see :func:`issue_ca` and ``mediation pki``): the root is made on a machine of
its own (``mediation pki init-root DIR``: certificate and passphrase-encrypted key), and the
platform receives only ``root.crt.pem`` and an issuing CA made with the root key by
``mediation pki issue-ca``; it never creates a root itself (``create_root=False``) and
refuses to start while an unencrypted root key lies in its directory
(:func:`unencrypted_root_key`). Development and the demo create everything on first use.

With a PKCS#11 token (:mod:`agreements.keys`) the issuing CA, TSA, seal and package-signing
keys are in the token and no ``*.key.pem`` but the (offline) root's exists; certificates
stay here, long-lived signers' under ``signers/``.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeAlias

from asn1crypto import crl as asn1_crl
from asn1crypto import keys as asn1_keys
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers import Signer
from pyhanko_certvalidator.registry import SimpleCertificateStore

from agreements import keys

log = logging.getLogger(__name__)

ROOT_LIFETIME = timedelta(days=20 * 365)
# Ten years: pyHanko's AdES validation (0.38) cannot rescue a chain whose *intermediate*
# certificate has expired (only an expired end-entity certificate goes on to past
# validation), so a document must be checked before its issuing CA expires; ten years keeps
# every document verifiable for at least that long after signing, five years and more
# after the CA's renewal (RENEW_BEFORE applies to the CA too).
ISSUING_LIFETIME = timedelta(days=10 * 365)
TSA_LIFETIME = timedelta(days=2 * 365)
# Renew early so that a signer or TSA certificate never outlives the CA that issued it.
RENEW_BEFORE = timedelta(days=90)
# Tolerates small clock differences between the app servers and a validator.
BACKDATE = timedelta(minutes=1)
# CRLs are re-signed when older than CRL_REFRESH. Their nextUpdate is shortly (CRL_MARGIN)
# before the certificates they cover expire: a document's newest archive timestamp must be
# checkable offline until its next renewal, years later, with the CRLs embedded beside it
# (a CRL due in a week would leave a verifier without network unable to judge it after a
# week); see _issue_tsa for the margin. The price is that a revocation reaches only
# verifiers who fetch the CRL anew; see _crl for why the platform can live with that.
CRL_REFRESH = timedelta(hours=1)
CRL_MARGIN = timedelta(days=2)

_FILES = ("root", "issuing", "tsa")
# RFC 5280 requires PrintableString for serialNumber; refuse anything it cannot carry.
_PRINTABLE = re.compile(r"[A-Za-z0-9 '()+,\-./:=?]+")

PrivateKey: TypeAlias = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
# What signs certificates, CRLs and timestamps: a key in a file, or one in the token.
SigningKey: TypeAlias = PrivateKey | keys.TokenKey
# Where issue_signer records each signer certificate's partition CRL (see
# published_signer_crl).
SIGNER_CRLS = "signer-crls"
# Long-lived signers (seal, package signer) whose key is in the token.
LONG_LIVED_LIFETIME = timedelta(days=365)


class RootMissingError(FileNotFoundError):
    """No root certificate where one is needed, and creating one here is not allowed."""


@dataclass(frozen=True)
class Authority:
    """The loaded CA: certificates as asn1crypto objects (what pyHanko uses), online keys."""

    directory: Path
    root: asn1_x509.Certificate
    issuing: asn1_x509.Certificate
    issuing_key: ec.EllipticCurvePrivateKey | keys.TokenKey = field(repr=False)
    tsa: asn1_x509.Certificate
    tsa_key: rsa.RSAPrivateKey | keys.TokenKey = field(repr=False)
    # The PKCS#11 token holding the online keys, when one is configured.
    token: keys.Token | None = field(default=None, repr=False)
    # Where the CRLs are published (e.g. https://host/pki); None: certificates name none.
    crl_base: str | None = None

    @property
    def trust_roots(self) -> list[asn1_x509.Certificate]:
        return [self.root]

    @property
    def chain(self) -> list[asn1_x509.Certificate]:
        """Certificates a validator needs besides the end-entity one (issuing CA first)."""
        return [self.issuing, self.root]


# --- helpers -------------------------------------------------------------------------------


def to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    """Convert a ``cryptography`` certificate to the asn1crypto type pyHanko works with."""
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _to_crypto(cert: asn1_x509.Certificate) -> x509.Certificate:
    return x509.load_der_x509_certificate(cert.dump())


def private_key_info(key: PrivateKey) -> asn1_keys.PrivateKeyInfo:
    """PKCS#8 form of a key, for pyHanko APIs that insist on it (the built-in TSA)."""
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return asn1_keys.PrivateKeyInfo.load(der)


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write atomically; the temporary file is created with the final mode, never wider."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _write_key(path: Path, key: PrivateKey, passphrase: bytes | None = None) -> None:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    _write(path, pem, 0o600)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    _write(path, cert.public_bytes(serialization.Encoding.PEM), 0o644)


def _name(**attrs: str) -> x509.Name:
    oids = {
        "cn": NameOID.COMMON_NAME,
        "o": NameOID.ORGANIZATION_NAME,
        "ou": NameOID.ORGANIZATIONAL_UNIT_NAME,
        "title": NameOID.TITLE,
        "serial": NameOID.SERIAL_NUMBER,
    }
    return x509.Name([x509.NameAttribute(oids[k], v) for k, v in attrs.items() if v])


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=not ca,  # a.k.a. nonRepudiation
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _build(
    subject: x509.Name,
    public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey,
    *,
    issuer: x509.Certificate | None,
    lifetime: timedelta,
    ca: bool,
    path_length: int | None = None,
    crl_url: str | None = None,
    serial: int | None = None,
) -> x509.CertificateBuilder:
    now = datetime.now(UTC)
    end = now + lifetime
    if issuer is not None:
        # RFC 5280 path validation fails for anything outliving its issuer.
        end = min(end, issuer.not_valid_after_utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer else subject)
        .public_key(public_key)
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
        .add_extension(_key_usage(ca=ca), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if issuer is None:
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key)
    else:
        ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    if crl_url:
        # RFC 5280 4.2.1.13: where the issuer's CRL covering this certificate is found.
        point = x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(crl_url)],
            relative_name=None,
            reasons=None,
            crl_issuer=None,
        )
        builder = builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)
    return builder.add_extension(aki, critical=False)


def _crl_url(base: str | None, stem: str) -> str | None:
    return f"{base.rstrip('/')}/{stem}.crl" if base else None


def _sign(
    builder: keys.Builder | ocsp.OCSPResponseBuilder, key: SigningKey
) -> x509.Certificate | x509.CertificateRevocationList | ocsp.OCSPResponse:
    """Sign a certificate, CRL or OCSP response builder with a software key or a key in
    the token."""
    is_ec = isinstance(key.public_key(), ec.EllipticCurvePublicKey)
    algorithm = hashes.SHA384() if is_ec else hashes.SHA256()
    if isinstance(key, keys.TokenKey):
        assert not isinstance(builder, ocsp.OCSPResponseBuilder)  # see _sign_ocsp_in_token
        return keys.sign_builder(builder, key, algorithm)
    return builder.sign(key, algorithm)


def _sign_ocsp_in_token(
    builder: ocsp.OCSPResponseBuilder,
    issuer: x509.Certificate,
    key: keys.TokenKey,
    algorithm: hashes.HashAlgorithm,
) -> ocsp.OCSPResponse:
    """An OCSP response signed by a key in the token: ``cryptography`` builds it with a
    stand-in key and responder of the same kind, then the responder ID is set to the
    issuer's key hash and the token signs the tbsResponseData (as keys.sign_builder does
    for certificates and CRLs)."""
    stand_in: PrivateKey = (
        ec.generate_private_key(ec.SECP384R1())
        if key.is_ec
        else rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    responder = _sign(
        _build(issuer.subject, stand_in.public_key(), issuer=None, lifetime=BACKDATE, ca=False),
        stand_in,
    )
    assert isinstance(responder, x509.Certificate)
    draft = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, responder).sign(
        stand_in, algorithm
    )
    parsed = asn1_ocsp.OCSPResponse.load(draft.public_bytes(serialization.Encoding.DER))
    basic = parsed.basic_ocsp_response
    tbs = basic["tbs_response_data"]
    tbs["responder_id"] = asn1_ocsp.ResponderId(
        name="by_key", value=to_asn1(issuer).public_key.sha1
    )
    signed = asn1_ocsp.BasicOCSPResponse(
        {
            "tbs_response_data": tbs,
            "signature_algorithm": basic["signature_algorithm"],
            "signature": key.sign(tbs.dump(force=True), algorithm.name),
        }
    )
    response = asn1_ocsp.OCSPResponse(
        {
            "response_status": "successful",
            "response_bytes": {"response_type": "basic_ocsp_response", "response": signed},
        }
    )
    return ocsp.load_der_ocsp_response(response.dump())


def _crl(
    issuer: x509.Certificate,
    key: SigningKey,
    *,
    next_update: datetime,
    scope: str | None = None,
) -> x509.CertificateRevocationList:
    """An empty CRL of ``issuer``, for the certificates naming ``scope`` as their CRL
    distribution point (all it issued when None): the platform has revoked nothing.

    Signer certificates live minutes and their keys sign once (see :class:`SignerCredential`),
    so there is nothing to revoke them for; the CRLs let a validator prove, at any later
    time, that the CA and TSA certificates were not revoked when they were used. A
    compromised issuing CA or TSA key is answered by a new issuing CA, not a CRL entry.
    """
    now = datetime.now(UTC)
    ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject)
        .last_update(now - BACKDATE)
        .next_update(max(next_update, now))
        # RFC 5280 5.2.1 and 5.2.3: authority key identifier and CRL number are required.
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .add_extension(x509.CRLNumber(int(now.timestamp() * 1000)), critical=False)
    )
    if scope:
        # RFC 5280 5.2.5: a partition of the issuer's certificates, critical.
        idp = x509.IssuingDistributionPoint(
            full_name=[x509.UniformResourceIdentifier(scope)],
            relative_name=None,
            only_contains_user_certs=False,
            only_contains_ca_certs=False,
            only_some_reasons=None,
            indirect_crl=False,
            only_contains_attribute_certs=False,
        )
        builder = builder.add_extension(idp, critical=True)
    crl = _sign(builder, key)
    assert isinstance(crl, x509.CertificateRevocationList)
    return crl


def _ocsp(
    cert: x509.Certificate, issuer: x509.Certificate, key: SigningKey, *, next_update: datetime
) -> asn1_ocsp.OCSPResponse:
    """A "good" OCSP response for ``cert``, signed by its issuer itself (RFC 6960 4.2.2.2).

    The platform runs no OCSP responder: these responses are made to be embedded. They give
    each end-entity certificate revocation data of its own, current until just before it
    expires, which is what a validator years later needs (see _issue_tsa); pyHanko's past
    validation of an expired end-entity certificate looks for OCSP responses in particular.
    """
    now = datetime.now(UTC)
    builder = ocsp.OCSPResponseBuilder().add_response(
        cert=cert,
        issuer=issuer,
        algorithm=hashes.SHA256(),
        cert_status=ocsp.OCSPCertStatus.GOOD,
        this_update=now - BACKDATE,
        next_update=max(next_update, now),
        revocation_time=None,
        revocation_reason=None,
    )
    if isinstance(key, keys.TokenKey):
        is_ec = isinstance(key.public_key(), ec.EllipticCurvePublicKey)
        algorithm = hashes.SHA384() if is_ec else hashes.SHA256()
        response = _sign_ocsp_in_token(builder, issuer, key, algorithm)
    else:
        response = _sign(builder.responder_id(ocsp.OCSPResponderEncoding.HASH, issuer), key)
    assert isinstance(response, ocsp.OCSPResponse)
    return asn1_ocsp.OCSPResponse.load(response.public_bytes(serialization.Encoding.DER))


def _write_crl(path: Path, crl: x509.CertificateRevocationList) -> None:
    _write(path, crl.public_bytes(serialization.Encoding.DER), 0o644)


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    # Several app workers may start at once; only one must create the CA.
    with open(directory / ".lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _retire(directory: Path, stem: str) -> None:
    cert_path = directory / f"{stem}.crt.pem"
    if not cert_path.exists():
        return
    serial = format(x509.load_pem_x509_certificate(cert_path.read_bytes()).serial_number, "x")
    retired = directory / "retired"
    retired.mkdir(mode=0o700, exist_ok=True)
    for suffix in (".crt.pem", ".key.pem"):
        src = directory / f"{stem}{suffix}"
        if src.exists():
            os.replace(src, retired / f"{stem}-{serial}{suffix}")


# --- the authority -------------------------------------------------------------------------


def _new_root(name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP384R1())
    subject = _name(o=name, cn=f"{name} Root CA")
    builder = _build(
        subject, key.public_key(), issuer=None, lifetime=ROOT_LIFETIME, ca=True, path_length=1
    )
    return key, _sign(builder, key)


def ensure_authority(
    directory: Path,
    *,
    name: str,
    passphrase: bytes | None = None,
    token: keys.Token | None = None,
    create_root: bool = True,
    crl_base: str | None = None,
) -> Authority:
    """Create whatever part of the CA is missing or due for renewal, then load it.

    Idempotent. ``passphrase`` encrypts a new root key and decrypts an existing one; it is
    needed only when the issuing CA (or the root's CRL) has to be created or renewed.
    ``token`` keeps the issuing CA's and the TSA's keys in a PKCS#11 token. Without
    ``create_root`` (production) a missing root is an error telling the operator how to make
    one offline. ``crl_base`` is the URL under which :func:`crl_files` are published;
    certificates issued from now on name it.
    """
    directory = Path(directory)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    with _locked(directory):
        root_crt, root_key_path = directory / "root.crt.pem", directory / "root.key.pem"
        if not root_crt.exists():
            if not create_root:
                raise RootMissingError(
                    f"No root CA in {directory}. Create it offline with `mediation pki "
                    "init-root DIR` on a separate machine, then run `mediation pki issue-ca "
                    "DIR` here; the platform never creates its root in production."
                )
            key, cert = _new_root(name)
            _write_key(root_key_path, key, passphrase)
            _write_cert(root_crt, cert)
            _retire(directory, "issuing")  # anything left over belongs to another root
            _retire(directory, "tsa")
        root = x509.load_pem_x509_certificate(root_crt.read_bytes())

        issuing_crt = directory / "issuing.crt.pem"
        if _needs_issue(issuing_crt, root) or _key_missing(directory, "issuing", token):
            if not root_key_path.exists():
                if issuing_crt.exists() and not _expired(issuing_crt):
                    log.warning("The issuing CA is due for renewal; run `mediation pki issue-ca`")
                else:
                    raise FileNotFoundError(
                        f"No usable issuing CA in {directory}: run `mediation pki issue-ca "
                        "ROOT_DIR` with the offline root"
                    )
            else:
                root_key = serialization.load_pem_private_key(
                    root_key_path.read_bytes(), passphrase
                )
                assert isinstance(root_key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey)
                _issue_issuing_ca(directory, root, root_key, name, token, crl_base)
                del root_key  # the root key's only job is done
        elif _root_crl_due(directory, root) and root_key_path.exists():
            _issue_root_crl(directory, root, root_key_path, passphrase)
        issuing = x509.load_pem_x509_certificate(issuing_crt.read_bytes())

        if _needs_issue(directory / "tsa.crt.pem", issuing) or _key_missing(
            directory, "tsa", token
        ):
            _issue_tsa(directory, issuing, name, token, crl_base)
    return load_authority(directory, token=token, crl_base=crl_base)


def _key_missing(directory: Path, stem: str, token: keys.Token | None) -> bool:
    """With a token, the certificate's key is not in it (e.g. the keys were files before)."""
    cert_path = directory / f"{stem}.crt.pem"
    if token is None or not cert_path.exists():
        return False
    return token.key_for(x509.load_pem_x509_certificate(cert_path.read_bytes())) is None


def _expired(path: Path, margin: timedelta = timedelta(0)) -> bool:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return cert.not_valid_after_utc - margin <= datetime.now(UTC)


def _needs_issue(path: Path, issuer: x509.Certificate) -> bool:
    if not path.exists():
        return True
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return True  # issued by a previous generation of the issuer
    return _expired(path, RENEW_BEFORE)


def _root_crl_due(directory: Path, root: x509.Certificate) -> bool:
    path = directory / "root.crl"
    if not path.exists():
        return True
    crl = x509.load_der_x509_crl(path.read_bytes())
    if not crl.is_signature_valid(root.public_key()):
        return True  # left over from another root
    next_update = crl.next_update_utc
    return next_update is None or next_update - RENEW_BEFORE <= datetime.now(UTC)


def _issue_root_crl(
    directory: Path, root: x509.Certificate, root_key_path: Path, passphrase: bytes | None
) -> None:
    """Re-sign the root's CRL while the root key is at hand; if it is encrypted and no
    passphrase was given, say so and carry on with the CRL there is."""
    try:
        root_key = serialization.load_pem_private_key(root_key_path.read_bytes(), passphrase)
    except (TypeError, ValueError):
        log.warning("The root's CRL is due for renewal; give the root key's passphrase")
        return
    assert isinstance(root_key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey)
    issuing = x509.load_pem_x509_certificate((directory / "issuing.crt.pem").read_bytes())
    _write_root_crl(directory, root, root_key, issuing)


def _write_root_crl(
    directory: Path, root: x509.Certificate, root_key: SigningKey, issuing: x509.Certificate
) -> None:
    # The root key may be offline for years: its CRL is valid as long as the issuing CA it
    # covers, so validators always find a current one (RFC 5280 5.1.2.5 lets nextUpdate be
    # as far ahead as the issuer commits to).
    _write_crl(
        directory / "root.crl",
        _crl(root, root_key, next_update=issuing.not_valid_after_utc - CRL_MARGIN),
    )


def _new_key(
    directory: Path, stem: str, token: keys.Token | None, label: str, *, rsa_bits: int | None
) -> tuple[SigningKey, Path | None]:
    """A key for a CA or TSA: in the token when there is one, else to be written to a file."""
    if token is not None:
        return token.generate(label, rsa_bits=rsa_bits), None
    if rsa_bits:
        return rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits), (
            directory / f"{stem}.key.pem"
        )
    return ec.generate_private_key(ec.SECP384R1()), directory / f"{stem}.key.pem"


def _issue_issuing_ca(
    directory: Path,
    root: x509.Certificate,
    root_key: PrivateKey,
    name: str,
    token: keys.Token | None = None,
    crl_base: str | None = None,
) -> x509.Certificate:
    label = token.config.issuing_label if token else ""
    key, key_path = _new_key(directory, "issuing", token, label, rsa_bits=None)
    builder = _build(
        # Each generation has a name of its own: validators find a CRL's issuer, and a
        # certificate's, by name first, and one name for two keys sends them down the
        # wrong (often expired) path when old timestamps are checked years later.
        _name(o=name, cn=f"{name} Issuing CA", serial=datetime.now(UTC).strftime("G%Y%m%d%H%M%S")),
        key.public_key(),
        issuer=root,
        lifetime=ISSUING_LIFETIME,
        ca=True,
        path_length=0,
        crl_url=_crl_url(crl_base, "root"),
    )
    cert = _sign(builder, root_key)
    assert isinstance(cert, x509.Certificate)
    _write_root_crl(directory, root, root_key, cert)
    _retire(directory, "issuing")
    _retire(directory, "tsa")  # a TSA certificate must not outlive its issuer
    if key_path is not None:
        assert not isinstance(key, keys.TokenKey)
        _write_key(key_path, key)
    _write_cert(directory / "issuing.crt.pem", cert)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(directory / "issuing.crl")  # the old CA's
    return cert


def _issue_tsa(
    directory: Path,
    issuing: x509.Certificate,
    name: str,
    token: keys.Token | None = None,
    crl_base: str | None = None,
) -> None:
    issuing_key = _online_key(directory, "issuing", issuing, token)
    # pyHanko's in-process timestamper signs with RSA PKCS#1 v1.5 only.
    label = token.config.tsa_label if token else ""
    key, key_path = _new_key(directory, "tsa", token, label, rsa_bits=3072)
    serial = x509.random_serial_number()
    # Each TSA certificate has a CRL of its own (a partition of the issuing CA's, RFC 5280
    # 5.2.5) that stays current until shortly before the certificate expires. A document's
    # newest archive timestamp can so be checked offline until it is renewed; and years
    # later, a validator checking an older timestamp (ETSI EN 319 102-1 5.6.2.1, past
    # certificate validation) slides its control time back to the end of that CRL, a moment
    # when the TSA certificate was still valid. One CRL for all TSA certificates would have
    # the newest one decide, and the control time would land after an old one expired.
    crl_url = _crl_url(crl_base, _tsa_stem(serial))
    builder = _build(
        _name(o=name, cn=f"{name} Timestamp Authority"),
        key.public_key(),
        issuer=issuing,
        lifetime=TSA_LIFETIME,
        ca=False,
        crl_url=crl_url,
        serial=serial,
        # RFC 3161 2.3: the TSA certificate has exactly one EKU, timeStamping, marked critical.
    ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
    cert = _sign(builder, issuing_key)
    assert isinstance(cert, x509.Certificate)
    _retire(directory, "tsa")
    if key_path is not None:
        assert not isinstance(key, keys.TokenKey)
        _write_key(key_path, key)
    _write_cert(directory / "tsa.crt.pem", cert)
    _write_tsa_crl(directory, cert, issuing, issuing_key, crl_base)


def _tsa_stem(serial: int) -> str:
    return f"tsa-{serial:x}"


def _write_tsa_crl(
    directory: Path,
    tsa: x509.Certificate,
    issuing: x509.Certificate,
    issuing_key: SigningKey,
    crl_base: str | None,
) -> None:
    stem = _tsa_stem(tsa.serial_number)
    crl = _crl(
        issuing,
        issuing_key,
        next_update=tsa.not_valid_after_utc - CRL_MARGIN,
        scope=_crl_url(crl_base, stem),
    )
    _write_crl(directory / f"{stem}.crl", crl)
    response = _ocsp(tsa, issuing, issuing_key, next_update=tsa.not_valid_after_utc - CRL_MARGIN)
    _write(directory / f"{stem}.ocsp", response.dump(), 0o644)


def _load_key(path: Path) -> PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey)
    return key


def load_root(directory: Path) -> asn1_x509.Certificate | None:
    """The root certificate in ``directory``, or None: reads, never creates (verifiers)."""
    path = Path(directory) / "root.crt.pem"
    if not path.is_file():
        return None
    return to_asn1(x509.load_pem_x509_certificate(path.read_bytes()))


def _online_key(
    directory: Path, stem: str, cert: x509.Certificate, token: keys.Token | None
) -> SigningKey:
    """The key of an online certificate: from the token when there is one, else its file."""
    if token is None:
        key: SigningKey = _load_key(directory / f"{stem}.key.pem")
    else:
        found = token.key_for(cert)
        if found is None:
            raise keys.TokenError(f"the key of {stem}.crt.pem is not in the token")
        key = found
    # A mismatched file (e.g. restored from another backup) would produce signatures that
    # no validator accepts; fail loudly here instead.
    if key.public_key() != cert.public_key():
        raise ValueError(f"{stem}.key.pem does not match {stem}.crt.pem")
    return key


def load_authority(
    directory: Path, *, token: keys.Token | None = None, crl_base: str | None = None
) -> Authority:
    """Load an existing CA without creating anything (the root key is not read)."""
    directory = Path(directory)
    certs = {
        stem: x509.load_pem_x509_certificate((directory / f"{stem}.crt.pem").read_bytes())
        for stem in _FILES
    }
    certs["issuing"].verify_directly_issued_by(certs["root"])
    certs["tsa"].verify_directly_issued_by(certs["issuing"])
    issuing_key = _online_key(directory, "issuing", certs["issuing"], token)
    tsa_key = _online_key(directory, "tsa", certs["tsa"], token)
    assert isinstance(issuing_key, ec.EllipticCurvePrivateKey | keys.TokenKey)
    assert isinstance(tsa_key, rsa.RSAPrivateKey | keys.TokenKey)
    return Authority(
        directory=directory,
        root=to_asn1(certs["root"]),
        issuing=to_asn1(certs["issuing"]),
        issuing_key=issuing_key,
        tsa=to_asn1(certs["tsa"]),
        tsa_key=tsa_key,
        token=token,
        crl_base=crl_base,
    )


# --- the offline root ------------------------------------------------------------------------


def init_root(directory: Path, *, name: str, passphrase: bytes) -> x509.Certificate:
    """Make the root CA on an offline machine: ``root.crt.pem`` and ``root.key.pem``, the
    key encrypted with ``passphrase``. Refuses to overwrite an existing root."""
    if not passphrase:
        raise ValueError("the root key must be encrypted: give a passphrase")
    directory = Path(directory)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if (directory / "root.crt.pem").exists() or (directory / "root.key.pem").exists():
        raise FileExistsError(f"{directory} already holds a root; it is never overwritten")
    key, cert = _new_root(name)
    _write_key(directory / "root.key.pem", key, passphrase)
    _write_cert(directory / "root.crt.pem", cert)
    return cert


def issue_ca(
    directory: Path,
    *,
    root_dir: Path,
    passphrase: bytes,
    name: str,
    token: keys.Token | None = None,
    crl_base: str | None = None,
) -> Authority:
    """Issue (or renew) the online issuing CA with the offline root in ``root_dir``.

    The root's certificate is copied into ``directory``, its key never: it is read, used
    once, and dropped. The issuing CA's key goes to the token when there is one. A root
    different from the one in ``directory`` replaces it (the old one goes to ``retired/``).
    """
    directory = Path(directory)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    root_pem = (Path(root_dir) / "root.crt.pem").read_bytes()
    root = x509.load_pem_x509_certificate(root_pem)
    root_key = serialization.load_pem_private_key(
        (Path(root_dir) / "root.key.pem").read_bytes(), passphrase
    )
    assert isinstance(root_key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey)
    if root_key.public_key() != root.public_key():
        raise ValueError("root.key.pem does not belong to root.crt.pem")
    with _locked(directory):
        current = directory / "root.crt.pem"
        if current.exists() and current.read_bytes() != root_pem:
            _retire(directory, "root")
        if not current.exists():
            _write_cert(current, root)
        # The root's CRL is signed with it, while the root key is at hand.
        issuing = _issue_issuing_ca(directory, root, root_key, name, token, crl_base)
        del root_key
        _issue_tsa(directory, issuing, name, token, crl_base)
    return load_authority(directory, token=token, crl_base=crl_base)


def unencrypted_root_key(directory: Path) -> Path | None:
    """A root key in ``directory`` (current or retired) readable without a passphrase."""
    directory = Path(directory)
    for path in [directory / "root.key.pem", *directory.glob("retired/root-*.key.pem")]:
        if not path.exists():
            continue
        try:
            serialization.load_pem_private_key(path.read_bytes(), None)
        except TypeError:  # "Password was not given but private key is encrypted"
            continue
        return path
    return None


# --- revocation lists ----------------------------------------------------------------------


def crl_files(authority: Authority) -> dict[str, bytes]:
    """The CRLs to publish under :attr:`Authority.crl_base`, by file name (DER).

    ``issuing.crl`` (the issuing CA's, for signer certificates) and the current TSA
    certificate's are re-signed when older than :data:`CRL_REFRESH`; ``root.crl`` (for the
    issuing CA) only when the root key is at hand (:func:`ensure_authority`). Both the issuing
    CA's and the root's CRLs run until shortly before the CA they are for expires, for the
    same reason as the TSA's (see :func:`_issue_tsa`): a validator without network years
    later still finds them current.
    """
    directory = authority.directory
    issuing = _to_crypto(authority.issuing)
    tsa = _to_crypto(authority.tsa)
    tsa_path = directory / f"{_tsa_stem(tsa.serial_number)}.crl"
    with _locked(directory):
        if _crl_due(directory / "issuing.crl", issuing):
            scope = _crl_url(authority.crl_base, "issuing")
            crl = _crl(
                issuing,
                authority.issuing_key,
                next_update=issuing.not_valid_after_utc - CRL_MARGIN,
                scope=scope,
            )
            _write_crl(directory / "issuing.crl", crl)
        if _crl_due(tsa_path, issuing):
            _write_tsa_crl(directory, tsa, issuing, authority.issuing_key, authority.crl_base)
        names = ["root.crl", "issuing.crl", *sorted(p.name for p in directory.glob("tsa-*.crl"))]
        return {n: (directory / n).read_bytes() for n in names if (directory / n).exists()}


def _crl_due(path: Path, issuer: x509.Certificate) -> bool:
    if not path.exists():
        return True
    crl = x509.load_der_x509_crl(path.read_bytes())
    now = datetime.now(UTC)
    return (
        crl.issuer != issuer.subject
        or not crl.is_signature_valid(issuer.public_key())
        or crl.last_update_utc + BACKDATE + CRL_REFRESH <= now
        or crl.last_update_utc > now  # a clock that went back
        or (crl.next_update_utc is not None and crl.next_update_utc <= now)
    )


def validation_crls(
    authority: Authority, files: dict[str, bytes] | None = None
) -> list[asn1_crl.CertificateList]:
    """The current CRLs a validator needs for every chain this authority's signatures and
    timestamps use, including those of TSA certificates already replaced (they signed the
    older archive timestamps a renewal must prove). ``files``: what :func:`crl_files` just
    returned, so as not to check them again."""
    now = datetime.now(UTC)
    found = []
    for data in (files if files is not None else crl_files(authority)).values():
        crl = asn1_crl.CertificateList.load(data)
        next_update = crl["tbs_cert_list"]["next_update"].native
        if next_update is not None and next_update > now:
            found.append(crl)
    return found


def validation_ocsps(authority: Authority, *, fresh: bool = False) -> list[asn1_ocsp.OCSPResponse]:
    """The current OCSP responses of the TSA certificates (see _ocsp). ``fresh``: the caller
    has just called :func:`crl_files`, which re-signs the current TSA's when due."""
    if not fresh:
        crl_files(authority)
    found = []
    now = datetime.now(UTC)
    for path in sorted(authority.directory.glob("tsa-*.ocsp")):
        response = asn1_ocsp.OCSPResponse.load(path.read_bytes())
        single = response.basic_ocsp_response["tbs_response_data"]["responses"][0]
        if single["next_update"].native > now:
            found.append(response)
    return found


def retired_certificates(authority: Authority) -> list[asn1_x509.Certificate]:
    """Certificates of retired issuing CAs and TSAs, for validating older timestamps."""
    retired = authority.directory / "retired"
    if not retired.is_dir():
        return []
    return [
        to_asn1(x509.load_pem_x509_certificate(p.read_bytes()))
        for p in sorted(retired.glob("*.crt.pem"))
        if p.name.startswith(("issuing-", "tsa-"))
    ]


# --- per-signature credentials -------------------------------------------------------------


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
    issuing = _to_crypto(authority.issuing)
    serial = x509.random_serial_number()
    # A CRL partition of its own, as a TSA certificate has (see _issue_tsa), and for the
    # same reason: years later the validator's control time must slide back to before this
    # ten-minute certificate expired, which a CRL shared with later signers would prevent.
    scope = _crl_url(authority.crl_base, signer_stem(serial))
    builder = _build(
        _name(ou=document_ref, title=role, serial=signer_id or "", cn=common_name),
        key.public_key(),
        issuer=issuing,
        lifetime=valid_for,
        ca=False,
        crl_url=scope,
        serial=serial,
    )
    # No extendedKeyUsage: NSS (pdfsig, Firefox) and Acrobat accept a signer certificate
    # without one, whereas a "wrong" EKU makes them reject it.
    cert = _sign(builder, authority.issuing_key)
    assert isinstance(cert, x509.Certificate)
    horizon = cert.not_valid_after_utc - BACKDATE
    crl = signer_crl(authority, serial, next_update=horizon)
    # The record that this serial was issued (the CRL, no key nor certificate): what
    # published_signer_crl serves, so that nobody can have the CA sign for made-up serials.
    folder = authority.directory / SIGNER_CRLS
    folder.mkdir(mode=0o755, exist_ok=True)
    _write(folder / f"{signer_stem(serial)}.crl", crl.dump(), 0o644)
    response = _ocsp(cert, issuing, authority.issuing_key, next_update=horizon)
    return SignerCredential(to_asn1(cert), key, authority.chain, crls=[crl], ocsps=[response])


def signer_stem(serial: int) -> str:
    return f"signer-{serial:x}"


def signer_crl(
    authority: Authority, serial: int, *, next_update: datetime | None = None
) -> asn1_crl.CertificateList:
    """The (empty) CRL of one signer certificate's partition: embedded when it signs, and
    what ``<crl_base>/signer-<serial>.crl`` serves afterwards (nothing is ever revoked)."""
    issuing = _to_crypto(authority.issuing)
    crl = _crl(
        issuing,
        authority.issuing_key,
        next_update=next_update or datetime.now(UTC) + CRL_REFRESH,
        scope=_crl_url(authority.crl_base, signer_stem(serial)),
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
    issuing = _to_crypto(authority.issuing)
    with _locked(authority.directory):
        recorded = x509.load_der_x509_crl(path.read_bytes())
        if not recorded.is_signature_valid(issuing.public_key()):
            return None  # issued by a retired issuing CA: not this one's to answer for
        if _crl_due(path, issuing):
            _write(path, signer_crl(authority, serial).dump(), 0o644)
        return path.read_bytes()


# --- long-lived signers in the token (seal, package signer) ---------------------------------


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
    subject = _name(title=role, serial=signer_id, cn=common_name)
    folder = authority.directory / "signers"
    path = folder / f"{label}.crt.pem"
    issuing = _to_crypto(authority.issuing)
    with _locked(authority.directory):
        cert = x509.load_pem_x509_certificate(path.read_bytes()) if path.exists() else None
        key = token.key_for(cert) if cert is not None else None
        if cert is None or key is None or cert.subject != subject or _needs_issue(path, issuing):
            if key is None:
                key = token.generate(label)
            builder = _build(
                subject, key.public_key(), issuer=issuing, lifetime=LONG_LIVED_LIFETIME, ca=False
            )
            cert = _sign(builder, authority.issuing_key)
            folder.mkdir(mode=0o700, exist_ok=True)
            _write_cert(path, cert)
    return keys.TokenCredential(to_asn1(cert), key, authority.chain)
