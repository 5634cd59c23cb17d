"""The worker's archive renewal: stored agreements, applications and rulings get a new
document timestamp before the TSA certificate expires, once, and stay valid and matched."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from agreements.verify import verify_pdf
from mediation import archive, worker
from mediation.agreements import credentials, signing, verification
from mediation.court import application as applying
from mediation.court import examination, ruling
from mediation.extensions import db
from mediation.journal.models import JournalEntry
from tests.court.conftest import apply_jointly, in_force


@pytest.fixture
def own_ca(app, tmp_path):
    # A CA of this test's own: moving it years ahead must not touch the other tests' one.
    saved = app.config["PKI_DIR"]
    app.config["PKI_DIR"] = str(tmp_path / "pki")
    app.extensions.pop("agreements.authority", None)
    yield
    app.config["PKI_DIR"] = saved
    app.extensions.pop("agreements.authority", None)


def stored(application):
    agreement = application.agreement
    return {
        "agreement": (agreement.document_path, agreement.document_sha256),
        "application": (application.document_path, application.document_sha256),
        "ruling": (application.decision_path, application.decision_sha256),
    }


def test_documents_are_renewed_before_the_tsa_certificate_expires_and_only_then(app_ctx, own_ca):
    start = datetime.now(UTC)
    world = in_force()
    application = apply_jointly(world)
    examination.accept(application, by=world.clerk)
    ruling.rule(application, True, None, "", by=world.judge)
    db.session.commit()
    before = stored(application)
    final = signing.document_bytes(application.agreement)

    assert archive.renew_due() == 0  # nothing is due yet
    tsa_expiry = credentials.authority().tsa["tbs_certificate"]["validity"]["not_after"].native
    later = tsa_expiry - timedelta(days=60)  # inside the 90 days before expiry
    with time_machine.travel(later, tick=False):
        renewed = archive.renew_due()
        db.session.commit()
        assert renewed >= 3
        after = stored(application)
        for kind in before:
            assert after[kind][1] != before[kind][1], kind
        roots = credentials.authority().trust_roots
        for path in (
            signing.document_path_of(application.agreement),
            applying.document_path(application),
            ruling.decision_file(application),
        ):
            report = verify_pdf(path.read_bytes(), trust_roots=roots)
            assert report.ok
            assert report.signatures[-1].kind == "document timestamp"
            assert report.signatures[-1].signing_time >= later - timedelta(minutes=1)
        # Idempotent: the new timestamp is by the new TSA certificate, not due for years.
        assert archive.renew_due() == 0
        db.session.commit()
        assert "0 archive timestamps renewed" in worker.archive_timestamps(app_ctx)
    entries = db.session.scalars(
        select(JournalEntry).where(
            JournalEntry.case_id == world.case.id, JournalEntry.action == "archive.renewed"
        )
    ).all()
    assert sorted(e.payload["document"] for e in entries) == ["agreement", "application", "ruling"]
    for entry in entries:  # hashes only: nothing about anyone
        assert set(entry.payload) == {"document", "sha256_before", "sha256_after"}
    # A party's copy from before the renewal, and the renewed one, are both recognised.
    for pdf in (final, signing.document_bytes(application.agreement)):
        found = verification.match(pdf)
        assert found is not None and found.final
    assert start < later
