"""Making and writing what the authority signs: certificates, CRLs and OCSP responses,
with a key in a file or in the PKCS#11 token (:mod:`agreements.keys`), and the files they
are kept in (written atomically, keys with mode 0600)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeAlias

from asn1crypto import keys as asn1_keys
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID

from agreements import keys

# Tolerates small clock differences between the app servers and a validator.
BACKDATE = timedelta(minutes=1)
# CRLs are re-signed when older than CRL_REFRESH. Their nextUpdate is shortly (CRL_MARGIN)
# before the certificates they cover expire: a document's newest archive timestamp must be
# checkable offline until its next renewal, years later, with the CRLs embedded beside it
# (a CRL due in a week would leave a verifier without network unable to judge it after a
# week); see authority.issue_tsa for the margin. The price is that a revocation reaches only
# verifiers who fetch the CRL anew; see empty_crl for why the platform can live with that.
CRL_REFRESH = timedelta(hours=1)
CRL_MARGIN = timedelta(days=2)

PrivateKey: TypeAlias = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
# What signs certificates, CRLs and timestamps: a key in a file, or one in the token.
SigningKey: TypeAlias = PrivateKey | keys.TokenKey
# Where issue_signer records each signer certificate's partition CRL (see


def to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    """Convert a ``cryptography`` certificate to the asn1crypto type pyHanko works with."""
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def to_crypto(cert: asn1_x509.Certificate) -> x509.Certificate:
    return x509.load_der_x509_certificate(cert.dump())


def private_key_info(key: PrivateKey) -> asn1_keys.PrivateKeyInfo:
    """PKCS#8 form of a key, for pyHanko APIs that insist on it (the built-in TSA)."""
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return asn1_keys.PrivateKeyInfo.load(der)


def write_file(path: Path, data: bytes, mode: int) -> None:
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


def write_key(path: Path, key: PrivateKey, passphrase: bytes | None = None) -> None:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    write_file(path, pem, 0o600)


def write_cert(path: Path, cert: x509.Certificate) -> None:
    write_file(path, cert.public_bytes(serialization.Encoding.PEM), 0o644)


def distinguished_name(**attrs: str) -> x509.Name:
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


def build_certificate(
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


def crl_location(base: str | None, stem: str) -> str | None:
    return f"{base.rstrip('/')}/{stem}.crl" if base else None


def sign(
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
    responder = sign(
        build_certificate(
            issuer.subject, stand_in.public_key(), issuer=None, lifetime=BACKDATE, ca=False
        ),
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


def empty_crl(
    issuer: x509.Certificate,
    key: SigningKey,
    *,
    next_update: datetime,
    scope: str | None = None,
) -> x509.CertificateRevocationList:
    """An empty CRL of ``issuer``, for the certificates naming ``scope`` as their CRL
    distribution point (all it issued when None): the platform has revoked nothing.

    Signer certificates live minutes and their keys sign once (see
    :class:`.signers.SignerCredential`), so there is nothing to revoke them for; the CRLs
    let a validator prove, at any later time, that the CA and TSA certificates were not
    revoked when they were used. A compromised issuing CA or TSA key is answered by a new
    issuing CA, not a CRL entry.
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
    crl = sign(builder, key)
    assert isinstance(crl, x509.CertificateRevocationList)
    return crl


def good_ocsp(
    cert: x509.Certificate, issuer: x509.Certificate, key: SigningKey, *, next_update: datetime
) -> asn1_ocsp.OCSPResponse:
    """A "good" OCSP response for ``cert``, signed by its issuer itself (RFC 6960 4.2.2.2).

    The platform runs no OCSP responder: these responses are made to be embedded. They give
    each end-entity certificate revocation data of its own, current until just before it
    expires, which is what a validator years later needs (see authority.issue_tsa); pyHanko's past
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
        response = sign(builder.responder_id(ocsp.OCSPResponderEncoding.HASH, issuer), key)
    assert isinstance(response, ocsp.OCSPResponse)
    return asn1_ocsp.OCSPResponse.load(response.public_bytes(serialization.Encoding.DER))


def write_crl(path: Path, crl: x509.CertificateRevocationList) -> None:
    write_file(path, crl.public_bytes(serialization.Encoding.DER), 0o644)


@contextlib.contextmanager
def locked(directory: Path) -> Iterator[None]:
    # Several app workers may start at once; only one must create the CA.
    with open(directory / ".lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def retire(directory: Path, stem: str) -> None:
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
