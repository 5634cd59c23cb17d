"""The worker's archive renewal: stored agreements, applications and rulings get a new
document timestamp before the TSA certificate expires, once, and stay valid and matched."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from agreements import archive as agreement_archive
from agreements.verify import verify_pdf
from mediation import archive, worker
from mediation.agreements import credentials, signing, verification
from mediation.core import storage as storage_module
from mediation.court import application as applying
from mediation.court import examination, ruling
from mediation.extensions import db
from mediation.journal.models import JournalEntry
from tests.core.held import turn_held
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


def test_each_renewal_is_timestamped_before_its_lock_in_a_unit_of_its_own(
    app, app_ctx, own_ca, monkeypatch
):
    """The worker renews each document in a transaction of its own, and asks the TSA (a
    network call) and stores the file before it takes the document's lock: no case's turn
    is held meanwhile, neither this document's nor the one renewed before it (core/locks.py:
    a transaction holds one case's turn, and nothing slow under it)."""
    first, second = in_force(), in_force()
    db.session.commit()
    cases = [first.case.id, second.case.id]
    seen: list[tuple[str, list[bool]]] = []
    real_renew, real_put = agreement_archive.renew_pdf, storage_module.LocalStorage.put

    def renew(*args, **kwargs):
        seen.append(("timestamped", [turn_held(c) for c in cases]))
        return real_renew(*args, **kwargs)

    def put(self, key, data):
        seen.append(("stored", [turn_held(c) for c in cases]))
        return real_put(self, key, data)

    monkeypatch.setattr(agreement_archive, "renew_pdf", renew)
    monkeypatch.setattr(storage_module.LocalStorage, "put", put)
    monkeypatch.delitem(app.extensions, "archive.next_scan", raising=False)
    tsa_expiry = credentials.authority().tsa["tbs_certificate"]["validity"]["not_after"].native
    with time_machine.travel(tsa_expiry - timedelta(days=60), tick=False):
        assert worker.archive_timestamps(app) == "2 archive timestamps renewed"
    assert seen == [("timestamped", [False, False]), ("stored", [False, False])] * 2
    db.session.expire_all()
    for world in (first, second):
        renewed = db.session.scalars(
            select(JournalEntry).where(
                JournalEntry.case_id == world.case.id, JournalEntry.action == "archive.renewed"
            )
        ).one()
        assert renewed.payload["document"] == "agreement"
