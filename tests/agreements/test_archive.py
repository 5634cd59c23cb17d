"""The signing-time validation context remembers signatures that verified, never failures."""

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto.algos import SignedDigestAlgorithm
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from agreements import archive


def _signed(data: bytes):
    key = ec.generate_private_key(ec.SECP384R1())
    info = asn1_keys.PublicKeyInfo.load(
        key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    algorithm = SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"})
    return key.sign(data, ec.ECDSA(hashes.SHA256())), info, algorithm


def test_a_remembered_signature_vouches_for_those_bytes_only():
    checker = archive._RememberedSignatures()
    signature, key, algorithm = _signed(b"issuing CA's CRL")
    checker.validate_signature(signature, b"issuing CA's CRL", key, algorithm)
    checker.validate_signature(signature, b"issuing CA's CRL", key, algorithm)  # remembered
    assert len(checker._valid) == 1
    with pytest.raises(InvalidSignature):
        checker.validate_signature(signature, b"another CRL", key, algorithm)
    other_signature, other_key, _ = _signed(b"issuing CA's CRL")
    with pytest.raises(InvalidSignature):
        checker.validate_signature(signature, b"issuing CA's CRL", other_key, algorithm)
    with pytest.raises(InvalidSignature):
        checker.validate_signature(other_signature, b"issuing CA's CRL", key, algorithm)


def test_a_failure_is_checked_again_every_time():
    checker = archive._RememberedSignatures()
    signature, key, algorithm = _signed(b"data")
    forged = bytes(signature[:-1]) + bytes([signature[-1] ^ 1])
    for _ in range(2):
        with pytest.raises((InvalidSignature, ValueError)):
            checker.validate_signature(forged, b"data", key, algorithm)
    assert not checker._valid


def test_it_keeps_a_bounded_number(monkeypatch):
    checker = archive._RememberedSignatures()
    monkeypatch.setattr(archive._RememberedSignatures, "_LIMIT", 3)
    for n in range(5):
        data = f"CRL {n}".encode()
        signature, key, algorithm = _signed(data)
        checker.validate_signature(signature, data, key, algorithm)
    assert len(checker._valid) <= 3


def test_pyhankos_warning_that_nothing_is_fetched_is_dropped_and_only_that(caplog):
    import logging

    # agreements.archive (imported above) installs the filter.
    log = logging.getLogger("pyhanko.sign.signers.pdf_signer")
    with caplog.at_level(logging.WARNING, logger=log.name):
        log.warning(
            "Validation/revocation info will be embedded, but fetching is not allowed. "
            "This may give rise to unexpected results."
        )
        log.warning("Some other warning")
    assert [record.getMessage() for record in caplog.records] == ["Some other warning"]
