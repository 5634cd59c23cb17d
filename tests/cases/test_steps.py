"""People move a case on from its page; the page offers only their own steps."""

import re
from datetime import timedelta

import pytest

from mediation.cases.models import Case
from mediation.cases.states import CaseStatus
from mediation.extensions import db
from tests.conftest import at_once, csrf_token, login, post_form
from tests.factories import PASSWORD, make_case, make_institution, make_mediator, make_user


@pytest.fixture
def world(app):
    with app.app_context():
        mediator = make_mediator(make_institution())
        applicant, respondent, stranger = make_user(), make_user(), make_user()
        case = make_case(applicant, respondent, mediator=mediator)
        db.session.commit()
        return {
            "case": case.id,
            "mediator": mediator.phone,
            "applicant": applicant.phone,
            "respondent": respondent.phone,
            "stranger": stranger.phone,
        }


def client_for(app, phone):
    client = app.test_client()
    login(client, phone, PASSWORD)
    return client


def status(app, case_id):
    with app.app_context():
        return db.session.get(Case, case_id).status


def step(client, case_id, action, **data):
    return post_form(
        client, f"/cases/{case_id}/steps/{action}", data, form_page=f"/cases/{case_id}"
    )


def test_the_respondent_agrees_from_the_case_page(app, world):
    respondent = client_for(app, world["respondent"])
    page = respondent.get(f"/cases/{world['case']}").get_data(as_text=True)
    assert "我同意调解" in page and "我不同意调解" in page
    # Before agreeing, yes or no only (PML art 17, SPC rules art 15): no second way to say
    # no, and no form that ends mediation in one tap.
    for gone in ("终结调解", "调解终结的原因", "steps/terminate"):
        assert gone not in page, (gone, re.findall(f".{{60}}{gone}.{{60}}", page))
    answer = {"agree": "1", "service_address": "南京市鼓楼区1号", "service_confirmed": "y"}
    # Without consent to online mediation (art 4) nothing happens.
    post_form(
        respondent, f"/cases/{world['case']}/answer", answer, form_page=f"/cases/{world['case']}"
    )
    assert status(app, world["case"]) == CaseStatus.awaiting_respondent
    response = post_form(
        respondent,
        f"/cases/{world['case']}/answer",
        {**answer, "consent": "y"},
        form_page=f"/cases/{world['case']}",
    )
    assert response.status_code == 302
    assert status(app, world["case"]) == CaseStatus.in_mediation
    timeline = respondent.get(f"/cases/{world['case']}").get_data(as_text=True)
    assert "案件由被申请人同意" in timeline
    # Now in mediation, they may end it, giving only a party's reason (art 25 (4)).
    assert "终结调解" in timeline and "当事人一方明确表示不愿意继续调解" in timeline
    assert "当事人分歧较大" not in timeline


def termination_form(page: str) -> str:
    return re.search(r'<form[^>]*/steps/terminate".*?</form>', page, re.S).group()


def test_ending_mediation_has_no_reason_chosen_and_asks_for_confirmation(app, world):
    """Ending cannot be undone: the reason starts empty ("请选择", required) and a box
    "我确认终结调解" must be ticked; without it nothing changes (no script involved)."""
    mediator = client_for(app, world["mediator"])
    form = termination_form(mediator.get(f"/cases/{world['case']}").get_data(as_text=True))
    first = re.search(r"<select[^>]*required[^>]*>\s*(<option[^>]*>[^<]*</option>)", form)
    assert first and 'value=""' in first.group(1) and "请选择" in first.group(1), form
    assert "selected" not in form.replace('value="" selected', "")
    assert re.search(r'<input type="checkbox"[^>]*name="confirm"[^>]*required', form), form
    assert "我确认终结调解" in form
    # Not ticked: explained, what was typed kept, nothing ended.
    response = step(
        mediator, world["case"], "terminate", reason="too_far_apart", note="双方差距过大"
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "请勾选" in page and "双方差距过大" in page
    assert status(app, world["case"]) == CaseStatus.awaiting_respondent
    # No reason chosen: refused too.
    response = step(mediator, world["case"], "terminate", reason="", confirm="1")
    assert response.status_code == 422
    assert status(app, world["case"]) == CaseStatus.awaiting_respondent


def test_refusing_mediation_asks_for_confirmation(app, world):
    """A refusal ends mediation at once (PML art 17) and cannot be undone: the box "我确认
    不同意调解" must be ticked; without it nothing changes and the reason typed is kept."""
    respondent = client_for(app, world["respondent"])
    page = respondent.get(f"/cases/{world['case']}").get_data(as_text=True)
    checkbox = r'<input type="checkbox" id="confirm-refusal" name="confirm"[^>]*required'
    assert re.search(checkbox, page)
    answer = f"/cases/{world['case']}/answer"
    refused = {"agree": "0", "note": "不想调解"}
    response = post_form(respondent, answer, refused, form_page=f"/cases/{world['case']}")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "请勾选" in page and "不想调解" in page
    assert status(app, world["case"]) == CaseStatus.awaiting_respondent
    assert "被申请人答复期限" in page  # the clock runs while the answer is awaited
    post_form(respondent, answer, {**refused, "confirm": "1"}, form_page=f"/cases/{world['case']}")
    assert status(app, world["case"]) == CaseStatus.terminated
    # Answered: no answer deadline is shown any more, to anyone, nor kept.
    for phone in (world["respondent"], world["applicant"], world["mediator"]):
        page = client_for(app, phone).get(f"/cases/{world['case']}").get_data(as_text=True)
        assert "被申请人答复期限" not in page
    with app.app_context():
        assert db.session.get(Case, world["case"]).respondent_due_at is None


def test_a_respondent_who_has_not_agreed_cannot_end_mediation_by_the_back_door(app, world):
    respondent = client_for(app, world["respondent"])
    response = step(respondent, world["case"], "terminate", reason="party_unwilling", confirm="1")
    assert response.status_code == 403
    assert status(app, world["case"]) == CaseStatus.awaiting_respondent


def test_the_mediator_ends_mediation_with_a_reason(app, world):
    mediator = client_for(app, world["mediator"])
    response = step(
        mediator,
        world["case"],
        "terminate",
        reason="too_far_apart",
        note="双方差距过大",
        confirm="1",
    )
    assert response.status_code == 302
    with app.app_context():
        case = db.session.get(Case, world["case"])
        assert (case.status, case.termination_reason) == ("terminated", "too_far_apart")


def test_an_illegal_step_is_explained_and_nothing_changes(app, world):
    mediator = client_for(app, world["mediator"])
    response = step(mediator, world["case"], "revise_agreement")  # no agreement drafted
    assert response.status_code == 422
    assert "本案当前状态为“待被申请人同意”" in response.get_data(as_text=True)
    assert status(app, world["case"]) == CaseStatus.awaiting_respondent


def test_steps_of_others_are_forbidden_and_strangers_see_nothing(app, world):
    applicant = client_for(app, world["applicant"])
    assert step(applicant, world["case"], "respondent_agrees").status_code == 403
    stranger = client_for(app, world["stranger"])
    # The stranger sends a valid token (from a page of their own) for someone else's case.
    response = post_form(
        stranger, f"/cases/{world['case']}/steps/respondent_refuses", {}, form_page="/account"
    )
    assert response.status_code == 404
    assert status(app, world["case"]) == CaseStatus.awaiting_respondent


def test_the_mediator_writes_the_art_21_record_of_a_failed_mediation(app, world):
    mediator = client_for(app, world["mediator"])
    step(mediator, world["case"], "terminate", reason="too_far_apart", confirm="1")
    record = {
        "situation": "双方就赔偿金额分歧较大",
        "reasons": "被申请人只愿赔偿500元",
        "cost_raising_conduct": "被申请人两次无故缺席",
        "notes_for_court": "",
    }
    path = f"/cases/{world['case']}/failure-record"
    assert post_form(mediator, path, record, form_page=f"/cases/{world['case']}").status_code == 302
    page = client_for(app, world["applicant"]).get(f"/cases/{world['case']}").get_data(as_text=True)
    assert "被申请人两次无故缺席" in page and "调解不成记录" in page
    # Only the mediator writes it.
    applicant = client_for(app, world["applicant"])
    assert (
        post_form(applicant, path, record, form_page=f"/cases/{world['case']}").status_code == 403
    )


def test_the_art_21_record_saved_twice_keeps_its_time_and_is_journaled_once(app, world):
    """A double tap of "save" (or the same record saved again later) moved its time and
    journaled the same record twice; a real change is journaled, with its own time."""
    import time_machine

    from mediation.cases.models import FailureRecord
    from mediation.core.db import utcnow
    from mediation.journal.models import JournalEntry

    mediator = client_for(app, world["mediator"])
    step(mediator, world["case"], "terminate", reason="too_far_apart", confirm="1")
    record = {"situation": "双方就赔偿金额分歧较大", "reasons": "被申请人只愿赔偿500元"}
    path, page = f"/cases/{world['case']}/failure-record", f"/cases/{world['case']}"

    def saved():
        with app.app_context():
            entries = db.session.query(JournalEntry).filter_by(action="failure.recorded")
            return db.session.get(FailureRecord, world["case"]).recorded_at, entries.count()

    first = utcnow().replace(microsecond=0) + timedelta(minutes=1)
    with time_machine.travel(first, tick=False):
        assert post_form(mediator, path, record, form_page=page).status_code == 302
    with time_machine.travel(first + timedelta(minutes=3), tick=False):
        assert post_form(mediator, path, record, form_page=page).status_code == 302
    assert saved() == (first, 1)
    changed = {**record, "notes_for_court": "申请人愿意诉前调解"}
    with time_machine.travel(first + timedelta(minutes=5), tick=False):
        assert post_form(mediator, path, changed, form_page=page).status_code == 302
    assert saved() == (first + timedelta(minutes=5), 2)


def test_a_failed_form_on_the_case_page_keeps_what_was_typed(app, world):
    mediator = client_for(app, world["mediator"])
    step(mediator, world["case"], "terminate", reason="too_far_apart", confirm="1")
    record = {
        "situation": "很长的调解情况说明……",
        "reasons": "",
        "cost_raising_conduct": "多次缺席",
    }
    path = f"/cases/{world['case']}/failure-record"
    response = post_form(mediator, path, record, form_page=f"/cases/{world['case']}")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "请写明调解基本情况和调解不成的原因" in page
    assert "很长的调解情况说明……" in page and "多次缺席" in page


def test_choosing_again_from_the_case_page_refuses_hostile_input_without_a_trace(app):
    """Art 12 para 2 on the case page: after the chosen institution declined, the applicant
    sees the choice; what is not a mediator or institution of the list (the one that declined,
    a party, numbers beyond any id) is answered with a message, never a server error, and
    the case stays where it was."""
    from mediation.accounts.models import Role
    from mediation.cases import assignment, workflow
    from mediation.cases.states import Action
    from tests.conftest import csrf_token

    with app.app_context():
        declining = make_institution()
        admin = make_user(Role.institution_admin, institution_id=declining.id)
        its_mediator = make_mediator(declining)  # refused with its institution: not offered
        applicant, respondent = make_user(), make_user()
        case = make_case(applicant, respondent, submit=False)
        workflow.transition(case, Action.submit, by=applicant)
        case.institution = declining
        assignment.queue(case, by=applicant, how="chosen")
        assignment.decline(case, by=admin, reason="不属于本会调解范围")
        other = make_institution(name="另一调解委员会")
        db.session.commit()
        ids = {
            "case": case.id,
            "declining": declining.id,
            "other": other.id,
            "applicant": applicant.id,
            "its_mediator": its_mediator.id,
        }
        phones = {"applicant": applicant.phone, "respondent": respondent.phone}
    url = f"/cases/{ids['case']}/choose-again"
    mine = client_for(app, phones["applicant"])
    heading = "重新选定调解员或者调解组织"
    section = mine.get(f"/cases/{ids['case']}").get_data(as_text=True)
    assert heading in section
    # It refused: waiting for one of its mediators to become free is not suggested.
    assert "由平台为您匹配调解员" in section and "继续等待" not in section
    theirs = client_for(app, phones["respondent"])
    assert heading not in theirs.get(f"/cases/{ids['case']}").get_data(as_text=True)
    refused = theirs.post(
        url,
        data={"choice": f"institution:{ids['other']}", "csrf_token": csrf_token(theirs, "/cases/")},
    )
    assert refused.status_code == 403
    token = csrf_token(mine, f"/cases/{ids['case']}")
    hostile = ("", "abc", "²", "-1", "institution:", "institution:²", "institution:-1")
    hostile += (f"institution:{10**6}", "institution:" + "9" * 30, "mediator:" + "9" * 30)
    hostile += (f"institution:{ids['declining']}", f"mediator:{ids['applicant']}", "auto:1")
    hostile += (f"mediator:{ids['its_mediator']}",)
    shown = mine.get(f"/cases/{ids['case']}").get_data(as_text=True)
    assert f"mediator:{ids['its_mediator']}" not in shown
    for bad in hostile:
        answer = mine.post(url, data={"choice": bad, "csrf_token": token})
        assert answer.status_code == 302, (bad, answer.status_code)
        page = mine.get(answer.headers["Location"]).get_data(as_text=True)
        assert "请从列表中选择调解员或者调解组织" in page and "Traceback" not in page, bad
    with app.app_context():
        assert db.session.get(Case, ids["case"]).institution_id == ids["declining"]
    done = mine.post(url, data={"choice": f"institution:{ids['other']}", "csrf_token": token})
    assert done.status_code == 302
    with app.app_context():
        moved = db.session.get(Case, ids["case"])
        assert moved.institution_id == ids["other"] and moved.status == CaseStatus.submitted


def test_a_mediator_the_case_was_taken_from_is_told_so_not_shown_page_not_found(app):
    """Art 14: the institution gives the case to another of its mediators while the first
    has its page open; their next button, or their next look, says what happened. Someone
    who never had the case still finds nothing there."""
    from mediation.accounts.models import Role, User
    from mediation.cases import assignment

    with app.app_context():
        first = make_mediator(make_institution())
        second = make_mediator(first.institution)
        admin = make_user(Role.institution_admin, institution_id=first.institution_id)
        case = make_case(make_user(), make_user(), mediator=first)
        db.session.commit()
        ids = {"case": case.id, "second": second.id, "admin": admin.id}
        phones = {"first": first.phone, "stranger": make_mediator(first.institution).phone}
        db.session.commit()
    case_page = f"/cases/{ids['case']}"
    mine = client_for(app, phones["first"])
    token = csrf_token(mine, case_page)  # the page open on their screen
    with app.app_context():
        assignment.reassign_by_institution(
            db.session.get(Case, ids["case"]),
            mediator=db.session.get(User, ids["second"]),
            by=db.session.get(User, ids["admin"]),
        )
        db.session.commit()
    pressed = mine.post(f"{case_page}/steps/terminate", data={"confirm": "1", "csrf_token": token})
    assert pressed.status_code == 302 and case_page not in pressed.headers["Location"]
    home = mine.get(pressed.headers["Location"], follow_redirects=True)
    assert home.status_code == 200 and "已交由其他调解员办理" in home.get_data(as_text=True)
    assert mine.get(case_page).status_code == 302
    assert client_for(app, phones["stranger"]).get(case_page).status_code == 404


def test_a_party_who_asked_for_another_mediator_sees_the_request_wait(app):
    """Art 14 from the case page: after "send the request" the page says it waits for the
    institution, instead of offering the same form as if nothing had been sent."""
    with app.app_context():
        first = make_mediator(make_institution())
        make_mediator(first.institution)  # someone the institution could choose
        case = make_case(make_user(), make_user(), mediator=first)
        db.session.commit()
        case_page, phone = f"/cases/{case.id}", case.party_users()[0].phone
    mine = client_for(app, phone)
    action = f"{case_page}/change-mediator"
    assert f'action="{action}"' in mine.get(case_page).get_data(as_text=True)
    sent = post_form(mine, action, {"reason": "调解员偏向对方"}, form_page=case_page)
    assert sent.status_code == 302
    page = mine.get(case_page).get_data(as_text=True)
    assert 'id="change-asked"' in page and f'action="{action}"' not in page
    assert "申请更换调解员" in page


def _moves(app, case_id, action):
    from sqlalchemy import func, select

    from mediation.journal.models import JournalEntry

    with app.app_context():
        return db.session.scalar(
            select(func.count())
            .select_from(JournalEntry)
            .where(JournalEntry.case_id == case_id, JournalEntry.action == f"case.{action}")
        )


@pytest.fixture
def submitted(app):
    """A case given to a mediator who has yet to accept it."""
    from mediation.cases import assignment

    with app.app_context():
        mediator = make_mediator(make_institution())
        applicant = make_user()
        case = make_case(applicant, make_user())
        assignment.assign(
            case, institution=mediator.institution, mediator=mediator, how="chosen", by=applicant
        )
        db.session.commit()
        return {"case": case.id, "mediator": mediator.phone}


def test_a_step_sent_twice_is_taken_once_and_the_second_answers_as_the_first(app, submitted):
    """A double tap on 受理 (or a phone sending the POST again): the second answer, the one
    the person sees, is not "this case cannot be accepted now" but what the first said;
    the journal has the step once."""
    mediator = client_for(app, submitted["mediator"])
    case_id = submitted["case"]
    token = csrf_token(mediator, f"/cases/{case_id}")
    first = mediator.post(f"/cases/{case_id}/steps/accept", data={"csrf_token": token})
    again = mediator.post(f"/cases/{case_id}/steps/accept", data={"csrf_token": token})
    assert first.status_code == again.status_code == 302
    assert again.location.endswith(f"/cases/{case_id}")
    page = mediator.get(again.location).get_data(as_text=True)
    assert "操作成功：案件现在的状态为“待被申请人同意”" in page
    assert "现在不能受理" not in page
    assert _moves(app, case_id, "accept") == 1


def test_a_step_someone_else_took_meanwhile_is_still_explained(app, world):
    """Not "already done" when the step was another person's: the refusal stays."""
    respondent = client_for(app, world["respondent"])
    answer = f"/cases/{world['case']}/answer"
    agree = {"agree": "1", "consent": "y", "service_address": "南京", "service_confirmed": "y"}
    agreed = post_form(respondent, answer, agree, form_page=f"/cases/{world['case']}")
    assert agreed.status_code == 302
    mediator = client_for(app, world["mediator"])
    response = step(mediator, world["case"], "accept")
    assert response.status_code == 422 and "现在不能受理" in response.get_data(as_text=True)


def test_the_respondent_agreeing_from_two_tabs_at_once_agrees_once(app, world):
    case_id = world["case"]
    tabs = [client_for(app, world["respondent"]) for _ in range(2)]
    agree = {"agree": "1", "consent": "y", "service_address": "南京", "service_confirmed": "y"}
    forms = [{**agree, "csrf_token": csrf_token(tab, f"/cases/{case_id}")} for tab in tabs]
    answers = at_once(
        *(lambda t=tab, f=form: t.post(f"/cases/{case_id}/answer", data=f)
          for tab, form in zip(tabs, forms, strict=True))
    )  # fmt: skip
    assert [a.status_code for a in answers] == [302, 302], answers
    assert status(app, case_id) == CaseStatus.in_mediation
    assert _moves(app, case_id, "respondent_agrees") == 1
    shown = [tab.get(f"/cases/{case_id}").get_data(as_text=True) for tab in tabs]
    # Both tabs say it went through (the second did nothing more).
    assert all("操作成功" in page for page in shown), shown
