"""The authority itself: the root (made here in development and the demo), the online
issuing CA and the TSA, made or renewed when due (:func:`ensure_authority`), and loaded
(:func:`load_authority`). The directory's layout is in :mod:`agreements.pki`."""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from agreements import keys

from .certificates import (
    CRL_MARGIN,
    PrivateKey,
    SigningKey,
    build_certificate,
    crl_location,
    distinguished_name,
    empty_crl,
    good_ocsp,
    locked,
    retire,
    sign,
    to_asn1,
    write_cert,
    write_crl,
    write_file,
    write_key,
)

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

_FILES = ("root", "issuing", "tsa")


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


def new_root(name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP384R1())
    subject = distinguished_name(o=name, cn=f"{name} Root CA")
    builder = build_certificate(
        subject, key.public_key(), issuer=None, lifetime=ROOT_LIFETIME, ca=True, path_length=1
    )
    return key, sign(builder, key)


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
    one offline. ``crl_base`` is the URL under which :func:`.revocation.crl_files` are published;
    certificates issued from now on name it.
    """
    directory = Path(directory)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    with locked(directory):
        root_crt, root_key_path = directory / "root.crt.pem", directory / "root.key.pem"
        if not root_crt.exists():
            if not create_root:
                raise RootMissingError(
                    f"No root CA in {directory}. Create it offline with `mediation pki "
                    "init-root DIR` on a separate machine, then run `mediation pki issue-ca "
                    "DIR` here; the platform never creates its root in production."
                )
            key, cert = new_root(name)
            write_key(root_key_path, key, passphrase)
            write_cert(root_crt, cert)
            retire(directory, "issuing")  # anything left over belongs to another root
            retire(directory, "tsa")
        root = x509.load_pem_x509_certificate(root_crt.read_bytes())

        issuing_crt = directory / "issuing.crt.pem"
        if needs_issue(issuing_crt, root) or _key_missing(directory, "issuing", token):
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
                issue_issuing_ca(directory, root, root_key, name, token, crl_base)
                del root_key  # the root key's only job is done
        elif _root_crl_due(directory, root) and root_key_path.exists():
            _issue_root_crl(directory, root, root_key_path, passphrase)
        issuing = x509.load_pem_x509_certificate(issuing_crt.read_bytes())

        if needs_issue(directory / "tsa.crt.pem", issuing) or _key_missing(directory, "tsa", token):
            issue_tsa(directory, issuing, name, token, crl_base)
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


def needs_issue(path: Path, issuer: x509.Certificate) -> bool:
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
    write_crl(
        directory / "root.crl",
        empty_crl(root, root_key, next_update=issuing.not_valid_after_utc - CRL_MARGIN),
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


def issue_issuing_ca(
    directory: Path,
    root: x509.Certificate,
    root_key: PrivateKey,
    name: str,
    token: keys.Token | None = None,
    crl_base: str | None = None,
) -> x509.Certificate:
    label = token.config.issuing_label if token else ""
    key, key_path = _new_key(directory, "issuing", token, label, rsa_bits=None)
    builder = build_certificate(
        # Each generation has a name of its own: validators find a CRL's issuer, and a
        # certificate's, by name first, and one name for two keys sends them down the
        # wrong (often expired) path when old timestamps are checked years later.
        distinguished_name(
            o=name, cn=f"{name} Issuing CA", serial=datetime.now(UTC).strftime("G%Y%m%d%H%M%S")
        ),
        key.public_key(),
        issuer=root,
        lifetime=ISSUING_LIFETIME,
        ca=True,
        path_length=0,
        crl_url=crl_location(crl_base, "root"),
    )
    cert = sign(builder, root_key)
    assert isinstance(cert, x509.Certificate)
    _write_root_crl(directory, root, root_key, cert)
    retire(directory, "issuing")
    retire(directory, "tsa")  # a TSA certificate must not outlive its issuer
    if key_path is not None:
        assert not isinstance(key, keys.TokenKey)
        write_key(key_path, key)
    write_cert(directory / "issuing.crt.pem", cert)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(directory / "issuing.crl")  # the old CA's
    return cert


def issue_tsa(
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
    crl_url = crl_location(crl_base, tsa_stem(serial))
    builder = build_certificate(
        distinguished_name(o=name, cn=f"{name} Timestamp Authority"),
        key.public_key(),
        issuer=issuing,
        lifetime=TSA_LIFETIME,
        ca=False,
        crl_url=crl_url,
        serial=serial,
        # RFC 3161 2.3: the TSA certificate has exactly one EKU, timeStamping, marked critical.
    ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
    cert = sign(builder, issuing_key)
    assert isinstance(cert, x509.Certificate)
    retire(directory, "tsa")
    if key_path is not None:
        assert not isinstance(key, keys.TokenKey)
        write_key(key_path, key)
    write_cert(directory / "tsa.crt.pem", cert)
    write_tsa_crl(directory, cert, issuing, issuing_key, crl_base)


def tsa_stem(serial: int) -> str:
    return f"tsa-{serial:x}"


def write_tsa_crl(
    directory: Path,
    tsa: x509.Certificate,
    issuing: x509.Certificate,
    issuing_key: SigningKey,
    crl_base: str | None,
) -> None:
    stem = tsa_stem(tsa.serial_number)
    crl = empty_crl(
        issuing,
        issuing_key,
        next_update=tsa.not_valid_after_utc - CRL_MARGIN,
        scope=crl_location(crl_base, stem),
    )
    write_crl(directory / f"{stem}.crl", crl)
    response = good_ocsp(
        tsa, issuing, issuing_key, next_update=tsa.not_valid_after_utc - CRL_MARGIN
    )
    write_file(directory / f"{stem}.ocsp", response.dump(), 0o644)


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
