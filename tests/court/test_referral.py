"""A failed mediation's record (SPC online mediation rules art 21) as a PDF a party takes to
online case filing; only the case's parties and mediator get it."""

from __future__ import annotations

import shutil
import subprocess

from mediation.cases import operations as cases
from mediation.cases import workflow
from mediation.cases.states import Action, TerminationReason
from mediation.extensions import db
from tests.conftest import login
from tests.factories import PASSWORD, make_mediating_case


def test_a_party_takes_the_record_as_a_pdf_and_strangers_do_not(app, client, tmp_path):
    with app.app_context():
        case = make_mediating_case()
        workflow.transition(
            case, Action.terminate, by=case.mediator, reason=TerminationReason.too_far_apart
        )
        cases.record_failure(
            case,
            by=case.mediator,
            situation="双方就漏水赔偿金额分歧较大",
            reasons="被申请人只同意赔偿一千元",
            cost_raising_conduct="被申请人两次无故缺席调解",
        )
        stranger = make_mediating_case().party_users()[0]
        db.session.commit()
        case_id, phone, stranger_phone = case.id, case.party_users()[0].phone, stranger.phone
    path = f"/cases/{case_id}/referral.pdf"
    other = app.test_client()
    login(other, stranger_phone, PASSWORD)
    assert other.get(path).status_code == 404
    login(client, phone, PASSWORD)
    pdf = client.get(path)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    (tmp_path / "referral.pdf").write_bytes(pdf.data)
    text = subprocess.run(
        [shutil.which("pdftotext"), str(tmp_path / "referral.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "被申请人两次无故缺席调解" in text and "双方就漏水赔偿金额分歧较大" in text
