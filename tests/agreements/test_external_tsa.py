"""Signatures timestamped by a TSA the platform did not write: OpenSSL's ``openssl ts
-reply`` on loopback (openssl_tsa.py), configured as an institution would (TSA_URL, its root
in PKI_TRUST_ROOTS).

A whole agreement (both parties, the mediator, the institution's seal) and the joint
application are signed through the platform's signing round; the court package is built
from them. Then the TSA is stopped (a court's machine is offline: the TSA's CRL is only what
the files carry) and the files are checked with other people's tools, at signing time and
again a day later, the tools' clock set by faketime from the signing time (not today's
date): poppler's pdfsig, pyHanko's CLI (``sign validate`` with --trust and with a named
validation context, ``sign adesverify`` with revocation checking from the DSS), ``openssl ts
-verify`` on every timestamp token, and the platform's own ``mediation agreement verify`` and
``mediation court verify``.
"""

from __future__ import annotations

import io
import subprocess
import zipfile
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
import time_machine
import weasyprint
from asn1crypto import cms, crl
from asn1crypto import pem as asn1_pem
from pyhanko.pdf_utils.reader import PdfFileReader

from agreements import archive, pki, tsa, verify
from agreements import signing as agreement_signing
from mediation.agreements import credentials, signing
from mediation.court import application as court_application
from mediation.court import bundle, package, package_verify
from mediation.extensions import db
from tests.court.conftest import apply_jointly, in_force
from tests.court.offline import mediation_command

from .openssl_tsa import openssl_tsa, publish_crl, require_tools
from .outside_tools import (
    adesverify,
    checked_past_the_tsas_crl,
    openssl_ts_verify,
    package_tokens,
    pdfsig_blocks,
    pyhanko,
    require_pyhanko,
    run_at,
    signature_tokens,
    signatures_of,
    token_signer,
)

TOOLS = ("openssl", "pdfsig", "certutil", "faketime")
CRL_DAYS = 30  # how long the TSA's CRL is valid from when it is issued (openssl_tsa.py)


@pytest.fixture(scope="module")
def signed(app, tmp_path_factory):
    """Everything signed with the external TSA, the TSA stopped, the files in a folder."""
    tools = require_tools(*TOOLS)
    require_pyhanko()
    folder = tmp_path_factory.mktemp("external-tsa")
    saved = {name: app.config.get(name) for name in ("TSA_URL", "PKI_TRUST_ROOTS")}
    with openssl_tsa(folder / "tsa", crl_days=CRL_DAYS) as external:
        app.config.update(TSA_URL=external.url, PKI_TRUST_ROOTS=[str(external.root_pem)])
        try:
            with app.app_context():
                world = in_force()
                application = apply_jointly(world)
                db.session.commit()
                agreement = signing.document_bytes(application.agreement)
                joint = court_application.document_bytes(application)
                package = bundle.build(application)
                root = credentials.platform_root()
        finally:
            app.config.update(saved)
        answered = len(external.answered)
    checks = folder / "court"
    checks.mkdir()
    for name, data in (
        ("agreement.pdf", agreement),
        ("application.pdf", joint),
        ("package.zip", package),
        ("root.pem", asn1_pem.armor("CERTIFICATE", root.dump())),
        ("tsa-root.pem", external.root_pem.read_bytes()),
    ):
        (checks / name).write_bytes(data)
    # pyHanko's named validation context (its CLI guide, "Named validation contexts").
    (checks / "pyhanko.yml").write_text(
        "validation-contexts:\n"
        "  court:\n"
        "    trust: [root.pem, tsa-root.pem]\n"
        "    trust-replace: true\n"
    )
    signers = PdfFileReader(io.BytesIO(agreement)).embedded_regular_signatures
    times = [verify.claimed_time(s.signer_info) for s in signers]
    return SimpleNamespace(
        dir=checks,
        tools=tools,
        agreement=agreement,
        application=joint,
        package=package,
        root=root,
        external=external,
        answered=answered,
        # The tools' clock: just after the last signature (each signer's certificate lives
        # ten minutes), and a day later.
        at_signing=max(times) + timedelta(seconds=30),
        first_signature=min(times),
    )


def moments(signed) -> list[datetime]:
    return [signed.at_signing, signed.at_signing + timedelta(days=1)]


def later_moments(signed) -> list[datetime]:
    """When a court checks the files months later: past the TSA's CRL's nextUpdate (the
    file's CRL was fetched at signing, valid CRL_DAYS), and more than a year on (the TSA's
    certificate, 730 days, still valid: no renewal due yet)."""
    return [
        signed.at_signing + timedelta(days=CRL_DAYS + 1),
        signed.at_signing + timedelta(days=400),
    ]


def test_every_timestamp_is_the_external_tsas(signed):
    """Every signature timestamp and document timestamp of the agreement and of the
    application, and the package's tokens, come from the OpenSSL TSA."""
    tokens = []
    for pdf in (signed.agreement, signed.application):
        tokens += [token for _, _, token in signature_tokens(pdf)]
        tokens += [
            cms.ContentInfo.load(s.pkcs7_content)
            for s in signatures_of(pdf)
            if s.sig_object_type == "/DocTimeStamp"
        ]
    tokens += [cms.ContentInfo.load(token) for _, token, _ in package_tokens(signed.package)]
    # Four signers and two applicants, each act a signature and a document timestamp.
    assert len(tokens) == 2 * (4 + 2) + 2
    for token in tokens:
        assert token_signer(token).dump() == signed.external.certificate.dump()
    assert signed.answered >= len(tokens)
    # And its root is not the platform's: the TSA is someone else's.
    assert signed.external.root.dump() != signed.root.dump()


def test_the_platform_verifies_the_agreement_at_signing_and_months_later(signed):
    roots = [signed.root, signed.external.root]
    for moment in moments(signed) + later_moments(signed):
        report = verify.verify_pdf(signed.agreement, trust_roots=roots, at=moment)
        assert report.ok, (moment, verify.summarize(report))
    # The external TSA's root must be given: the platform's alone does not vouch for it.
    alone = verify.verify_pdf(signed.agreement, trust_roots=[signed.root])
    assert not alone.ok
    # Months later too, past the TSA CRL's nextUpdate (where the newest timestamp's
    # revocation data is judged at its own time): without the TSA's root, or with a byte
    # changed that only the newest document timestamp covers, NOT VALID.
    *_, before, newest = signatures_of(signed.agreement)
    assert newest.sig_object_type == "/DocTimeStamp"
    middle = (before.byte_range[2] + before.byte_range[3] + newest.byte_range[1]) // 2
    changed = bytearray(signed.agreement)
    changed[middle] ^= 0x01
    for moment in later_moments(signed):
        alone = verify.verify_pdf(signed.agreement, trust_roots=[signed.root], at=moment)
        assert not alone.ok, verify.summarize(alone)
        report = verify.verify_pdf(bytes(changed), trust_roots=roots, at=moment)
        assert not report.ok, verify.summarize(report)


def test_mediation_agreement_verify_on_a_courts_machine(signed):
    mediation = mediation_command()
    for moment in moments(signed) + later_moments(signed):
        done = run_at(
            signed,
            moment,
            mediation,
            "agreement",
            "verify",
            "agreement.pdf",
            "--root",
            "root.pem",
            "--root",
            "tsa-root.pem",
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.startswith("VALID: 4 signature(s)"), done.stdout
    without = run_at(
        signed,
        signed.at_signing,
        mediation,
        "agreement",
        "verify",
        "agreement.pdf",
        "--root",
        "root.pem",
    )
    assert without.returncode == 1 and without.stdout.startswith("NOT VALID"), without.stdout


def test_mediation_court_verify_the_package(signed):
    mediation = mediation_command()
    for moment in moments(signed) + later_moments(signed):
        done = run_at(
            signed,
            moment,
            mediation,
            "court",
            "verify",
            "package.zip",
            "--root",
            "root.pem",
            "--root",
            "tsa-root.pem",
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.startswith("VALID:") and "trusted=yes" in done.stdout, done.stdout
    without = run_at(
        signed, signed.at_signing, mediation, "court", "verify", "package.zip", "--root", "root.pem"
    )
    assert without.returncode == 1 and without.stdout.startswith("NOT VALID"), without.stdout
    # In-process too, the clock a day later, and past the TSA's CRL's nextUpdate (the
    # archive token's CRL is stale by then: see agreements.verify.newest_timestamp_status).
    roots = [signed.root, signed.external.root]
    for moment in moments(signed)[1:] + later_moments(signed):
        with time_machine.travel(moment, tick=False):
            report = package_verify.verify(
                signed.package, trust_roots=roots, extra=bundle.all_checks(roots)
            )
        assert report.ok, (moment, package_verify.summarize(report))


def test_pdfsig_at_signing_and_a_day_later(signed):
    """Every signer's signature matches the document and the last act covers all of it.
    NSS checks certificates at today's date: trusted at signing; a day later each signer's
    ten-minute certificate has expired, which is all pdfsig may say against it (the
    certificate at its timestamp's time: pyHanko and openssl below)."""
    # Within every signer's ten minutes (this test's clock, not a timing of the platform).
    assert signed.at_signing - signed.first_signature < timedelta(minutes=9)
    for moment, expected in zip(
        moments(signed), ("Certificate is Trusted.", "Certificate has Expired"), strict=True
    ):
        blocks = pdfsig_blocks(signed, moment)
        signers = [b for b in blocks if "ETSI.CAdES.detached" in b]
        assert len(signers) == 4, blocks
        for block in signers:
            assert "Signature Validation: Signature is Valid." in block, block
            assert f"Certificate Validation: {expected}" in block, block
        assert "  - Total document signed" in blocks[-1], blocks[-1]


def test_pyhanko_validate_with_the_trust_roots(signed):
    """``pyhanko sign validate --pretty-print``, trust given with --trust and with a
    validation context of pyhanko.yml. Offline: its online revocation check soft-fails
    (the same checks with the file's own revocation data: adesverify below). Plain
    validation checks the signer's certificate now, so a day later the time each signer
    claimed is given (``--validation-time claimed``)."""
    trust = ["--trust", "root.pem", "--trust", "tsa-root.pem", "--trust-replace"]
    context = ["--validation-context", "court"]
    for given in (trust, context):
        now = pyhanko(
            signed,
            signed.at_signing,
            "sign",
            "validate",
            "--pretty-print",
            *given,
            "--soft-revocation-check",
            "agreement.pdf",
        )
        later = pyhanko(
            signed,
            signed.at_signing + timedelta(days=1),
            "sign",
            "validate",
            "--pretty-print",
            *given,
            "--validation-time",
            "claimed",
            "agreement.pdf",
        )
        for done in (now, later):
            assert done.returncode == 0, done.stdout + done.stderr
            assert done.stdout.count("The signature is judged VALID.") == 4, done.stdout
            assert "The TSA certificate is trusted." in done.stdout, done.stdout
            assert "untrusted" not in done.stdout, done.stdout


def test_pyhanko_ades_validation_with_revocation_from_the_file(signed):
    """AdES validation (ETSI EN 319 102-1) with revocation checking, offline: the external
    TSA's CRL comes from the document's DSS, where signing put it."""
    for moment in moments(signed):
        adesverify(signed, moment)


def test_openssl_verifies_every_timestamp_token(signed):
    """``openssl ts -verify`` on each signature's timestamp token (over its signature
    value), each document timestamp (over its byte ranges) and the package's tokens."""
    pdf = signed.agreement
    checks = [
        (f"sig-{field}", token.dump(), value) for field, value, token in signature_tokens(pdf)
    ]
    for n, stamp in enumerate(
        s for s in signatures_of(pdf) if s.sig_object_type == "/DocTimeStamp"
    ):
        (a, la, b, lb) = stamp.byte_range
        checks.append((f"doc-{n}", stamp.pkcs7_content, pdf[a : a + la] + pdf[b : b + lb]))
    checks += package_tokens(signed.package)
    assert len(checks) == 4 + 4 + 2
    for moment in moments(signed) + later_moments(signed):
        for name, token, data in checks:
            done = openssl_ts_verify(signed, moment, name, token, data)
            assert done.returncode == 0 and "Verification: OK" in done.stdout, (
                name,
                done.stdout + done.stderr,
            )
    # A token over other bytes does not verify: the check is not vacuous.
    name, token, data = checks[0]
    done = openssl_ts_verify(signed, signed.at_signing, "changed", token, data[::-1])
    assert done.returncode != 0


def test_the_package_carries_the_external_tsas_crls_for_a_court_offline(signed):
    """The package's CMS carries the CRL of the external TSA's chain, fetched when it was
    built (before: the platform's CRLs only, and a court offline had no revocation data
    for the TSA). ``openssl ts -verify -crl_check_all`` with no CRL but the package's, the
    TSA stopped, accepts the manifest's timestamp and the archive token."""
    with zipfile.ZipFile(io.BytesIO(signed.package)) as zf:
        containers = [zf.read("manifest.json.p7s"), zf.read("manifest.json.p7s.1.tsr")]
    crls = package.carried_crls(containers)
    theirs = [c for c in crls if c.issuer == signed.external.root.subject]
    assert len(theirs) == 1
    trusted = signed.dir / "tsa-root-and-package-crls.pem"
    trusted.write_bytes(
        signed.external.root_pem.read_bytes()
        + b"".join(asn1_pem.armor("X509 CRL", c.dump()) for c in theirs)
    )
    for moment in moments(signed):
        for name, token, data in package_tokens(signed.package):
            done = openssl_ts_verify(
                signed, moment, name, token, data, trusted.name, "-crl_check_all"
            )
            assert done.returncode == 0 and "Verification: OK" in done.stdout, (
                name,
                done.stdout + done.stderr,
            )


def test_court_verify_checks_the_tsa_against_the_packages_crls(signed):
    """``mediation court verify`` validates with the CRLs the package carries: a CRL of the
    TSA's CA revoking the TSA's certificate, in the archive token's crls field (outside
    every hash, the one place it can be added), makes the package NOT VALID, offline.
    Before, no CRL was read and the package was VALID. The TSA's CA revokes it now, after
    the package was built; the check is as of now, a day later."""
    folder = signed.external.folder
    subprocess.run(
        [signed.tools["openssl"], "ca", "-config", "openssl.cnf", "-revoke", "tsa.pem"],
        cwd=folder,
        capture_output=True,
        check=True,
        timeout=60,
    )
    publish_crl(folder)
    revoked = crl.CertificateList.load((folder / "ca.crl").read_bytes())
    assert revoked["tbs_cert_list"]["revoked_certificates"].native
    with zipfile.ZipFile(io.BytesIO(signed.package)) as zf:
        entries = {i.filename: zf.read(i) for i in zf.infolist()}
    token = entries["manifest.json.p7s.1.tsr"]
    entries["manifest.json.p7s.1.tsr"] = package.with_revocation_data(token, [revoked])
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    (signed.dir / "revoked.zip").write_bytes(out.getvalue())
    roots = [signed.root, signed.external.root]
    report = package_verify.verify(out.getvalue(), trust_roots=roots)
    assert not report.ok
    assert any("archive timestamp 1" in p for p in report.problems), report.problems
    done = run_at(
        signed,
        datetime.now(UTC) + timedelta(days=1),
        mediation_command(),
        "court",
        "verify",
        "revoked.zip",
        "--root",
        "root.pem",
        "--root",
        "tsa-root.pem",
    )
    assert done.returncode == 1 and done.stdout.startswith("NOT VALID"), done.stdout
    # The same token with the package's own CRLs again is VALID: only the revocation counts.
    assert package_verify.verify(signed.package, trust_roots=roots).ok
    # Months later the revoking CRL is past its nextUpdate, as is every CRL the package
    # carries: still NOT VALID (a stale CRL still says the certificate was revoked), while
    # the package without it stays VALID.
    for moment in later_moments(signed):
        with time_machine.travel(moment, tick=False):
            report = package_verify.verify(out.getvalue(), trust_roots=roots)
            assert not report.ok, moment
            assert any("archive timestamp 1" in p for p in report.problems), report.problems
            assert package_verify.verify(signed.package, trust_roots=roots).ok, moment


@pytest.mark.parametrize("ess_cert_id_alg", ["sha1", "sha256"])
def test_either_ess_signing_certificate_attribute(tmp_path, ess_cert_id_alg):
    """OpenSSL names its certificate in the token with ESS signing-certificate (RFC 2634,
    SHA-1: its default) or signing-certificate-v2 (RFC 5035, here SHA-256), as configured:
    a signature timestamped either way verifies, in DER, and openssl verifies the tokens."""
    tools = require_tools("openssl")
    authority = pki.ensure_authority(tmp_path / "pki", name="Test Mediation")
    pdf = weasyprint.HTML(string="<p lang='zh'>调解协议</p>").write_pdf()
    with openssl_tsa(tmp_path / "tsa", ess_cert_id_alg=ess_cert_id_alg) as external:
        credential = pki.issue_signer(authority, common_name="张三", role="party", document_ref="D")
        pdf = agreement_signing.sign_pdf(
            pdf,
            signer_credential=credential,
            authority=authority,
            field_name="party-1",
            reason="同意",
            location="北京",
            timestamper=tsa.timestamper_for(
                authority, url=external.url, trust_roots=[external.root]
            ),
        )
    attribute = "signing_certificate" if ess_cert_id_alg == "sha1" else "signing_certificate_v2"
    (_, value, token) = signature_tokens(pdf)[0]
    signer_info = token["content"]["signer_infos"][0]
    assert attribute in [a["type"].native for a in signer_info["signed_attrs"]]
    # The document timestamp that ends the file, as written, is DER.
    written = cms.ContentInfo.load(signatures_of(pdf)[-1].pkcs7_content).dump()
    assert cms.ContentInfo.load(written).dump(force=True) == written
    report = verify.verify_pdf(pdf, trust_roots=[authority.root, external.root])
    assert report.ok, verify.summarize(report)
    (tmp_path / "token.tst").write_bytes(token.dump())
    (tmp_path / "signature.bin").write_bytes(value)
    done = subprocess.run(
        [
            tools["openssl"],
            "ts",
            "-verify",
            "-token_in",
            "-in",
            "token.tst",
            "-data",
            "signature.bin",
            "-CAfile",
            str(external.root_pem),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0 and "Verification: OK" in done.stdout, done.stdout + done.stderr


def test_a_file_timestamped_by_the_external_tsa_is_renewed(tmp_path):
    """The worker's archive renewal (mediation/archive.py) adds a document timestamp from
    the configured TSA over a file whose newest one is the external TSA's. It checked that
    newest one against the platform's roots alone, refused it ("the newest document
    timestamp does not validate") and never renewed such a file: it would have stopped
    proving itself when the TSA's certificate expired."""
    require_tools("openssl")
    authority = pki.ensure_authority(tmp_path / "pki", name="Test Mediation")
    pdf = weasyprint.HTML(string="<p lang='zh'>调解协议</p>").write_pdf()
    with openssl_tsa(tmp_path / "tsa") as external:
        stamper = tsa.timestamper_for(authority, url=external.url, trust_roots=[external.root])
        credential = pki.issue_signer(authority, common_name="张三", role="party", document_ref="D")
        pdf = agreement_signing.sign_pdf(
            pdf,
            signer_credential=credential,
            authority=authority,
            field_name="party-1",
            reason="同意",
            location="北京",
            timestamper=stamper,
        )
        renewed = archive.renew_pdf(pdf, authority, stamper)
    assert renewed.startswith(pdf)  # an incremental update: every signature stays
    stamps = [s for s in signatures_of(renewed) if s.sig_object_type == "/DocTimeStamp"]
    assert len(stamps) == 2
    newest = cms.ContentInfo.load(stamps[-1].pkcs7_content)
    assert token_signer(newest).dump() == external.certificate.dump()
    report = verify.verify_pdf(renewed, trust_roots=[authority.root, external.root])
    assert report.ok, verify.summarize(report)


def test_outside_tools_past_the_tsas_crl(signed):
    """A month and more after signing, the TSA's CRL in the file is past its nextUpdate:
    what pyHanko and openssl say offline, and why (checked_past_the_tsas_crl); the
    platform's own verdict at the same moments is VALID
    (test_the_platform_verifies_the_agreement_at_signing_and_months_later)."""
    for moment in later_moments(signed):
        checked_past_the_tsas_crl(
            signed, signed.agreement, signed.external.root_pem.read_bytes(), moment
        )
