"""The offline root (production): made on a machine of its own (:func:`init_root`), and
used there only to issue or renew the online issuing CA (:func:`issue_ca`); the platform
refuses to start while an unencrypted root key lies in its directory
(:func:`unencrypted_root_key`)."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from agreements import keys

from .authority import Authority, issue_issuing_ca, issue_tsa, load_authority, new_root
from .certificates import (
    locked,
    retire,
    write_cert,
    write_key,
)


def init_root(directory: Path, *, name: str, passphrase: bytes) -> x509.Certificate:
    """Make the root CA on an offline machine: ``root.crt.pem`` and ``root.key.pem``, the
    key encrypted with ``passphrase``. Refuses to overwrite an existing root."""
    if not passphrase:
        raise ValueError("the root key must be encrypted: give a passphrase")
    directory = Path(directory)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if (directory / "root.crt.pem").exists() or (directory / "root.key.pem").exists():
        raise FileExistsError(f"{directory} already holds a root; it is never overwritten")
    key, cert = new_root(name)
    write_key(directory / "root.key.pem", key, passphrase)
    write_cert(directory / "root.crt.pem", cert)
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
    with locked(directory):
        current = directory / "root.crt.pem"
        if current.exists() and current.read_bytes() != root_pem:
            retire(directory, "root")
        if not current.exists():
            write_cert(current, root)
        # The root's CRL is signed with it, while the root key is at hand.
        issuing = issue_issuing_ca(directory, root, root_key, name, token, crl_base)
        del root_key
        issue_tsa(directory, issuing, name, token, crl_base)
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
