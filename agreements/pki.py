"""The platform's own certificate authority: root CA, issuing CA, TSA, signer certificates.

Layout of the directory passed to :func:`ensure_authority` (the app uses ``instance/pki/``)::

    root.crt.pem     root.key.pem     self-signed; key only creates/renews the issuing CA
    issuing.crt.pem  issuing.key.pem  online CA issuing signer and TSA certificates
    tsa.crt.pem      tsa.key.pem      RFC 3161 TSA certificate (EKU timeStamping, critical)
    retired/                          certificates and keys replaced by a renewal

Keys are written with mode 0600; the root key is encrypted when a passphrase is given. The
root key is never loaded into :class:`Authority`: it is read only while the issuing CA is
created or renewed, so that in production it can live offline (remove ``root.key.pem`` after
setup, restore it to renew).
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

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers import Signer
from pyhanko_certvalidator.registry import SimpleCertificateStore

log = logging.getLogger(__name__)

ROOT_LIFETIME = timedelta(days=20 * 365)
ISSUING_LIFETIME = timedelta(days=5 * 365)
TSA_LIFETIME = timedelta(days=2 * 365)
# Renew early so that a signer or TSA certificate never outlives the CA that issued it.
RENEW_BEFORE = timedelta(days=90)
# Tolerates small clock differences between the app servers and a validator.
BACKDATE = timedelta(minutes=1)

_FILES = ("root", "issuing", "tsa")
# RFC 5280 requires PrintableString for serialNumber; refuse anything it cannot carry.
_PRINTABLE = re.compile(r"[A-Za-z0-9 '()+,\-./:=?]+")

PrivateKey: TypeAlias = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass(frozen=True)
class Authority:
    """The loaded CA: certificates as asn1crypto objects (what pyHanko uses), online keys."""

    directory: Path
    root: asn1_x509.Certificate
    issuing: asn1_x509.Certificate
    issuing_key: ec.EllipticCurvePrivateKey = field(repr=False)
    tsa: asn1_x509.Certificate
    tsa_key: rsa.RSAPrivateKey = field(repr=False)

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
        .serial_number(x509.random_serial_number())
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
    return builder.add_extension(aki, critical=False)


def _sign(builder: x509.CertificateBuilder, key: PrivateKey) -> x509.Certificate:
    algorithm = hashes.SHA384() if isinstance(key, ec.EllipticCurvePrivateKey) else hashes.SHA256()
    return builder.sign(key, algorithm)


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


def ensure_authority(directory: Path, *, name: str, passphrase: bytes | None = None) -> Authority:
    """Create whatever part of the CA is missing or due for renewal, then load it.

    Idempotent. ``passphrase`` encrypts a new root key and decrypts an existing one; it is
    needed only when the issuing CA has to be created or renewed.
    """
    directory = Path(directory)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    with _locked(directory):
        root_crt, root_key_path = directory / "root.crt.pem", directory / "root.key.pem"
        if not root_crt.exists():
            key = ec.generate_private_key(ec.SECP384R1())
            subject = _name(o=name, cn=f"{name} Root CA")
            cert = _sign(
                _build(
                    subject,
                    key.public_key(),
                    issuer=None,
                    lifetime=ROOT_LIFETIME,
                    ca=True,
                    path_length=1,
                ),
                key,
            )
            _write_key(root_key_path, key, passphrase)
            _write_cert(root_crt, cert)
            _retire(directory, "issuing")  # anything left over belongs to another root
            _retire(directory, "tsa")
        root = x509.load_pem_x509_certificate(root_crt.read_bytes())

        issuing_crt = directory / "issuing.crt.pem"
        if _needs_issue(issuing_crt, root):
            if not root_key_path.exists():
                if issuing_crt.exists() and not _expired(issuing_crt):
                    log.warning("The issuing CA is due for renewal; restore root.key.pem")
                else:
                    raise FileNotFoundError(f"{root_key_path} is needed to issue the issuing CA")
            else:
                _issue_issuing_ca(directory, root, root_key_path, name, passphrase)
        issuing = x509.load_pem_x509_certificate(issuing_crt.read_bytes())

        if _needs_issue(directory / "tsa.crt.pem", issuing):
            _issue_tsa(directory, issuing, name)
    return load_authority(directory)


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


def _issue_issuing_ca(
    directory: Path,
    root: x509.Certificate,
    root_key_path: Path,
    name: str,
    passphrase: bytes | None,
) -> None:
    root_key = serialization.load_pem_private_key(root_key_path.read_bytes(), passphrase)
    assert isinstance(root_key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey)
    key = ec.generate_private_key(ec.SECP384R1())
    builder = _build(
        _name(o=name, cn=f"{name} Issuing CA"),
        key.public_key(),
        issuer=root,
        lifetime=ISSUING_LIFETIME,
        ca=True,
        path_length=0,
    )
    cert = _sign(builder, root_key)
    del root_key  # the root key's only job is done
    _retire(directory, "issuing")
    _retire(directory, "tsa")  # a TSA certificate must not outlive its issuer
    _write_key(directory / "issuing.key.pem", key)
    _write_cert(directory / "issuing.crt.pem", cert)


def _issue_tsa(directory: Path, issuing: x509.Certificate, name: str) -> None:
    issuing_key = _load_key(directory / "issuing.key.pem")
    # pyHanko's in-process timestamper signs with RSA PKCS#1 v1.5 only.
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    builder = _build(
        _name(o=name, cn=f"{name} Timestamp Authority"),
        key.public_key(),
        issuer=issuing,
        lifetime=TSA_LIFETIME,
        ca=False,
        # RFC 3161 2.3: the TSA certificate has exactly one EKU, timeStamping, marked critical.
    ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
    cert = _sign(builder, issuing_key)
    _retire(directory, "tsa")
    _write_key(directory / "tsa.key.pem", key)
    _write_cert(directory / "tsa.crt.pem", cert)


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


def load_authority(directory: Path) -> Authority:
    """Load an existing CA without creating anything (the root key is not read)."""
    directory = Path(directory)
    certs = {
        stem: x509.load_pem_x509_certificate((directory / f"{stem}.crt.pem").read_bytes())
        for stem in _FILES
    }
    # A mismatched file (e.g. restored from another backup) would produce signatures that
    # no validator accepts; fail loudly here instead.
    certs["issuing"].verify_directly_issued_by(certs["root"])
    certs["tsa"].verify_directly_issued_by(certs["issuing"])
    issuing_key = _load_key(directory / "issuing.key.pem")
    tsa_key = _load_key(directory / "tsa.key.pem")
    for stem, key in (("issuing", issuing_key), ("tsa", tsa_key)):
        if key.public_key() != certs[stem].public_key():
            raise ValueError(f"{stem}.key.pem does not match {stem}.crt.pem")
    assert isinstance(issuing_key, ec.EllipticCurvePrivateKey)
    assert isinstance(tsa_key, rsa.RSAPrivateKey)
    return Authority(
        directory=directory,
        root=to_asn1(certs["root"]),
        issuing=to_asn1(certs["issuing"]),
        issuing_key=issuing_key,
        tsa=to_asn1(certs["tsa"]),
        tsa_key=tsa_key,
    )


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
    ) -> None:
        self.certificate = certificate
        self._private_key: ec.EllipticCurvePrivateKey | None = private_key
        self.cert_registry = SimpleCertificateStore.from_certs([certificate, *chain])

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
    builder = _build(
        _name(ou=document_ref, title=role, serial=signer_id or "", cn=common_name),
        key.public_key(),
        issuer=issuing,
        lifetime=valid_for,
        ca=False,
    )
    # No extendedKeyUsage: NSS (pdfsig, Firefox) and Acrobat accept a signer certificate
    # without one, whereas a "wrong" EKU makes them reject it.
    cert = _sign(builder, authority.issuing_key)
    return SignerCredential(to_asn1(cert), key, authority.chain)
