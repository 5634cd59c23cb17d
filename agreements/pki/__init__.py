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

The modules, each using only those above it: :mod:`.certificates` (making and writing
certificates, CRLs and OCSP responses), :mod:`.authority` (the root, issuing CA and TSA
made, renewed and loaded), :mod:`.offline` (the offline root), :mod:`.revocation` (the CRLs
and OCSP responses to publish and embed), :mod:`.signers` (per-signature credentials and
the token's long-lived signers).
"""

from .authority import (
    ISSUING_LIFETIME,
    RENEW_BEFORE,
    ROOT_LIFETIME,
    TSA_LIFETIME,
    Authority,
    RootMissingError,
    ensure_authority,
    load_authority,
    load_root,
)
from .certificates import (
    BACKDATE,
    CRL_MARGIN,
    CRL_REFRESH,
    PrivateKey,
    SigningKey,
    private_key_info,
    to_asn1,
)
from .offline import init_root, issue_ca, unencrypted_root_key
from .revocation import crl_files, retired_certificates, validation_crls, validation_ocsps
from .signers import (
    LONG_LIVED_LIFETIME,
    SIGNER_CRLS,
    SignerCredential,
    issue_signer,
    long_lived_signer,
    published_signer_crl,
    signer_crl,
    signer_stem,
)

__all__ = [
    "BACKDATE",
    "CRL_MARGIN",
    "CRL_REFRESH",
    "ISSUING_LIFETIME",
    "LONG_LIVED_LIFETIME",
    "RENEW_BEFORE",
    "ROOT_LIFETIME",
    "SIGNER_CRLS",
    "TSA_LIFETIME",
    "Authority",
    "PrivateKey",
    "RootMissingError",
    "SignerCredential",
    "SigningKey",
    "crl_files",
    "ensure_authority",
    "init_root",
    "issue_ca",
    "issue_signer",
    "load_authority",
    "load_root",
    "long_lived_signer",
    "private_key_info",
    "published_signer_crl",
    "retired_certificates",
    "signer_crl",
    "signer_stem",
    "to_asn1",
    "unencrypted_root_key",
    "validation_crls",
    "validation_ocsps",
]
