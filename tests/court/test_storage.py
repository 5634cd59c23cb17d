"""The signed PDFs and the court package on both storage backends: the agreement, the
application and the decision are stored and read back through the storage, the package is
built from them and verifies, and a damaged agreement is refused, never sent to a court."""

from __future__ import annotations

import io
import zipfile

import pytest

from mediation.agreements import credentials, signing
from mediation.core import storage as storages
from mediation.core.storage import CorruptObjectError
from mediation.court import bundle, examination, package_verify, ruling
from mediation.extensions import db
from tests.conftest import login
from tests.factories import PASSWORD

from .conftest import apply_jointly, in_force


def test_signed_pdfs_and_the_package_go_through_the_storage(app, client, storage_backend):
    with app.app_context():
        world = in_force()
        application = apply_jointly(world)
        examination.accept(application, by=world.clerk)
        ruling.rule(application, True, None, "", by=world.judge)
        db.session.commit()
        backend = storages.storage()
        agreement = application.agreement
        stored = {
            agreement.document_path: agreement.document_sha256,
            application.document_path: application.document_sha256,
            application.decision_path: application.decision_sha256,
        }
        assert set(stored) <= set(backend.iter_keys())
        for key, digest in stored.items():
            assert backend.get(key, digest)[:5] == b"%PDF-"
        built = bundle.build(application)
        roots = credentials.authority().trust_roots
        report = package_verify.verify(built, trust_roots=roots, extra=bundle.all_checks(roots))
        assert report.ok, package_verify.summarize(report)
        with zipfile.ZipFile(io.BytesIO(built)) as zf:
            assert zf.read("agreement.pdf") == signing.document_bytes(agreement)
            assert zf.read("decision.pdf") == backend.get(application.decision_path)
        case_id, phone = world.case.id, world.case.party_users()[0].phone
        agreement_key = agreement.document_path
        agreement_pdf = backend.get(agreement_key)
        db.session.remove()

    login(client, phone, PASSWORD)
    assert client.get(f"/cases/{case_id}/agreement.pdf").data == agreement_pdf
    part = client.get(f"/cases/{case_id}/agreement.pdf", headers={"Range": "bytes=0-4"})
    assert part.status_code == 206 and part.data == b"%PDF-"
    picture = client.get(f"/cases/{case_id}/agreement/pages/1.png")  # drawn from the stored PDF
    assert picture.status_code == 200 and picture.data.startswith(b"\x89PNG")

    with app.app_context():
        storages.storage().put(agreement_key, agreement_pdf.replace(b"/Type", b"/Typf", 1))
        application = db.session.merge(application)
        with pytest.raises(CorruptObjectError):
            bundle.build(application)  # a damaged agreement never reaches a court
        db.session.remove()
    assert client.get(f"/cases/{case_id}/agreement.pdf").status_code == 500
