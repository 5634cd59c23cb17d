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

from agreements import keys

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
# What signs certificates, CRLs and timestamps: a key in a file, or one in the token.
SigningKey: TypeAlias = PrivateKey | keys.TokenKey
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


def _sign(
    builder: keys.Builder, key: SigningKey
) -> x509.Certificate | x509.CertificateRevocationList:
    """Sign a certificate or CRL builder with a software key or a key in the token."""
    is_ec = isinstance(key.public_key(), ec.EllipticCurvePublicKey)
    algorithm = hashes.SHA384() if is_ec else hashes.SHA256()
    if isinstance(key, keys.TokenKey):
        return keys.sign_builder(builder, key, algorithm)
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
) -> Authority:
    """Create whatever part of the CA is missing or due for renewal, then load it.

    Idempotent. ``passphrase`` encrypts a new root key and decrypts an existing one; it is
    needed only when the issuing CA has to be created or renewed. ``token`` keeps the
    issuing CA's and the TSA's keys in a PKCS#11 token. Without ``create_root`` (production)
    a missing root is an error telling the operator how to make one offline.
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
                _issue_issuing_ca(directory, root, root_key, name, token)
                del root_key  # the root key's only job is done
        issuing = x509.load_pem_x509_certificate(issuing_crt.read_bytes())

        if _needs_issue(directory / "tsa.crt.pem", issuing) or _key_missing(
            directory, "tsa", token
        ):
            _issue_tsa(directory, issuing, name, token)
    return load_authority(directory, token=token)


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
) -> x509.Certificate:
    label = token.config.issuing_label if token else ""
    key, key_path = _new_key(directory, "issuing", token, label, rsa_bits=None)
    builder = _build(
        _name(o=name, cn=f"{name} Issuing CA"),
        key.public_key(),
        issuer=root,
        lifetime=ISSUING_LIFETIME,
        ca=True,
        path_length=0,
    )
    cert = _sign(builder, root_key)
    _retire(directory, "issuing")
    _retire(directory, "tsa")  # a TSA certificate must not outlive its issuer
    if key_path is not None:
        assert not isinstance(key, keys.TokenKey)
        _write_key(key_path, key)
    _write_cert(directory / "issuing.crt.pem", cert)
    return cert


def _issue_tsa(
    directory: Path, issuing: x509.Certificate, name: str, token: keys.Token | None = None
) -> None:
    issuing_key = _online_key(directory, "issuing", issuing, token)
    # pyHanko's in-process timestamper signs with RSA PKCS#1 v1.5 only.
    label = token.config.tsa_label if token else ""
    key, key_path = _new_key(directory, "tsa", token, label, rsa_bits=3072)
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
    if key_path is not None:
        assert not isinstance(key, keys.TokenKey)
        _write_key(key_path, key)
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


def load_authority(directory: Path, *, token: keys.Token | None = None) -> Authority:
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
        issuing = _issue_issuing_ca(directory, root, root_key, name, token)
        # HOOK(crl): the root's CRL (revoking nothing, or the replaced issuing CA) is made
        # here, while the root key is at hand: ``_sign(crl_builder, root_key)``.
        del root_key
        _issue_tsa(directory, issuing, name, token)
    return load_authority(directory, token=token)


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
