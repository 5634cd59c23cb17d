"""Filing a dispute from home: drafts, evidence checks, consent, submission, who sees what."""

import hashlib
import io
import json
import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from mediation.accounts.models import User
from mediation.cases import intake, workflow
from mediation.cases.models import Case, CaseAssignment, Evidence
from mediation.cases.states import Action, CaseStatus
from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.journal.models import JournalEntry
from tests.conftest import at_once, csrf_token, login, post_form
from tests.factories import PASSWORD, make_institution, make_mediator, make_user

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"

DISPUTE = {
    "category": "neighbourhood",
    "title": "楼上漏水",
    "facts": "卫生间顶部渗水三个月。",
    "region_code": "320000",  # 江苏省, chosen by name
    "claims-0-text": "赔偿墙面维修费",
    "claims-0-amount": "3000",
    "claims-1-text": "修好防水层",
    "claims-1-amount": "",
    "claims-2-text": "",
    "claims-2-amount": "",
}


@pytest.fixture
def applicant(app):
    with app.app_context():
        mediator = make_mediator(make_institution(region_code="320102"))
        user = make_user(real_name="张三")
        db.session.commit()
        phone, mediator_id = user.phone, mediator.id
    client = app.test_client()
    login(client, phone, PASSWORD)
    return client, mediator_id


def upload(client, case_id, files, shared=False):
    token = csrf_token(client, f"/cases/{case_id}/intake/evidence")
    data = {"csrf_token": token, "files": [(io.BytesIO(d), name) for name, d in files]}
    if shared:
        data["shared"] = "y"
    return client.post(
        f"/cases/{case_id}/intake/evidence", data=data, content_type="multipart/form-data"
    )


def file_a_case(client) -> int:
    response = post_form(client, "/cases/new", DISPUTE)
    assert response.status_code == 302, response.get_data(as_text=True)
    case_id = int(
        re.search(r"/cases/(\d+)/intake/respondent", response.headers["Location"]).group(1)
    )
    respondent = {"real_name": "李四", "phone": "13811112222", "id_number": ""}
    assert post_form(client, f"/cases/{case_id}/intake/respondent", respondent).status_code == 302
    return case_id


def test_an_applicant_who_chose_an_institution_is_told_so(app, applicant):
    """Art 10: the institution the applicant chose gives the case to one of its mediators;
    the applicant is not told that no mediator could be picked automatically."""
    client, _mediator_id = applicant
    with app.app_context():
        institution = make_institution(name="鼓楼区人民调解委员会")
        db.session.commit()
        institution_id = institution.id
    case_id = file_a_case(client)
    submit = {
        "choice": f"institution:{institution_id}",
        "service_address": "南京市玄武区锁金四村5栋301",
        "service_confirmed": "y",
        "consent": "y",
    }
    response = post_form(client, f"/cases/{case_id}/intake/submit", submit)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "您的申请已提交给您选择的鼓楼区人民调解委员会，由该机构为您指定调解员" in page, page
    assert "未能自动匹配" not in page


def test_the_whole_intake_from_a_phone(app, applicant):
    client, mediator_id = applicant
    case_id = file_a_case(client)
    assert upload(client, case_id, [("漏水.png", PNG), ("报价单.pdf", PDF)]).status_code == 302
    submit = {
        "choice": "auto",
        "service_address": "南京市玄武区锁金四村5栋301",
        "service_confirmed": "y",
        "consent": "y",
    }
    response = post_form(client, f"/cases/{case_id}/intake/submit", submit)
    assert response.status_code == 302
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case.status == CaseStatus.submitted and case.acceptance_due_at
        assert [(c.text, c.amount) for c in case.claims] == [
            ("赔偿墙面维修费", 3000),
            ("修好防水层", None),
        ]
        applicant_row = case.parties[0]
        assert applicant_row.consented_at and applicant_row.service_confirmed_at
        assert case.mediator_id == mediator_id  # the only mediator for neighbourhood disputes
        assert db.session.scalar(select(CaseAssignment.how)) == "automatic"
        stored = {e.filename: e.sha256 for e in case.evidence}
        assert stored["漏水.png"] == hashlib.sha256(PNG).hexdigest()
        evidence_id = case.evidence[0].id
    preview = client.get(f"/cases/{case_id}/evidence/{evidence_id}")
    assert preview.status_code == 200 and preview.data == PNG
    assert preview.headers["Content-Type"] == "image/png"
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "赔偿墙面维修费" in page and "3,000" in page and "受理期限（3个工作日" in page
    # Submitted: the intake pages are closed.
    assert client.get(f"/cases/{case_id}/intake/dispute").status_code == 404


def test_a_validation_error_keeps_what_was_typed(app, applicant):
    client, _ = applicant
    missing_claim = {**DISPUTE, "claims-0-text": "", "claims-1-text": ""}
    page = post_form(client, "/cases/new", missing_claim).get_data(as_text=True)
    assert "请至少填写一项请求" in page
    assert 'value="楼上漏水"' in page and "卫生间顶部渗水三个月。" in page
    with app.app_context():
        assert db.session.scalar(select(Case)) is None


def test_too_large_or_forbidden_files_are_explained_and_the_rest_is_kept(
    app, applicant, monkeypatch
):
    client, _ = applicant
    case_id = file_a_case(client)
    monkeypatch.setitem(app.config, "MAX_EVIDENCE_BYTES", 1024)
    page = upload(
        client,
        case_id,
        [("big.pdf", PDF + bytes(2048)), ("virus.pdf", b"MZ\x90\x00 not a pdf"), ("ok.png", PNG)],
    ).get_data(as_text=True)
    assert "big.pdf 太大：每个文件不超过" in page
    assert "virus.pdf 无法上传" in page
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert [e.filename for e in case.evidence] == ["ok.png"]
        assert case.title == "楼上漏水" and case.party_users()[1].real_name == "李四"


def test_other_people_see_neither_the_draft_nor_unshared_files(app, applicant):
    client, _ = applicant
    case_id = file_a_case(client)
    upload(client, case_id, [("private.pdf", PDF)])
    upload(client, case_id, [("shared.png", PNG)], shared=True)
    with app.app_context():
        private, shared = db.session.scalars(select(Evidence.id).order_by(Evidence.id)).all()
        stranger = make_user().phone
        db.session.commit()
    other = app.test_client()
    login(other, stranger, PASSWORD)
    for path in (
        f"/cases/{case_id}/intake/dispute",
        f"/cases/{case_id}/intake/evidence",
        f"/cases/{case_id}",
        f"/cases/{case_id}/journal.json",
        f"/cases/{case_id}/evidence/{private}",
        f"/cases/{case_id}/evidence/{shared}",
    ):
        response = other.get(path)
        assert response.status_code == 404, path
        assert b"private.pdf" not in response.data and b"\xe6\xa5\xbc" not in response.data


def test_the_respondent_sees_neither_the_draft_nor_unshared_files_nor_the_address(app, applicant):
    client, _ = applicant
    case_id = file_a_case(client)
    upload(client, case_id, [("secret-medical-report.pdf", PDF)])
    upload(client, case_id, [("shared.png", PNG)], shared=True)
    with app.app_context():
        case = db.session.get(Case, case_id)
        other_side = case.party_users()[1]
        from mediation.accounts import operations as accounts

        accounts.set_password(other_side, PASSWORD)
        other_side.phone_verified_at = utcnow()  # as if they had entered a code
        db.session.commit()
        phone = other_side.phone
    respondent = app.test_client()
    login(respondent, phone, PASSWORD)
    assert respondent.get(f"/cases/{case_id}").status_code == 404  # still a draft
    assert f"/cases/{case_id}" not in respondent.get("/cases/").get_data(as_text=True)
    submit = {
        "choice": "auto",
        "service_address": "南京市秘密地址8号",
        "service_confirmed": "y",
        "consent": "y",
    }
    post_form(client, f"/cases/{case_id}/intake/submit", submit)
    journal = json.dumps(respondent.get(f"/cases/{case_id}/journal.json").json, ensure_ascii=False)
    page = respondent.get(f"/cases/{case_id}/journal").get_data(as_text=True)
    for text in (journal, page):
        assert "secret-medical-report" not in text and "南京市秘密地址8号" not in text
        assert "shared.png" in text
    # The applicant's own view is complete.
    own = json.dumps(client.get(f"/cases/{case_id}/journal.json").json, ensure_ascii=False)
    assert "南京市秘密地址8号" in own and "secret-medical-report" in own


def test_an_agent_files_for_a_party_with_a_power_of_attorney(app, applicant):
    client, _ = applicant
    as_agent = {
        **DISPUTE,
        "as_agent": "y",
        "principal_name": "张老伯",
        "principal_phone": "13822223333",
        "principal_id_number": "",
    }
    response = post_form(client, "/cases/new", as_agent)
    case_id = int(re.search(r"/cases/(\d+)/", response.headers["Location"]).group(1))
    respondent = {"real_name": "李四", "phone": "13811112222", "id_number": ""}
    post_form(client, f"/cases/{case_id}/intake/respondent", respondent)
    submit = {
        "choice": "auto",
        "service_address": "南京市玄武区",
        "service_confirmed": "y",
        "consent": "y",
    }
    page = post_form(client, f"/cases/{case_id}/intake/submit", submit).get_data(as_text=True)
    assert "请上传当事人签署的授权委托书" in page
    token = csrf_token(client, f"/cases/{case_id}/intake/evidence")
    poa = client.post(
        f"/cases/{case_id}/intake/evidence",
        content_type="multipart/form-data",
        data={
            "csrf_token": token,
            "power_of_attorney": "y",
            "files": [(io.BytesIO(PDF), "授权委托书.pdf")],
        },
    )
    assert poa.status_code == 302, re.findall(
        r"field-error[^>]*>([^<]*)", poa.get_data(as_text=True)
    )
    final = post_form(client, f"/cases/{case_id}/intake/submit", submit)
    assert final.status_code == 302, re.findall(
        r"(?:field-error|flash-error)[^>]*>([^<]*)", final.get_data(as_text=True)
    )
    with app.app_context():
        case = db.session.get(Case, case_id)
        rows = {p.user.real_name: p for p in case.parties}
        assert rows["张三"].is_agent and rows["张三"].represents.real_name == "张老伯"
        assert not rows["张老伯"].is_agent and rows["张老伯"].side == "applicant"
        assert [e.kind for e in case.evidence] == ["power_of_attorney"]
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "代理人" in page and "张老伯" in page


SUBMIT = {
    "choice": "auto",
    "service_address": "南京市玄武区锁金四村5栋301",
    "service_confirmed": "y",
    "consent": "y",
}


def _count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_a_submission_sent_twice_says_it_was_submitted_not_page_not_found(app, applicant):
    """A double tap on 提交申请 (or a phone resending the POST): the second answer was a
    404 for a case that had gone through; now it is the case page, submitted once."""
    client, _mediator_id = applicant
    case_id = file_a_case(client)
    path = f"/cases/{case_id}/intake/submit"
    form = {**SUBMIT, "csrf_token": csrf_token(client, path)}
    assert client.post(path, data=form).status_code == 302
    again = client.post(path, data=form)
    assert again.status_code == 302 and again.location.endswith(f"/cases/{case_id}")
    page = client.get(again.location).get_data(as_text=True)
    # Nothing happened in between: the second answer is the one the person sees, and it
    # says what the first would have said (what comes next).
    assert "您的申请已提交" in page and "3个工作日" in page
    assert _count(app, JournalEntry, JournalEntry.action == "case.submit") == 1
    # Once the case moved on (the mediator accepted it), the same form sent again (a page
    # left open, the back button) says it was submitted before.
    with app.app_context():
        case = db.session.get(Case, case_id)
        workflow.transition(case, Action.accept, by=case.mediator)
        db.session.commit()
    later = client.post(path, data=form)
    assert later.status_code == 302 and later.location.endswith(f"/cases/{case_id}")
    assert "您的申请已经提交过了" in client.get(later.location).get_data(as_text=True)
    assert _count(app, JournalEntry, JournalEntry.action == "case.submit") == 1
    # Someone else's case, submitted or not, stays "not found".
    other = app.test_client()
    with app.app_context():
        phone = make_user().phone
        db.session.commit()
    login(other, phone, PASSWORD)
    token = csrf_token(other, "/account")
    assert other.post(path, data={**SUBMIT, "csrf_token": token}).status_code == 404


def test_a_submission_sent_from_two_tabs_at_once_goes_through_once(app, applicant):
    client, _mediator_id = applicant
    case_id = file_a_case(client)
    path = f"/cases/{case_id}/intake/submit"
    with app.app_context():
        phone = db.session.get(Case, case_id).party_users()[0].phone
    second = app.test_client()
    login(second, phone, PASSWORD)
    forms = [{**SUBMIT, "csrf_token": csrf_token(c, path)} for c in (client, second)]
    answers = at_once(
        lambda: client.post(path, data=forms[0]), lambda: second.post(path, data=forms[1])
    )
    assert [a.status_code for a in answers] == [302, 302], answers
    assert all(a.location.endswith(f"/cases/{case_id}") for a in answers)
    assert _count(app, JournalEntry, JournalEntry.action == "case.submit") == 1
    assert _count(app, CaseAssignment) == 1


def test_the_first_step_sent_twice_opens_one_draft(app, applicant):
    """The dispute's first page posted twice (a double tap, a retry on a weak network)
    opened two drafts; the second post now goes on with the first one's draft."""
    client, _mediator_id = applicant
    form = {**DISPUTE, "csrf_token": csrf_token(client, "/cases/new")}
    first = client.post("/cases/new", data=form)
    again = client.post("/cases/new", data=form)
    assert first.status_code == again.status_code == 302
    assert first.location == again.location
    assert _count(app, Case) == 1
    assert _count(app, JournalEntry, JournalEntry.action == "case.opened") == 1
    # Another dispute (or the same one once the other side is named) is a case of its own.
    other = client.post("/cases/new", data={**form, "title": "楼上噪音"})
    assert other.location != first.location and _count(app, Case) == 2


def test_the_first_step_sent_from_two_tabs_at_once_opens_one_draft(app, applicant):
    client, _mediator_id = applicant
    with app.app_context():
        phone = db.session.scalars(select(User).where(User.real_name == "张三")).one().phone
    second = app.test_client()
    login(second, phone, PASSWORD)
    forms = [{**DISPUTE, "csrf_token": csrf_token(c, "/cases/new")} for c in (client, second)]
    answers = at_once(
        lambda: client.post("/cases/new", data=forms[0]),
        lambda: second.post("/cases/new", data=forms[1]),
    )
    assert [a.status_code for a in answers] == [302, 302], answers
    assert answers[0].location == answers[1].location
    assert _count(app, Case) == 1


def test_the_same_dispute_filed_for_two_parties_opens_a_draft_for_each(app, applicant):
    """An agent files the same dispute for two workers (the same employer, the same claims):
    the second first page took over the first worker's draft, which became the second
    worker's, and the first worker's filing was gone. Nor does filing the same dispute for
    oneself take over a draft filed for someone else. Each is a draft of its own; the
    same page sent twice for the same party is still one."""
    client, _mediator_id = applicant

    def as_agent_for(name: str, phone: str) -> dict:
        return {
            **DISPUTE,
            "as_agent": "y",
            "principal_name": name,
            "principal_phone": phone,
            "principal_id_number": "",
        }

    first = post_form(client, "/cases/new", as_agent_for("王师傅", "13822224444"))
    again = post_form(client, "/cases/new", as_agent_for("王师傅", "13822224444"))
    second = post_form(client, "/cases/new", as_agent_for("刘师傅", "13822225555"))
    own = post_form(client, "/cases/new", DISPUTE)
    assert {r.status_code for r in (first, again, second, own)} == {302}
    assert again.location == first.location
    assert len({first.location, second.location, own.location}) == 3
    with app.app_context():
        principals = sorted(
            tuple(sorted(p.user.real_name for p in case.parties if not p.is_agent))
            for case in db.session.scalars(select(Case))
        )
    assert principals == [("刘师傅",), ("张三",), ("王师傅",)]
    # The party an agent files for, filing the same dispute themselves: a draft of their own.
    with app.app_context():
        worker = db.session.scalars(select(User).where(User.real_name == "王师傅")).one()
        own_draft = intake.save_dispute(
            None,
            applicant=worker,
            category=DISPUTE["category"],
            title=DISPUTE["title"],
            facts=DISPUTE["facts"],
            region_code=DISPUTE["region_code"],
            claims=[
                intake.ClaimInput("赔偿墙面维修费", Decimal("3000")),
                intake.ClaimInput("修好防水层", None),
            ],
        )
        db.session.commit()
        assert [p.user.real_name for p in own_draft.parties] == ["王师傅"]
        assert db.session.scalar(select(func.count()).select_from(Case)) == 4


def test_a_claim_of_a_tenth_of_a_fen_is_refused_not_rounded(app, applicant):
    """3000.005 yuan would be kept as another amount (two decimal places are stored): the
    applicant is told to give it in fen, everything typed is kept, no case is opened."""
    client, _mediator_id = applicant
    answer = post_form(client, "/cases/new", {**DISPUTE, "claims-0-amount": "3000.005"})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "金额最多保留两位小数" in page
    assert "卫生间顶部渗水三个月。" in page
