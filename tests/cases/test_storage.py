"""Evidence on both storage backends: uploaded, read whole and by ranges, and a damaged
file refused with a clear message instead of being shown as the party's evidence."""

from __future__ import annotations

import hashlib
import logging

from mediation.cases.models import Case
from mediation.core import storage as storages
from mediation.extensions import db
from tests.cases.test_intake import PDF, PNG, file_a_case, upload
from tests.conftest import login
from tests.factories import PASSWORD, make_institution, make_mediator, make_user


def test_evidence_is_stored_read_by_ranges_and_refused_when_damaged(app, storage_backend, caplog):
    with app.app_context():
        make_mediator(make_institution(region_code="320102"))
        phone = make_user(real_name="张三").phone
        db.session.commit()
    client = app.test_client()
    login(client, phone, PASSWORD)
    case_id = file_a_case(client)
    assert upload(client, case_id, [("漏水.png", PNG), ("报价单.pdf", PDF)]).status_code == 302
    with app.app_context():
        case = db.session.get(Case, case_id)
        items = {e.filename: (e.id, e.sha256) for e in case.evidence}
        keys = set(storages.storage().iter_keys())
    pdf_id, pdf_sha = items["报价单.pdf"]
    assert pdf_sha == hashlib.sha256(PDF).hexdigest()
    assert storages.content_key(pdf_sha) in keys  # content-addressed, on either backend
    url = f"/cases/{case_id}/evidence/{pdf_id}"
    whole = client.get(url)
    assert whole.status_code == 200 and whole.data == PDF
    assert whole.headers["Content-Type"] == "application/pdf"
    assert whole.headers["Accept-Ranges"] == "bytes"
    part = client.get(url, headers={"Range": "bytes=5-14"})
    assert part.status_code == 206 and part.data == PDF[5:15]
    assert part.headers["Content-Range"] == f"bytes 5-14/{len(PDF)}"
    assert "sandbox" in part.headers["Content-Security-Policy"]
    beyond = client.get(url, headers={"Range": f"bytes={len(PDF) + 10}-"})
    assert beyond.status_code == 416

    with app.app_context():  # one byte changes where the file is kept
        storages.storage().put(storages.content_key(pdf_sha), PDF.replace(b"1.4", b"1.5"))
    with caplog.at_level(logging.ERROR, "mediation.core.storage"):
        damaged = client.get(url, headers={"Accept-Language": "zh-CN"})
    assert damaged.status_code == 500
    page = damaged.get_data(as_text=True)
    assert "文件在存储中已损坏" in page and PDF.decode() not in page
    assert f"{pdf_sha[:2]}/{pdf_sha} is damaged" in caplog.text
