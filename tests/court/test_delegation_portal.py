"""The court portal's delegations: a clerk delegates from the form, follows the dispute,
and takes back the failure record; another court's staff see none of it."""

from sqlalchemy import select

from mediation.accounts.models import Role, User
from mediation.court.models import Delegation
from mediation.extensions import db
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD, make_court, make_institution, make_user

FORM = {
    "reference": "（2026）苏0102民诉前调8号",
    "category": "neighbourhood",
    "title": "楼上漏水致损",
    "facts": "楼上卫生间漏水。",
    "applicant_name": "李建国",
    "applicant_phone": "13911112222",
    "applicant_address": "南京市玄武区1号",
    "respondent_name": "王小明",
    "respondent_phone": "13933334444",
    "claim": "赔偿修复费用",
    "amount": "8000",
    "days": "30",
}


def staff(app):
    with app.app_context():
        court, other = make_court(), make_court(name="另一人民法院")
        institution = make_institution()
        clerk = make_user(Role.court_clerk, court_id=court.id).phone
        stranger = make_user(Role.court_clerk, court_id=other.id).phone
        db.session.commit()
        return clerk, stranger, institution.id


def test_a_clerk_delegates_from_the_portal(app, client):
    clerk, stranger, institution_id = staff(app)
    login(client, clerk, PASSWORD)
    assert "委派调解" in client.get("/court/").get_data(as_text=True)
    token = csrf_token(client, "/court/delegations")
    bad = client.post(
        "/court/delegations", data={**FORM, "respondent_phone": "123", "csrf_token": token}
    )
    page = bad.get_data(as_text=True)
    assert bad.status_code == 200 and 'aria-invalid="true"' in page and "李建国" in page
    done = client.post(
        "/court/delegations",
        data={**FORM, "institution_id": str(institution_id), "csrf_token": token},
    )
    assert done.status_code == 302
    page = client.get("/court/delegations").get_data(as_text=True)
    # Said what was done: the reference, the case and who mediates it.
    with app.app_context():
        case = db.session.scalar(select(Delegation)).case
        number, institution = case.number, case.institution.name
    assert (
        f"已委派调解：法院案号（2026）苏0102民诉前调8号，案件编号{number}，由{institution}调解。"
        in page
    ), page
    assert "（2026）苏0102民诉前调8号" in page and "调解中" in page
    # The court sees where its case stands in the flow, not only that it is mediating: here
    # the chosen institution has yet to accept it (SPC online mediation rules art 12).
    assert "待受理" in page and '<th scope="col">案件</th>' in page
    with app.app_context():
        made = db.session.scalar(select(Delegation))
        assert made.case.institution_id == institution_id
        delegation_id = made.id
    # Still mediating: no record yet, said so.
    early = client.get(f"/court/delegations/{delegation_id}/failure-record.pdf")
    assert early.status_code == 302
    # Another court's clerk sees neither the list entry nor the record.
    other = app.test_client()
    login(other, stranger, PASSWORD)
    assert "民诉前调8号" not in other.get("/court/delegations").get_data(as_text=True)
    assert other.get(f"/court/delegations/{delegation_id}/failure-record.pdf").status_code == 404


def test_a_delegation_left_to_the_platform_says_who_chooses(app, client):
    """No institution chosen and none can take it: the clerk is told the platform's
    administrators choose one (no institution is named that does not mediate it)."""
    clerk, _stranger, _institution_id = staff(app)
    login(client, clerk, PASSWORD)
    token = csrf_token(client, "/court/delegations")
    done = client.post(
        "/court/delegations", data={**FORM, "institution_id": "0", "csrf_token": token}
    )
    assert done.status_code == 302
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        number = db.session.scalar(select(Delegation)).case.number
    assert f"案件编号{number}，由平台管理员指定调解机构。" in page, page


def test_a_period_of_0_days_is_answered_by_the_range_not_as_missing(app, client):
    """0 typed in the period is a number: the answer is "1 to 90", not "this field is
    required" (DataRequired took 0 for an empty field; InputRequired does not)."""
    clerk, _stranger, _institution_id = staff(app)
    login(client, clerk, PASSWORD)
    token = csrf_token(client, "/court/delegations")
    for days in ("0", "91"):
        page = client.post(
            "/court/delegations", data={**FORM, "days": days, "csrf_token": token}
        ).get_data(as_text=True)
        assert "1 到 90" in page and 'aria-invalid="true"' in page, days
        assert "此项为必填项" not in page, days
    empty = client.post("/court/delegations", data={**FORM, "days": "", "csrf_token": token})
    assert "此项为必填项" in empty.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Delegation)) is None


def test_an_amount_of_a_tenth_of_a_fen_is_refused_not_rounded(app, client):
    """8000.005 yuan would be kept as 8000.01 or 8000.00 (two decimal places are stored),
    not the amount the clerk typed: they are told to give it in fen, and nothing is made.
    (The API refuses it too: tests/court/test_delegation_api.py.)"""
    clerk, _stranger, institution_id = staff(app)
    login(client, clerk, PASSWORD)
    token = csrf_token(client, "/court/delegations")
    answer = client.post(
        "/court/delegations",
        data={
            **FORM,
            "amount": "8000.005",
            "institution_id": str(institution_id),
            "csrf_token": token,
        },
    )
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "金额最多保留两位小数" in page
    assert 'aria-invalid="true"' in page and "李建国" in page  # the form kept
    with app.app_context():
        assert db.session.scalar(select(Delegation)) is None


def test_delegations_show_in_the_statistics(app, client):
    with app.app_context():
        from mediation.court import delegation

        from .test_delegation import dispute

        court, institution = make_court(), make_institution()
        delegation.delegate(court, dispute(institution_id=institution.id))
        admin = make_user(Role.institution_admin, institution_id=institution.id).phone
        platform = make_user(Role.platform_admin).phone
        db.session.commit()
    for who in (admin, platform):
        viewer = app.test_client()
        login(viewer, who, PASSWORD)
        page = viewer.get("/statistics").get_data(as_text=True)
        assert "法院委派" in page and "立案前委派的纠纷" in page, who


def test_a_clerk_designates_another_institution_after_a_decline(app, client):
    """SPC online mediation rules art 12 para 2: the institution the court chose declined
    the dispute; the portal shows it first, with the choice of another, and a clerk of
    another court can neither see nor designate it."""
    from mediation.cases import assignment
    from mediation.court import delegation

    from .test_delegation import dispute

    clerk, stranger, institution_id = staff(app)
    with app.app_context():
        clerk_user = db.session.scalar(select(User).where(User.phone == clerk))
        made = delegation.delegate(clerk_user.court, dispute(institution_id=institution_id))
        admin = make_user(Role.institution_admin, institution_id=institution_id)
        other_institution = make_institution(name="梁溪区人民调解委员会").id
        assignment.decline(made.case, by=admin, reason="不属于本会调解范围")
        db.session.commit()
        delegation_id, number = made.id, made.case.number
    login(client, clerk, PASSWORD)
    page = client.get("/court/delegations").get_data(as_text=True)
    assert "重新指定调解组织" in page and f'id="delegation-{delegation_id}"' in page
    section = page[page.index('id="designate-heading"') : page.index("</section>")]
    assert f'<option value="{institution_id}">' not in section  # not the one that declined
    assert f'<option value="{other_institution}">' in section
    url = f"/court/delegations/{delegation_id}/designate"
    token = csrf_token(client, "/court/delegations")
    # Another court's clerk: as if it did not exist; a post without the token: refused.
    other = app.test_client()
    login(other, stranger, PASSWORD)
    other_token = csrf_token(other, "/court/delegations")
    assert "重新指定调解组织" not in other.get("/court/delegations").get_data(as_text=True)
    assert (
        other.post(url, data={"institution_id": "0", "csrf_token": other_token}).status_code == 404
    )
    assert client.post(url, data={"institution_id": str(other_institution)}).status_code == 400
    for bad in ("", "abc", str(10**6), str(institution_id)):
        answer = client.post(url, data={"institution_id": bad, "csrf_token": token})
        assert answer.status_code == 302, bad
        assert "flash-error" in client.get(answer.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Delegation, delegation_id).case.institution_id == institution_id
    done = client.post(url, data={"institution_id": str(other_institution), "csrf_token": token})
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert (
        f"已重新指定：纠纷（2026）苏0102民诉前调1号（案件{number}）已转由梁溪区人民调解委员会"
        in page
    )
    assert "重新指定调解组织" not in page
    with app.app_context():
        assert db.session.get(Delegation, delegation_id).case.institution_id == other_institution
