"""The platform CA: files on disk, idempotence, renewal, and the one-off signer certificates."""

import stat
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.sign.general import SigningError

from agreements import pki

PASSPHRASE = b"correct horse battery staple"


@pytest.fixture(scope="module")
def authority(tmp_path_factory) -> pki.Authority:
    return pki.ensure_authority(
        tmp_path_factory.mktemp("pki"), name="Test Mediation", passphrase=PASSPHRASE
    )


def crypto(cert) -> x509.Certificate:
    return x509.load_der_x509_certificate(cert.dump())


def test_keys_are_private_and_the_root_key_is_encrypted(authority):
    directory = authority.directory
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    for stem in ("root", "issuing", "tsa"):
        assert stat.S_IMODE((directory / f"{stem}.key.pem").stat().st_mode) == 0o600
        assert (directory / f"{stem}.crt.pem").exists()
    root_pem = (directory / "root.key.pem").read_bytes()
    assert b"ENCRYPTED" in root_pem
    with pytest.raises(TypeError):
        serialization.load_pem_private_key(root_pem, None)
    serialization.load_pem_private_key(root_pem, PASSPHRASE)


def test_ensure_is_idempotent_and_needs_no_passphrase_once_set_up(authority):
    again = pki.ensure_authority(authority.directory, name="Test Mediation")
    assert again.root.sha256 == authority.root.sha256
    assert again.issuing.sha256 == authority.issuing.sha256
    assert again.tsa.sha256 == authority.tsa.sha256


def test_chain_root_issuing_tsa(authority):
    root, issuing, tsa = crypto(authority.root), crypto(authority.issuing), crypto(authority.tsa)
    issuing.verify_directly_issued_by(root)
    tsa.verify_directly_issued_by(issuing)
    assert issuing.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 0
    eku = tsa.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    assert tsa.not_valid_after_utc <= issuing.not_valid_after_utc <= root.not_valid_after_utc


def test_signer_certificate_names_the_signer_and_lives_minutes(authority):
    credential = pki.issue_signer(
        authority, common_name="张三", role="party", document_ref="AGR-2026-7", signer_id="u-42"
    )
    cert = crypto(credential.certificate)
    subject = cert.subject
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "张三"
    assert subject.get_attributes_for_oid(NameOID.TITLE)[0].value == "party"
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == "AGR-2026-7"
    assert subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == "u-42"
    assert timedelta(0) < cert.not_valid_after_utc - datetime.now(UTC) <= timedelta(minutes=10)
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.content_commitment
    assert not usage.value.key_cert_sign
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    issuing = crypto(authority.issuing)
    ski = issuing.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    cert.verify_directly_issued_by(issuing)
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    assert cert.public_key().curve.name == "secp256r1"
    # the chain a validator needs travels with the signer
    assert {c.sha256 for c in credential.cert_registry} >= {authority.issuing.sha256}


def test_each_credential_has_its_own_key(authority):
    a = pki.issue_signer(authority, common_name="A", role="party", document_ref="D")
    b = pki.issue_signer(authority, common_name="A", role="party", document_ref="D")
    assert a.certificate.public_key.dump() != b.certificate.public_key.dump()
    assert a.certificate.serial_number != b.certificate.serial_number


def test_a_destroyed_credential_cannot_sign(authority):
    with pki.issue_signer(authority, common_name="A", role="party", document_ref="D") as cred:
        signer = cred.signer()
        assert signer.sign_raw(b"data", "sha256")
    assert cred.destroyed
    with pytest.raises(SigningError):
        signer.sign_raw(b"data", "sha256")


def test_signer_signature_verifies_with_the_certificate_key(authority):
    cred = pki.issue_signer(authority, common_name="A", role="party", document_ref="D")
    signature = cred.signer().sign_raw(b"data", "sha256")
    crypto(cred.certificate).public_key().verify(signature, b"data", ec.ECDSA(hashes.SHA256()))


def test_signer_id_must_fit_a_printable_string(authority):
    with pytest.raises(ValueError, match="PrintableString"):
        pki.issue_signer(
            authority, common_name="A", role="party", document_ref="D", signer_id="user_1"
        )


def test_issuing_ca_is_renewed_with_the_root_key_and_old_files_retired(tmp_path, monkeypatch):
    first = pki.ensure_authority(tmp_path, name="Renewal", passphrase=PASSPHRASE)
    monkeypatch.setattr(pki.authority, "RENEW_BEFORE", timedelta(days=100 * 365))
    renewed = pki.ensure_authority(tmp_path, name="Renewal", passphrase=PASSPHRASE)
    assert renewed.root.sha256 == first.root.sha256
    assert renewed.issuing.sha256 != first.issuing.sha256
    assert renewed.tsa.sha256 != first.tsa.sha256
    retired = sorted(p.name for p in (tmp_path / "retired").iterdir())
    serial = format(first.issuing.serial_number, "x")
    assert f"issuing-{serial}.crt.pem" in retired
    assert f"issuing-{serial}.key.pem" in retired


def test_only_the_current_issuing_cas_signer_serials_get_a_published_crl(tmp_path, monkeypatch):
    first = pki.ensure_authority(tmp_path, name="Renewal", passphrase=PASSPHRASE)
    credential = pki.issue_signer(first, common_name="A", role="party", document_ref="D")
    serial = credential.certificate.serial_number
    published = pki.published_signer_crl(first, serial)
    assert published == credential.crls[0].dump()  # the one made at issuance, not signed again
    assert pki.published_signer_crl(first, serial + 1) is None
    monkeypatch.setattr(pki.authority, "RENEW_BEFORE", timedelta(days=100 * 365))
    renewed = pki.ensure_authority(tmp_path, name="Renewal", passphrase=PASSPHRASE)
    # The new issuing CA does not sign for a certificate of the one it replaced.
    assert pki.published_signer_crl(renewed, serial) is None


def test_without_the_root_key_an_existing_issuing_ca_still_loads(tmp_path, monkeypatch):
    first = pki.ensure_authority(tmp_path, name="Offline", passphrase=PASSPHRASE)
    (tmp_path / "root.key.pem").unlink()  # the root key went offline
    monkeypatch.setattr(pki.authority, "RENEW_BEFORE", timedelta(days=100 * 365))
    again = pki.ensure_authority(tmp_path, name="Offline")
    assert again.issuing.sha256 == first.issuing.sha256


def test_a_key_that_does_not_match_its_certificate_is_refused(tmp_path):
    pki.ensure_authority(tmp_path / "a", name="A")
    pki.ensure_authority(tmp_path / "b", name="A")
    (tmp_path / "a" / "tsa.key.pem").write_bytes((tmp_path / "b" / "tsa.key.pem").read_bytes())
    with pytest.raises(ValueError, match="does not match"):
        pki.load_authority(tmp_path / "a")
