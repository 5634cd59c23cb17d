"""What the signing round says (issue #16): the starting text tells no party's own story
and gives each duty to the right role; roles and the document check code in Chinese on
/verify; a signer's personal link opened where someone else is logged in."""

from __future__ import annotations

import re

from mediation.agreements import checks, draft
from mediation.extensions import db
from tests.conftest import login, post_form
from tests.factories import PASSWORD

from .conftest import agreeing_case, complete_draft, last_code_to, messages_to, out_for_signing
from .test_workflow import sign_in_turn


def test_the_starting_facts_are_neutral_and_the_mediator_is_asked_to_write_them(app):
    with app.app_context():
        case, _admin = agreeing_case()
        case.category = "tenancy"
        case.facts = "我租住被申请人的房子两年，退租时他不退押金。"
        start = draft.starting_draft(case)
        assert "我租住" not in start["facts"] and "我" not in start["facts"]
        assert draft.TO_FILL in start["facts"]
        # The tenant returns the keys and the landlord the deposit, whoever filed.
        performance = start["performance"]
        assert re.search(r"承租人[^；]*交还房屋及钥匙", performance), performance
        assert re.search(r"出租人[^；]*退还押金", performance), performance
        # The default terms bind whichever side does not perform, not the respondent only.
        assert "任何一方" in start["default_terms"]
        concerns = {c.code for c in checks.check(case, start)}
        assert "unfilled" in concerns
        filled = {**complete_draft(case)}
        assert "unfilled" not in {c.code for c in checks.check(case, filled)}


def test_no_starting_text_names_a_party_for_a_duty_that_belongs_to_a_role(app):
    """Each category's duties: a party is named only where the claim makes them the one who
    owes (the respondent the applicant claims from); otherwise the role is named."""
    for category, text in draft.STARTING_TEXT.items():
        for field in ("facts",):
            assert "{applicant}" in text[field] and draft.TO_FILL in text[field], category
    assert "{respondent}" not in draft.STARTING_TEXT["tenancy"]["performance"]


def test_verify_names_roles_and_the_check_code_in_chinese_on_a_phone(app, client):
    with app.app_context():
        case, admin = agreeing_case()
        agreement = out_for_signing(case)
        for user in (*case.party_users(), case.mediator, admin):
            sign_in_turn(agreement, user)
        db.session.commit()
        code, applicant = agreement.short_code, case.party_users()[0]
        told = [m for m in messages_to(applicant.phone) if code in m]
    assert told and "文书校验码" in told[-1]
    page = client.get(f"/verify?code={code}", headers={"Accept-Language": "zh-CN"})
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "（当事人）" in body and "（调解员）" in body and "（调解组织）" in body
    assert not re.search(r"\((party|mediator|institution)\)", body)
    assert "文书校验码" in body and "<table" not in body  # a list that wraps on a phone


def test_a_signing_link_where_someone_else_is_logged_in_offers_to_log_them_out(app, client):
    with app.app_context():
        case, _admin = agreeing_case()
        out_for_signing(case)
        db.session.commit()
        applicant, respondent = case.party_users()
        link = "/a/" + messages_to(applicant.phone)[-1].rsplit("/a/", 1)[1].split()[0]
        applicant_phone, respondent_phone, case_id = applicant.phone, respondent.phone, case.id
        applicant_name, number = applicant.real_name, case.number
    # The respondent signed in on the office tablet; the applicant opens her link there.
    login(client, respondent_phone, PASSWORD)
    shown = client.get(link)
    body = shown.get_data(as_text=True)
    assert shown.status_code == 403  # not for him, and nothing of hers is shown
    assert applicant_name not in body and number not in body
    assert 'value="switch"' in body
    switched = post_form(client, link, {"action": "switch"})
    assert switched.status_code == 302 and switched.location.endswith(link)
    assert client.get(f"/cases/{case_id}").status_code in (302, 401)  # he is logged out
    post_form(client, link, {"action": "send"})
    with app.app_context():
        from mediation.accounts.models import User

        code = last_code_to(db.session.query(User).filter_by(phone=applicant_phone).one())
    entered = post_form(client, link, {"action": "verify", "code": code})
    assert entered.location.endswith(f"/cases/{case_id}/agreement/sign")
