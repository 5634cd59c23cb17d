"""Keys the platform does not keep in files: the issuing CA, TSA, seal and package-signing
keys in a PKCS#11 token (SoftHSM2), the root made offline with `mediation pki init-root`
and used once by `mediation pki issue-ca`; production refuses a root key left readable and
never makes a root itself."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from datetime import timedelta

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from agreements import keys, pki
from agreements.verify import verify_pdf
from mediation import create_app
from mediation.agreements import credentials, signing
from mediation.agreements.models import AgreementStatus
from mediation.cli import main
from mediation.config import ConfigurationError
from mediation.court import package as packages
from mediation.court import package_verify

from . import softhsm
from .conftest import agreeing_case, out_for_signing
from .test_workflow import sign_in_turn

PASSPHRASE = "a long passphrase for the root"
pytestmark = pytest.mark.skipif(bool(softhsm.available()), reason=softhsm.available() or "")


@pytest.fixture(scope="module")
def token_config(tmp_path_factory) -> keys.TokenConfig:
    return softhsm.token(tmp_path_factory.mktemp("softhsm"))


@pytest.fixture
def passphrase_file(tmp_path):
    path = tmp_path / "passphrase"
    path.write_text(PASSPHRASE + "\n")
    return path


def init_root(directory, passphrase_file) -> str:
    """`mediation pki init-root` as on the offline machine: no app, no instance."""
    result = CliRunner().invoke(
        main,
        ["pki", "init-root", str(directory), "--passphrase-file", str(passphrase_file)],
        env={"MEDIATION_PKI_NAME": "Test Mediation"},
    )
    assert result.exit_code == 0, result.output
    return result.output


def private_key_files(directory) -> list:
    return [
        p
        for p in directory.rglob("*")
        if p.is_file() and (p.name.endswith(".key.pem") or b"PRIVATE KEY" in p.read_bytes())
    ]


def test_init_root_makes_an_encrypted_root_and_prints_its_fingerprint(tmp_path, passphrase_file):
    offline = tmp_path / "offline"
    output = init_root(offline, passphrase_file)
    cert = x509.load_pem_x509_certificate((offline / "root.crt.pem").read_bytes())
    assert cert.fingerprint(hashes.SHA256()).hex(":").upper() in output
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == (
        "Test Mediation"
    )
    key_pem = (offline / "root.key.pem").read_bytes()
    with pytest.raises(TypeError):  # encrypted
        serialization.load_pem_private_key(key_pem, None)
    serialization.load_pem_private_key(key_pem, PASSPHRASE.encode())
    assert sorted(p.name for p in offline.iterdir()) == ["root.crt.pem", "root.key.pem"]
    # Never overwritten: a second run would orphan everything the first root issued.
    again = CliRunner().invoke(
        main, ["pki", "init-root", str(offline), "--passphrase-file", str(passphrase_file)]
    )
    assert again.exit_code != 0 and "never overwritten" in again.output
    assert (offline / "root.key.pem").read_bytes() == key_pem


def test_init_root_refuses_a_short_passphrase(tmp_path):
    result = CliRunner().invoke(main, ["pki", "init-root", str(tmp_path / "r")], input="x\nx\n")
    assert result.exit_code != 0 and "12 characters" in result.output
    assert not (tmp_path / "r" / "root.key.pem").exists()


def production_app(tmp_path, monkeypatch, **config):
    monkeypatch.setenv("MEDIATION_SECRET_KEY", "k" * 48)
    monkeypatch.setenv("MEDIATION_SMS_GATEWAY", "http")
    monkeypatch.setenv("MEDIATION_SMS_URL", "https://sms.example/send")
    monkeypatch.setenv("MEDIATION_SMTP_HOST", "smtp.example")
    return create_app(
        {
            "ENV_NAME": "production",
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.db'}",
            **config,
        }
    )


def test_production_never_makes_a_root_and_says_how_to(tmp_path, monkeypatch):
    app = production_app(tmp_path, monkeypatch)
    with app.app_context(), pytest.raises(pki.RootMissingError, match="pki init-root"):
        credentials.authority()
    # `mediation run` stops before serving, with the same advice.
    started = app.test_cli_runner().invoke(args=["run", "--no-migrate"])
    assert started.exit_code == 1 and "mediation pki issue-ca" in started.output
    assert not list((tmp_path / "instance" / "pki").glob("*.pem"))


def test_production_refuses_to_start_with_an_unencrypted_root_key(tmp_path, monkeypatch):
    pki_dir = tmp_path / "pki"
    pki.ensure_authority(pki_dir, name="Careless")  # development's way: root key in clear
    with pytest.raises(ConfigurationError, match="unencrypted root key"):
        production_app(tmp_path, monkeypatch, PKI_DIR=str(pki_dir))
    encrypted = tmp_path / "pki2"
    pki.ensure_authority(encrypted, name="Careful", passphrase=b"a passphrase here")
    production_app(tmp_path, monkeypatch, PKI_DIR=str(encrypted))  # starts


def test_production_setup_offline_root_then_issue_ca(tmp_path, monkeypatch, passphrase_file):
    """The documented way: init-root elsewhere, issue-ca on the platform, then it signs."""
    offline = tmp_path / "offline"
    init_root(offline, passphrase_file)
    pki_dir = tmp_path / "pki"
    app = production_app(tmp_path, monkeypatch, PKI_DIR=str(pki_dir), PKI_NAME="Test Mediation")
    runner = app.test_cli_runner()
    wrong = tmp_path / "wrong"
    wrong.write_text("not the passphrase at all\n")
    refused = runner.invoke(
        main, ["pki", "issue-ca", str(offline), "--passphrase-file", str(wrong)]
    )
    assert refused.exit_code != 0 and "cannot use the root" in refused.output
    assert not (pki_dir / "issuing.crt.pem").exists()

    result = runner.invoke(
        main, ["pki", "issue-ca", str(offline), "--passphrase-file", str(passphrase_file)]
    )
    assert result.exit_code == 0, result.output
    assert not (pki_dir / "root.key.pem").exists()  # the root key is never copied
    root = x509.load_pem_x509_certificate((offline / "root.crt.pem").read_bytes())
    assert (pki_dir / "root.crt.pem").read_bytes() == (offline / "root.crt.pem").read_bytes()
    assert root.fingerprint(hashes.SHA256()).hex(":").upper() in result.output
    with app.app_context():
        authority = credentials.authority()
        assert authority.root.sha256 == pki.to_asn1(root).sha256
        credential = pki.issue_signer(authority, common_name="A", role="party", document_ref="D")
        credential.destroy()


def test_token_signs_certificates_and_crls_with_keys_it_never_gives_out(tmp_path, token_config):
    config = replace(token_config, issuing_label="unit-issuing", tsa_label="unit-tsa")
    token = keys.Token(config)
    authority = pki.ensure_authority(tmp_path / "pki", name="Token Test", token=token)
    assert isinstance(authority.issuing_key, keys.TokenKey)
    assert isinstance(authority.tsa_key, keys.TokenKey)
    assert [p.name for p in private_key_files(tmp_path / "pki")] == ["root.key.pem"]
    issuing = x509.load_der_x509_certificate(authority.issuing.dump())
    tsa = x509.load_der_x509_certificate(authority.tsa.dump())
    tsa.verify_directly_issued_by(issuing)  # signed in the token
    # A CRL builder goes through the same sign (the issuing CA's CRLs).
    now = issuing.not_valid_before_utc
    crl = pki.certificates.sign(
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuing.subject)
        .last_update(now)
        .next_update(now + pki.RENEW_BEFORE),
        authority.issuing_key,
    )
    assert crl.is_signature_valid(issuing.public_key())
    with token.session() as session:
        from pkcs11 import Attribute, ObjectClass

        stored = session.get_key(
            object_class=ObjectClass.PRIVATE_KEY, id=authority.issuing_key.key_id
        )
        assert stored[Attribute.SENSITIVE] and not stored[Attribute.EXTRACTABLE]
    # Loading again finds the same keys by their certificates.
    again = pki.load_authority(tmp_path / "pki", token=token)
    assert again.issuing_key.key_id == authority.issuing_key.key_id


def test_a_seal_keeps_its_key_through_renewals(tmp_path, token_config):
    config = replace(token_config, issuing_label="renew-issuing", tsa_label="renew-tsa")
    authority = pki.ensure_authority(tmp_path / "pki", name="Seal Test", token=keys.Token(config))

    def seal(name):
        with pki.long_lived_signer(
            authority, label="seal-renewal", common_name=name, role="institution",
            signer_id="institution-7",
        ) as credential:  # fmt: skip
            return credential.certificate

    first, again, renamed = seal("甲调委会"), seal("甲调委会"), seal("乙调委会")
    assert again.sha256 == first.sha256  # kept while valid
    assert renamed.sha256 != first.sha256  # a new name, a new certificate...
    assert renamed.public_key.dump() == first.public_key.dump()  # ...for the same key
    assert renamed.subject.native["common_name"] == "乙调委会"
    lifetime = renamed.not_valid_after - renamed.not_valid_before
    assert lifetime > timedelta(days=300)


def test_a_full_agreement_signed_with_ca_tsa_and_seal_keys_in_the_token(
    app, app_ctx, monkeypatch, tmp_path, token_config, passphrase_file
):
    offline = tmp_path / "offline"
    init_root(offline, passphrase_file)
    pki_dir = tmp_path / "pki"
    for key, value in {
        "PKI_DIR": str(pki_dir),
        "PKI_NAME": "Test Mediation",
        "PKCS11_MODULE": token_config.module,
        "PKCS11_TOKEN_LABEL": token_config.token_label,
        "PKCS11_PIN": token_config.pin,
    }.items():
        monkeypatch.setitem(app.config, key, value)
    # This test's CA and token, not the session's (both restored afterwards).
    monkeypatch.setitem(app.extensions, "agreements.authority", None)
    monkeypatch.setitem(app.extensions, "agreements.token", None)
    result = app.test_cli_runner().invoke(
        main, ["pki", "issue-ca", str(offline), "--passphrase-file", str(passphrase_file)]
    )
    assert result.exit_code == 0, result.output
    assert "PKCS#11 token" in result.output

    case, admin = agreeing_case()
    applicant, respondent = case.party_users()
    agreement = out_for_signing(case)
    for user in (applicant, respondent, case.mediator, admin):
        sign_in_turn(agreement, user)
    assert agreement.status == AgreementStatus.effective

    authority = credentials.authority()
    assert isinstance(authority.issuing_key, keys.TokenKey)
    report = verify_pdf(signing.document_bytes(agreement), trust_roots=authority.trust_roots)
    assert report.ok, report
    signed = [s for s in report.signatures if s.kind == "signature"]  # B-LTA: and timestamps
    assert [s.role for s in signed] == ["party", "party", "mediator", "institution"]
    checked = subprocess.run(
        [shutil.which("pdfsig"), "-nocert", str(signing.document_path_of(agreement))],
        capture_output=True,
        text=True,
    ).stdout
    assert checked.count("Signature is Valid.") == 4, checked

    # The seal is the institution's long-lived key in the token, the same for every agreement.
    seal = credentials.seal_credential(case.institution)
    seal.destroy()
    sealed_with = pki.to_asn1(
        x509.load_pem_x509_certificate(
            (pki_dir / "signers" / f"seal-{case.institution.id}.crt.pem").read_bytes()
        )
    )
    assert seal.certificate.public_key.dump() == sealed_with.public_key.dump()
    assert seal.certificate.subject.native["serial_number"] == f"institution-{case.institution.id}"
    assert [s for s in report.signatures if s.kind == "signature"][-1].signer == (
        case.institution.name
    )

    # The court package's manifest, signed with the package signer's key in the token.
    zipped = packages.build(
        {"agreement.pdf": signing.document_bytes(agreement)},
        authority=authority,
        timestamper=credentials.timestamper(),
    )
    checked_package = package_verify.verify(zipped, trust_roots=authority.trust_roots)
    assert checked_package.ok, checked_package
    assert (pki_dir / "signers" / "package-signer.crt.pem").exists()

    assert private_key_files(pki_dir) == []  # every key is in the token or offline
