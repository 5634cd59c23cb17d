"""Keys that live in a PKCS#11 token (a hardware security module; SoftHSM2 in development).

What the token holds, when ``MEDIATION_PKCS11_MODULE`` is set (see :mod:`agreements.pki`):

- the issuing CA's key (label ``issuing-ca``): signs signer and TSA certificates and CRLs;
- the TSA's key (label ``tsa``): signs RFC 3161 timestamp tokens;
- one **seal key** per mediation institution (label ``seal-<institution id>``): a long-lived
  key with a certificate from the issuing CA naming the institution (CN = its name,
  title = ``institution``, serialNumber = ``institution-<id>``). It replaces the one-off key
  of the institution's signature, so that every agreement an institution sealed carries the
  same key, as its physical seal would (People's Mediation Law art 29: the institution
  seals the agreement). The platform uses it only for the institution's turn, after its
  seal holder authenticated with a one-time code; it never leaves the token (Electronic
  Signature Law art 13 (2): the signature creation data under the signer's control, and
  art 15: kept safely);
- the package signer's key (label ``package-signer``): signs court packages' manifests.

A seal cannot yet be revoked. Its certificate names no CRL distribution point and no OCSP
responder, every CRL the issuing CA signs is empty
(``agreements.pki.certificates.empty_crl``), and nothing records a revoked serial; so when a
seal key is, or may be, compromised (Electronic Signature Law art 15: tell the parties
concerned and stop using it), a validator has no way to learn it and the certificate stays
valid until it expires (``LONG_LIVED_LIFETIME``, a year) or its issuing CA does. Missing for
``mediation pki revoke-seal INSTITUTION``: (1) a record of revoked serials in the PKI
directory (serial, revocation time, reason keyCompromise); (2) a CRL partition for seal
certificates (e.g. ``seals.crl``), named in their CRL distribution point, whose entries come
from that record, re-signed at once on a revocation; (3) embedding that partition with every
seal signature and checking that pyHanko's past validation
(tests/agreements/test_long_term.py) still accepts seals made before the revocation time;
(4) the command itself, which records the serial, removes ``signers/seal-<id>.crt.pem`` and
the key from the token, so that the next seal gets a new key. Until then: remove the
certificate and the key by hand (a new key is made on the next seal) and tell relying courts
the old certificate's serial out of band.

The root key is never in the token nor on the platform: it is made offline
(``mediation pki init-root``) and used once per issuing CA (``mediation pki issue-ca``).

Keys are generated in the token as non-extractable, sensitive objects. A key is found by
its CKA_ID, which is its certificate's subjectKeyIdentifier (the usual convention), so a
renewed CA key may share the label of the one it replaces. Certificates stay files in the
PKI directory: only private keys are secret.

Certificates and CRLs are made by ``cryptography``'s builders; a builder can only sign with
a software key, so :func:`sign_builder` lets it serialise the to-be-signed part with a
stand-in key of the same kind (which fixes nothing but the signature algorithm identifier),
has the token sign those bytes and assembles the result from asn1crypto's types.
PDF signatures with a token key go through pyHanko's :class:`~pyhanko.sign.pkcs11.PKCS11Signer`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TypeAlias

import pkcs11
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.util.ec import (
    encode_ec_public_key,
    encode_ecdsa_signature,
    encode_named_curve_parameters,
)
from pkcs11.util.rsa import encode_rsa_public_key
from pyhanko.sign.pkcs11 import PKCS11Signer
from pyhanko.sign.signers import Signer
from pyhanko_certvalidator.registry import SimpleCertificateStore

PublicKey: TypeAlias = ec.EllipticCurvePublicKey | rsa.RSAPublicKey
Builder: TypeAlias = x509.CertificateBuilder | x509.CertificateRevocationListBuilder

# RSA with the hash done by the token; ECDSA on a digest made here (SoftHSM2 and many HSMs
# have no CKM_ECDSA_SHA384).
_RSA_MECHANISMS = {
    "sha256": Mechanism.SHA256_RSA_PKCS,
    "sha384": Mechanism.SHA384_RSA_PKCS,
    "sha512": Mechanism.SHA512_RSA_PKCS,
}


class TokenError(RuntimeError):
    """The token is missing, locked, or lacks a key the configuration names."""


@dataclass(frozen=True)
class TokenConfig:
    """Where the keys are: the module, the token (label, or slot number) and its user PIN."""

    module: str
    pin: str = field(repr=False)
    token_label: str | None = None
    slot: int | None = None
    issuing_label: str = "issuing-ca"
    tsa_label: str = "tsa"
    package_label: str = "package-signer"
    seal_prefix: str = "seal-"


class Token:
    """One logged-in session per process; every use takes the lock (a PKCS#11 session runs
    one operation at a time). PDF signatures get sessions of their own, which share the
    login (PKCS#11 logs in an application, not a session)."""

    def __init__(self, config: TokenConfig) -> None:
        self.config = config
        self._lock = threading.RLock()
        self._session: pkcs11.Session | None = None
        self._pid: int | None = None

    def _token(self) -> pkcs11.Token:
        lib = pkcs11.lib(self.config.module)
        if self._pid not in (None, os.getpid()):
            lib.reinitialize()  # a forked worker must not reuse its parent's module state
            self._session = None
        try:
            if self.config.slot is not None:
                slot = next(s for s in lib.get_slots() if s.slot_id == self.config.slot)
                return slot.get_token()
            return lib.get_token(token_label=self.config.token_label)
        except (StopIteration, pkcs11.PKCS11Error) as e:
            which = self.config.token_label or f"slot {self.config.slot}"
            raise TokenError(f"PKCS#11 token {which} not found: {e}") from e

    @contextmanager
    def session(self) -> Iterator[pkcs11.Session]:
        with self._lock:
            if self._session is None or self._pid != os.getpid():
                token = self._token()
                try:
                    self._session = token.open(rw=True, user_pin=self.config.pin)
                except pkcs11.UserAlreadyLoggedIn:
                    # Another Token object of this process logged in (PKCS#11 logs in the
                    # application, not a session): its login serves this one too.
                    self._session = token.open(rw=True)
                except pkcs11.PKCS11Error as e:
                    raise TokenError(f"cannot log in to token {token.label}: {e!r}") from e
                self._pid = os.getpid()
            yield self._session

    def open_session(self) -> pkcs11.Session:
        """A session of its own (no login of its own) for one pyHanko signature."""
        with self.session():  # makes sure the application is logged in
            return self._token().open()

    def key(self, key_id: bytes) -> TokenKey | None:
        """The private key whose CKA_ID is ``key_id`` (a certificate's SKI), or None."""
        with self.session() as session:
            query = {Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.ID: key_id}
            found = list(session.get_objects(query))
            if not found:
                return None
            public = _public_key_of(session, key_id)
        return TokenKey(self, key_id, public, found[0][Attribute.LABEL])

    def key_for(self, certificate: x509.Certificate) -> TokenKey | None:
        ski = certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        found = self.key(ski.digest)
        if found is not None and found.public_key() != certificate.public_key():
            raise TokenError(f"token key {found.label} does not match {certificate.subject}")
        return found

    def generate(self, label: str, *, rsa_bits: int | None = None) -> TokenKey:
        """A new key pair in the token: ECDSA P-384, or RSA of ``rsa_bits`` (the TSA, as
        pyHanko's timestamp responder writes RSA PKCS#1 v1.5 only)."""
        private_template = {Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False}
        with self.session() as session:
            if rsa_bits:
                pub, priv = session.generate_keypair(
                    KeyType.RSA, rsa_bits, store=True, label=label,
                    private_template=private_template,
                )  # fmt: skip
            else:
                params = session.create_domain_parameters(
                    KeyType.EC,
                    {Attribute.EC_PARAMS: encode_named_curve_parameters("secp384r1")},
                    local=True,
                )
                pub, priv = params.generate_keypair(
                    store=True, label=label, private_template=private_template
                )
            public = _to_crypto_public(pub)
            key_id = x509.SubjectKeyIdentifier.from_public_key(public).digest
            pub[Attribute.ID] = priv[Attribute.ID] = key_id
        return TokenKey(self, key_id, public, label)


def _public_key_of(session: pkcs11.Session, key_id: bytes) -> PublicKey:
    query = {Attribute.CLASS: ObjectClass.PUBLIC_KEY, Attribute.ID: key_id}
    objs = list(session.get_objects(query))
    if not objs:
        raise TokenError(f"no public key with id {key_id.hex()} in the token")
    return _to_crypto_public(objs[0])


def _to_crypto_public(obj: pkcs11.PublicKey) -> PublicKey:
    der = encode_rsa_public_key(obj) if obj.key_type == KeyType.RSA else encode_ec_public_key(obj)
    public = serialization.load_der_public_key(der)
    assert isinstance(public, ec.EllipticCurvePublicKey | rsa.RSAPublicKey)
    return public


class TokenKey:
    """A private key in the token, as far as this platform uses one: its public key, and
    signatures over data (DER ECDSA, or RSA PKCS#1 v1.5)."""

    def __init__(self, token: Token, key_id: bytes, public: PublicKey, label: str) -> None:
        self.token, self.key_id, self._public, self.label = token, key_id, public, label

    def __repr__(self) -> str:
        return f"<TokenKey {self.label} {self.key_id.hex()[:12]}>"

    def public_key(self) -> PublicKey:
        return self._public

    @property
    def is_ec(self) -> bool:
        return isinstance(self._public, ec.EllipticCurvePublicKey)

    def sign(self, data: bytes, digest_algorithm: str) -> bytes:
        algorithm = digest_algorithm.lower()
        with self.token.session() as session:
            handle = session.get_key(object_class=ObjectClass.PRIVATE_KEY, id=self.key_id)
            if self.is_ec:
                digest = hashes.Hash(getattr(hashes, algorithm.upper())())
                digest.update(data)
                raw = handle.sign(digest.finalize(), mechanism=Mechanism.ECDSA)
                return encode_ecdsa_signature(raw)
            return handle.sign(data, mechanism=_RSA_MECHANISMS[algorithm])

    def pdf_signer(
        self, session: pkcs11.Session, certificate: asn1_x509.Certificate, chain
    ) -> Signer:
        return PKCS11Signer(
            session,
            key_id=self.key_id,
            signing_cert=certificate,
            ca_chain=chain,
            use_raw_mechanism=self.is_ec,
            embed_roots=True,
        )


# --- certificates and CRLs signed in the token ------------------------------------------------


@cache
def _stand_in(kind: str) -> ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey:
    # Only its type reaches the result (the AlgorithmIdentifier); its signature is discarded.
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def sign_builder(
    builder: Builder, key: TokenKey, algorithm: hashes.HashAlgorithm
) -> x509.Certificate | x509.CertificateRevocationList:
    """``builder.sign(key, algorithm)`` for a key in the token."""
    draft = builder.sign(_stand_in("ec" if key.is_ec else "rsa"), algorithm)
    der = draft.public_bytes(serialization.Encoding.DER)
    if isinstance(draft, x509.Certificate):
        parsed = asn1_x509.Certificate.load(der)
        tbs = parsed["tbs_certificate"].dump()
        result = asn1_x509.Certificate(
            {
                "tbs_certificate": parsed["tbs_certificate"],
                "signature_algorithm": parsed["signature_algorithm"],
                "signature_value": key.sign(tbs, algorithm.name),
            }
        ).dump()
        signed = x509.load_der_x509_certificate(result)
        check = signed.tbs_certificate_bytes
    else:
        parsed_crl = asn1_crl.CertificateList.load(der)
        tbs = parsed_crl["tbs_cert_list"].dump()
        result = asn1_crl.CertificateList(
            {
                "tbs_cert_list": parsed_crl["tbs_cert_list"],
                "signature_algorithm": parsed_crl["signature_algorithm"],
                "signature": key.sign(tbs, algorithm.name),
            }
        ).dump()
        signed = x509.load_der_x509_crl(result)
        check = signed.tbs_certlist_bytes
    # What the token signed must verify with the key's public half, before anyone relies on it.
    public = key.public_key()
    if isinstance(public, ec.EllipticCurvePublicKey):
        public.verify(signed.signature, check, ec.ECDSA(algorithm))
    else:
        public.verify(signed.signature, check, padding.PKCS1v15(), algorithm)
    return signed


def sign_data(
    key: TokenKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
    data: bytes,
    digest_algorithm: str,
) -> bytes:
    """A signature over ``data`` with a software or a token key (ECDSA, RSA PKCS#1 v1.5)."""
    if isinstance(key, TokenKey):
        return key.sign(data, digest_algorithm)
    algorithm = getattr(hashes, digest_algorithm.upper())()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(algorithm))
    return key.sign(data, padding.PKCS1v15(), algorithm)


# --- long-lived signers whose key stays in the token -------------------------------------------


class TokenCredential:
    """A certificate whose key is in the token (the seal, the package signer), shaped as
    :class:`agreements.pki.SignerCredential` so that the same signing code takes either.

    :meth:`destroy` ends this use (closes its session); the key itself stays in the token,
    being long-lived by design.
    """

    def __init__(
        self, certificate: asn1_x509.Certificate, key: TokenKey, chain: list[asn1_x509.Certificate]
    ) -> None:
        self.certificate = certificate
        self.key = key
        self.chain = chain
        self.cert_registry = SimpleCertificateStore.from_certs([certificate, *chain])
        self._sessions: list[pkcs11.Session] = []
        self._done = False

    @property
    def destroyed(self) -> bool:
        return self._done

    @property
    def not_after(self) -> datetime:
        return self.certificate["tbs_certificate"]["validity"]["not_after"].native

    def signer(self) -> Signer:
        session = self.key.token.open_session()
        self._sessions.append(session)
        return self.key.pdf_signer(session, self.certificate, self.chain)

    def destroy(self) -> None:
        self._done = True
        while self._sessions:
            self._sessions.pop().close()

    def __enter__(self) -> TokenCredential:
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()


def read_pin(pin: str | None, pin_file: str | None) -> str | None:
    """The PIN given directly, or the first line of ``pin_file`` (a secret mounted as a file)."""
    if pin:
        return pin
    if pin_file:
        return Path(pin_file).read_text().splitlines()[0].strip()
    return None
