"""The worker's archive renewal (mediation/archive.py) with an external TSA (TSA_URL): a
stored agreement is renewed by a timestamp of that TSA, so what decides is whether that
TSA's certificate outlives the file's newest timestamp, not the platform's own.

OpenSSL's ``openssl ts -reply`` (openssl_tsa.py) with a short-lived certificate (100 days)
timestamps an agreement signed through the signing round; the clock is then moved to 60
days before that certificate expires (computed from the file's timestamp, never today's
date), inside the 90 days of RENEW_BEFORE. The TSA keeps the moved clock (faketime), so its
tokens and CRLs are dated then. The renewed file is checked as a court would, after the
first TSA certificate expired: the platform's verification, pyHanko's AdES validation with
revocation from the file, pdfsig, and ``openssl ts -verify`` of the timestamps.
"""

from __future__ import annotations

import io
import logging
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import time_machine
from asn1crypto import cms
from asn1crypto import pem as asn1_pem
from pyhanko.pdf_utils.reader import PdfFileReader

from agreements import archive, pki, verify
from mediation import archive as renewal
from mediation.agreements import credentials, signing
from mediation.extensions import db
from tests.agreements.conftest import agreeing_case, out_for_signing
from tests.agreements.test_workflow import sign_in_turn

from .openssl_tsa import openssl_tsa, require_tools
from .outside_tools import (
    adesverify,
    checked_past_the_tsas_crl,
    openssl_ts_verify,
    pdfsig_blocks,
    require_pyhanko,
    token_signer,
)

SHORT = 100  # days the external TSA's first certificate is valid
BEFORE = timedelta(days=60)  # how long before its expiry the worker scans (within 90)
CRL_DAYS = 30  # the TSA's CRL is valid this long from when it is fetched (openssl_tsa.py)


@pytest.fixture
def own_ca(app, tmp_path):
    # A CA of this test's own: moving the clock must not touch the other tests' one.
    saved = app.config["PKI_DIR"]
    app.config["PKI_DIR"] = str(tmp_path / "pki")
    app.extensions.pop("agreements.authority", None)
    yield Path(app.config["PKI_DIR"])
    app.config["PKI_DIR"] = saved
    app.extensions.pop("agreements.authority", None)


@contextmanager
def configured(app, external):
    """The institution's configuration of an external TSA (docs/security.md)."""
    saved = {name: app.config.get(name) for name in ("TSA_URL", "PKI_TRUST_ROOTS")}
    app.config.update(TSA_URL=external.url, PKI_TRUST_ROOTS=[str(external.root_pem)])
    try:
        yield
    finally:
        app.config.update(saved)


def signed_agreement():
    case, admin = agreeing_case()
    agreement = out_for_signing(case)
    for user in (*case.party_users(), case.mediator, admin):
        sign_in_turn(agreement, user)
    db.session.commit()
    return agreement


def document_stamps(pdf: bytes) -> list:
    return PdfFileReader(io.BytesIO(pdf)).embedded_timestamp_signatures


def not_after(cert):
    return cert["tbs_certificate"]["validity"]["not_after"].native


def court_moments(renewed_at, expiry) -> list:
    """When a court may check the renewed file: a day after the renewal; past the TSA's
    CRL's nextUpdate (issued at the renewal, valid CRL_DAYS); after the first TSA
    certificate expired; and more than a year later (the new certificate lives 730 days)."""
    return [
        renewed_at + timedelta(days=1),
        renewed_at + timedelta(days=CRL_DAYS + 1),
        expiry + timedelta(days=1),
        renewed_at + timedelta(days=400),
    ]


def checked_as_a_court_would(
    folder: Path, pdf: bytes, external, renewed_at, moment, later: list
) -> None:
    """The renewed file, offline (the TSA stopped), with other people's tools (as
    tests/agreements/test_external_tsa.py does): pyHanko's AdES validation a day after
    ``renewed_at``, pdfsig and openssl at ``moment``; at each of ``later`` (past the
    nextUpdate of the TSA's CRL fetched at the renewal), what pyHanko and openssl say
    then and why (test_external_tsa.checked_past_the_tsas_crl)."""
    folder.mkdir()
    root = credentials.platform_root()
    for name, data in (
        ("agreement.pdf", pdf),
        ("root.pem", asn1_pem.armor("CERTIFICATE", root.dump())),
        ("tsa-root.pem", external.root_pem.read_bytes()),
    ):
        (folder / name).write_bytes(data)
    court = SimpleNamespace(dir=folder, tools=require_tools("openssl", "pdfsig", "certutil"))
    court.tools["faketime"] = require_tools("faketime")["faketime"]
    adesverify(court, renewed_at + timedelta(days=1))
    blocks = pdfsig_blocks(court, moment)
    signers = [b for b in blocks if "ETSI.CAdES.detached" in b]
    assert len(signers) == 4 and all("Signature is Valid." in b for b in signers), blocks
    assert "  - Total document signed" in blocks[-1], blocks[-1]
    # Each document timestamp over its bytes: the renewal's verifies with its certificate
    # still valid; the first one's certificate has expired, which is why it was renewed.
    stamps = document_stamps(pdf)
    for stamp, expected in ((stamps[-1], 0), (stamps[-2], 1)):
        a, la, b, lb = stamp.byte_range
        done = openssl_ts_verify(
            court, moment, f"doc-{expected}", stamp.pkcs7_content, pdf[a : a + la] + pdf[b : b + lb]
        )
        assert (done.returncode == 0) == (expected == 0), done.stdout + done.stderr
    for at in later:
        checked_past_the_tsas_crl(court, pdf, external.root_pem.read_bytes(), at)


def test_a_renewal_waits_for_a_tsa_certificate_that_outlives_the_stamp(
    app_ctx, own_ca, tmp_path, caplog
):
    """The TSA still signs with the certificate that is about to expire: a renewal by it
    would extend nothing (before: the platform's TSA certificate, two years, was compared,
    the file renewed with the same expiring certificate, and again at every scan). The
    operator is told; once the TSA's certificate is replaced, the file is renewed, once."""
    require_tools("openssl", "faketime", "pdfsig", "certutil")
    require_pyhanko()
    with (
        openssl_tsa(
            tmp_path / "tsa", tsa_days=SHORT, follow_clock=True, crl_days=CRL_DAYS
        ) as external,
        configured(app_ctx, external),
    ):
        agreement = signed_agreement()
        signed = signing.document_bytes(agreement)
        expiry = archive.last_timestamp_expiry(signed)
        assert expiry == not_after(external.certificate)
        later = expiry - BEFORE
        with time_machine.travel(later, tick=False):
            with caplog.at_level(logging.WARNING, logger="mediation.archive"):
                assert renewal.renew_due() == 0
            db.session.commit()
            assert "due for archive renewal" in caplog.text
            assert signing.document_bytes(agreement) == signed
            replaced = external.roll(days=730)
            assert renewal.renew_due() == 1
            db.session.commit()
            assert renewal.renew_due() == 0  # the new timestamp is not due for years
            db.session.commit()
        renewed = signing.document_bytes(agreement)
    assert renewed.startswith(signed)
    stamps = document_stamps(renewed)
    assert len(stamps) == len(document_stamps(signed)) + 1
    newest = cms.ContentInfo.load(stamps[-1].pkcs7_content)
    assert token_signer(newest).dump() == replaced.dump()
    assert archive.timestamp_time(newest) == later  # dated by the TSA at the moved clock
    # The platform's own check a day after the renewal, past the nextUpdate of the TSA's
    # CRL fetched at the renewal (30 days), after the first TSA certificate expired and
    # more than a year later: VALID (before, NOT VALID from the 31st day: the newest
    # timestamp's CRL was judged as of the day of checking, agreements.verify
    # newest_timestamp_status). pyHanko's AdES validation a day after the renewal, pdfsig
    # and openssl after the first certificate expired; past the CRL's nextUpdate, what
    # pyHanko and openssl say offline and why (checked_past_the_tsas_crl).
    roots = [credentials.platform_root(), external.root]
    for moment in court_moments(later, expiry):
        report = verify.verify_pdf(renewed, trust_roots=roots, at=moment)
        assert report.ok, (moment, verify.summarize(report))
    checked_as_a_court_would(
        tmp_path / "court",
        renewed,
        external,
        later,
        expiry + timedelta(days=1),
        court_moments(later, expiry)[1:],
    )


def test_a_stamp_is_renewed_when_the_platforms_own_tsa_certificate_ends_sooner(
    app_ctx, own_ca, tmp_path, monkeypatch
):
    """The platform's TSA certificate cannot outlive its issuing CA, and in production the
    root that renews that CA is offline (`mediation pki issue-ca`): near its end, the
    platform's TSA certificate expires before the external TSA's stamp. The renewal's
    timestamp is the external TSA's, whose new certificate outlives it; before, the
    platform's was compared and the file skipped until it stopped proving itself."""
    require_tools("openssl", "faketime", "pdfsig", "certutil")
    require_pyhanko()
    monkeypatch.setattr(pki.authority, "ISSUING_LIFETIME", timedelta(days=SHORT - 20))
    credentials.authority()  # made now, then its root goes offline as in production
    (own_ca / "root.key.pem").unlink()
    with (
        openssl_tsa(tmp_path / "tsa", tsa_days=SHORT, follow_clock=True) as external,
        configured(app_ctx, external),
    ):
        agreement = signed_agreement()
        signed = signing.document_bytes(agreement)
        expiry = archive.last_timestamp_expiry(signed)
        later = expiry - BEFORE
        with time_machine.travel(later, tick=False):
            replaced = external.roll(days=730)
            platform_tsa = not_after(renewal.refresh_authority().tsa)
            assert platform_tsa < expiry  # the comparison that skipped the file
            assert renewal.renew_due() == 1
            db.session.commit()
        renewed = signing.document_bytes(agreement)
    newest = cms.ContentInfo.load(document_stamps(renewed)[-1].pkcs7_content)
    assert token_signer(newest).dump() == replaced.dump()
    roots = [credentials.platform_root(), external.root]
    report = verify.verify_pdf(renewed, trust_roots=roots, at=later + timedelta(days=1))
    assert report.ok, verify.summarize(report)
