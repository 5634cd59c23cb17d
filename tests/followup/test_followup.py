"""Follow-up of performance (issue #21, item 1; People's Mediation Law art 31): obligations
tracked from the agreement in force, the obligor reminded once, a missed date noticed once,
the obligee's confirmation, the mediator's 回访记录, the performance rate. Runs on SQLite
and PostgreSQL (the ``app`` fixture's databases)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import func, select

from mediation import worker
from mediation.accounts import personal_links
from mediation.accounts.models import Role
from mediation.agreements.models import Agreement
from mediation.cases import statistics
from mediation.cases.models import Case
from mediation.cases.states import CaseStatus
from mediation.core.db import utcnow
from mediation.core.forms import FieldError
from mediation.extensions import db
from mediation.followup import links
from mediation.followup import operations as ops
from mediation.followup.models import FollowUp, Obligation, ObligationStatus
from mediation.journal.models import JournalEntry
from mediation.notify.models import OutboxMessage
from tests.conftest import at_once, code_sent_to, csrf_token, login, post_form
from tests.court.conftest import in_force
from tests.factories import PASSWORD, make_mediating_case, make_user

from .conftest import after_the_date, china, this_noon, tracked


def _mark() -> int:
    """The newest message so far: the setting-up of a case sends texts of its own."""
    return db.session.scalar(select(func.coalesce(func.max(OutboxMessage.id), 0)))


def _sms_to(user, since: int) -> list[str]:
    return list(
        db.session.scalars(
            select(OutboxMessage.body).where(
                OutboxMessage.recipient == user.phone, OutboxMessage.id > since
            )
        )
    )


def test_the_last_signature_turns_each_obligation_into_a_tracked_item(app_ctx):
    made = in_force()  # every signer signs in turn; the seal makes it effective
    [obligation] = ops.of_case(made.case)
    applicant, respondent = made.case.party_users()
    assert obligation.obligor.user == respondent and obligation.obligee.user == applicant
    assert obligation.amount == Decimal("3500.00") and obligation.status == "pending"
    assert obligation.due_on == (utcnow() + timedelta(days=30)).date()
    assert "维修费" in obligation.description
    # Once only, even if the signal came again.
    assert ops.track(db.session.get(Agreement, obligation.agreement_id)) == []


def test_the_obligor_is_reminded_once_before_the_date(app_ctx):
    _case, obligation = tracked(days=2)
    _later_case, later = tracked(days=20)
    mark = _mark()
    assert ops.remind_due(this_noon()) == 1
    # A second worker round (or a second worker) sends nothing.
    assert ops.remind_due(this_noon()) == 0
    [text] = _sms_to(obligation.obligor.user, mark)
    assert obligation.obligor.user != obligation.obligee.user
    assert "3500" not in text and "维修费" in text
    assert later.reminded_at is None and _sms_to(later.obligor.user, mark) == []


def test_a_missed_date_is_noticed_once_and_performance_may_still_come(app_ctx):
    case, obligation = tracked(days=5)
    assert ops.mark_missed(this_noon()) == 0  # not yet
    mark = _mark()
    later = after_the_date(obligation)
    assert ops.mark_missed(now=later) == 1
    assert ops.mark_missed(now=later + timedelta(days=1)) == 0
    assert obligation.status == ObligationStatus.missed and obligation.missed_noticed_at
    assert len(_sms_to(case.mediator, mark)) == 1
    [to_obligee] = _sms_to(obligation.obligee.user, mark)
    assert re.search(r"/o/[\w.-]+$", to_obligee)  # the obligee's personal link
    assert ops.missed_for(case.mediator, later) == [obligation]
    ops.record(obligation, case.mediator, kind="call", result="will_perform", outcome="答应下周付")
    ops.confirm(obligation, obligation.obligee.user, full=False, note="已收到1500元")
    assert obligation.status == ObligationStatus.partly
    ops.confirm(obligation, obligation.obligee.user, full=True)
    assert obligation.status == ObligationStatus.performed
    assert ops.missed_for(case.mediator, later) == []


def test_the_worker_job_reminds_and_notices_each_once(app):
    with app.app_context():
        tracked(days=2)
        db.session.commit()
    noon = this_noon()
    assert worker.performance(app, noon) == "1 obligors reminded, 0 missed obligations noticed"
    assert worker.performance(app, noon) == "0 obligors reminded, 0 missed obligations noticed"


def test_a_missed_obligation_claimed_by_another_worker_is_not_told_twice(app_ctx):
    """The conditional UPDATE: a row another worker already marked is skipped."""
    case, obligation = tracked(days=1)
    later = after_the_date(obligation)
    obligation.missed_noticed_at = later  # as if the other worker committed first
    db.session.flush()
    mark = _mark()
    assert ops.mark_missed(now=later) == 0 and _sms_to(case.mediator, mark) == []


def test_only_the_obligee_confirms_and_only_the_mediator_records(app_ctx):
    case, obligation = tracked()
    applicant, respondent = case.party_users()
    other_mediator = make_mediating_case().mediator
    for someone in (respondent, case.mediator, other_mediator):
        with pytest.raises(ops.NotAllowedError):
            ops.confirm(obligation, someone, full=True)
    for someone in (applicant, respondent, other_mediator):
        with pytest.raises(ops.NotAllowedError):
            ops.record(obligation, someone, kind="call", result="other", outcome="x")
    with pytest.raises(FieldError):
        ops.confirm(obligation, applicant, full=False, note="")  # part: say what came
    with pytest.raises(FieldError):
        ops.record(obligation, case.mediator, kind="letter", result="other", outcome="x")
    with pytest.raises(FieldError):
        ops.record(obligation, case.mediator, kind="visit", result="other", outcome="长" * 2001)
    ops.confirm(obligation, applicant, full=True)
    with pytest.raises(ops.NotAllowedError):  # performed: nothing left to confirm
        ops.confirm(obligation, applicant, full=True)


def test_the_performance_rate_counts_obligations_due_and_kept_on_time(app_ctx):
    _a, kept = tracked(days=3)
    _b, missed = tracked(days=3)
    _c, not_yet = tracked(days=30)
    ops.confirm(kept, kept.obligee.user, full=True)
    later = after_the_date(kept, days=3)
    assert ops.rate_counts(None, now=later) == (2, 1)
    assert ops.rate_counts(kept.case.institution_id, now=later) == (1, 1)
    # Today nothing is due yet: the statistics page shows no rate rather than 0 %.
    assert statistics.figures().others["obligations_due"] == 0
    assert not_yet.status == missed.status == "pending"


def test_part_performance_fails_only_after_the_date_and_is_still_urged(app_ctx):
    """Art 31 urges what is still owed: an obligation performed in part is reminded before
    its date, noticed once after it (staying "partly"), and listed to the mediator; only
    then is it a failure to perform (art 33 para 2: enforcement)."""
    case, obligation = tracked(days=2)
    ops.confirm(obligation, obligation.obligee.user, full=False, note="已收到1500元")
    assert not ops.failed([obligation], this_noon())  # part before the date: under way
    mark = _mark()
    assert ops.remind_due(this_noon()) == 1
    assert len(_sms_to(obligation.obligor.user, mark)) == 1
    assert ops.missed_for(case.mediator, this_noon()) == []
    later = after_the_date(obligation)
    assert ops.mark_missed(later) == 1 and ops.mark_missed(later) == 0
    assert obligation.status == ObligationStatus.partly and obligation.missed_noticed_at
    assert len(_sms_to(case.mediator, mark)) == 1
    assert ops.failed([obligation], later)
    assert ops.missed_for(case.mediator, later) == [obligation]


def test_a_follow_up_finding_it_performed_closes_the_obligation(app_ctx):
    """The obligee may never confirm (or not be on the platform): the mediator's finding
    on a call or visit counts, and is journaled."""
    case, obligation = tracked(days=1)
    later = after_the_date(obligation)
    ops.mark_missed(later)
    ops.record(obligation, case.mediator, kind="visit", result="performed", outcome="已当面付清")
    assert obligation.status == ObligationStatus.performed and obligation.performed_at
    assert ops.missed_for(case.mediator, later) == []
    events = db.session.scalars(
        select(JournalEntry.action).where(JournalEntry.case_id == case.id)
    ).all()
    assert "followup.performance_found" in events


def test_on_time_means_by_midnight_in_china(app_ctx):
    """A confirmation at 00:30 the next morning in China (16:30 UTC on the due date) is
    late; one at 23:59 on the due date is on time. The region's rate uses the same rule."""
    from mediation.governance import performance

    _a, kept = tracked(days=3)
    _b, late = tracked(days=3)
    for obligation, when in (
        (kept, china(kept.due_on, 23, 59)),
        (late, china(late.due_on + timedelta(days=1), 0, 30)),
    ):
        obligation.status, obligation.performed_at = ObligationStatus.performed, when
    db.session.flush()
    later = after_the_date(kept, days=3)
    assert ops.rate_counts(None, now=later) == (2, 1)
    everything = Case.id.in_([kept.case_id, late.case_id])
    assert performance.performed_and_due(everything, utcnow() - timedelta(days=1), later) == (
        1,
        2,
    )


def test_no_text_at_night_and_none_after_the_court_refused(app_ctx):
    """The worker sees the date change at midnight: reminders and notices wait for the
    morning. After the court refused to confirm the agreement (CPL art 205), it is not
    urged any more."""
    _case, obligation = tracked(days=2)
    refused, other = tracked(days=2)
    refused.status = CaseStatus.rejected
    db.session.flush()
    night = china(utcnow().date(), 3)
    assert ops.remind_due(night) == 0 and obligation.reminded_at is None
    assert ops.remind_due(this_noon()) == 1 and other.reminded_at is None
    later = after_the_date(obligation)
    assert ops.mark_missed(later.replace(hour=7, minute=59)) == 0
    assert ops.mark_missed(later.replace(hour=8)) == 1 and other.status == "pending"


# -- the pages ---------------------------------------------------------------------------


def _post(client, path: str, data: dict):
    """Post as a browser does, with the token of a page the person can open (their home)."""
    return client.post(path, data=data | {"csrf_token": csrf_token(client, "/account")})


@pytest.fixture
def world(app):
    with app.app_context():
        case, obligation = tracked(days=1)
        ops.mark_missed(now=after_the_date(obligation))
        applicant, respondent = case.party_users()
        admin = make_user(Role.institution_admin, institution_id=case.institution_id)
        other = make_mediating_case()
        made = {
            "case": case.id,
            "obligation": obligation.id,
            "applicant": applicant.phone,
            "respondent": respondent.phone,
            "mediator": case.mediator.phone,
            "admin": admin.phone,
            "other_mediator": other.mediator.phone,
            "other_case": other.id,
        }
        db.session.commit()
    return made


def _as(app, phone):
    client = app.test_client()
    assert login(client, phone, PASSWORD).status_code == 302
    return client


def test_the_case_page_shows_performance_to_its_parties_and_mediator_only(app, world):
    case_path = f"/cases/{world['case']}"
    for who in ("applicant", "respondent", "mediator"):
        page = _as(app, world[who]).get(case_path).get_data(as_text=True)
        assert 'id="performance"' in page, who
    page = _as(app, world["applicant"]).get(case_path).get_data(as_text=True)
    confirm = f"/followup/obligations/{world['obligation']}/confirm"
    assert confirm in page
    assert confirm not in _as(app, world["respondent"]).get(case_path).get_data(as_text=True)
    page = _as(app, world["admin"]).get(case_path).get_data(as_text=True)
    assert 'id="performance"' not in page  # the institution's admin sees the case, not this
    missed = _as(app, world["mediator"]).get("/followup/missed").get_data(as_text=True)
    assert f"/followup/obligations/{world['obligation']}/follow-ups" in missed
    assert _as(app, world["applicant"]).get("/followup/missed").status_code == 403


def test_who_may_confirm_and_record_over_http(app, world):
    o = world["obligation"]
    confirm, record = f"/followup/obligations/{o}/confirm", f"/followup/obligations/{o}/follow-ups"
    note = {"kind": "call", "result": "other", "outcome": "x"}
    anonymous = app.test_client()
    answer = anonymous.post(confirm, data={"csrf_token": csrf_token(anonymous, "/login")})
    assert answer.status_code == 302 and "/login" in answer.location
    other = _as(app, world["other_mediator"])  # another case's mediator
    assert other.get(confirm).status_code == other.get(record).status_code == 404
    assert _post(other, record, note).status_code == 404
    respondent = _as(app, world["respondent"])  # a party, but not the obligee
    assert _post(respondent, confirm, {"how": "full"}).status_code == 403
    assert _post(respondent, record, note).status_code == 403
    mediator = _as(app, world["mediator"])
    assert _post(mediator, confirm, {"how": "full"}).status_code == 403
    hostile = "<script>alert(1)</script>"
    answer = _post(mediator, record, {"kind": "visit", "result": "refuses", "outcome": hostile})
    assert answer.status_code == 302 and answer.location.endswith("#performance")
    for wrong in (
        {"kind": "visit", "result": "x", "outcome": "y"},
        {"kind": "visit", "result": "other", "outcome": "长" * 5000},
        {"kind": "visit", "result": "other", "outcome": "  "},
    ):
        answer = _post(mediator, record, wrong)
        assert answer.status_code == 422 and 'class="field-error"' in answer.get_data(as_text=True)
    page = mediator.get(f"/cases/{world['case']}").get_data(as_text=True)
    assert hostile not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    applicant = _as(app, world["applicant"])
    answer = _post(applicant, confirm, {"how": "part", "note": ""})
    assert answer.status_code == 422  # part: say what was received
    assert _post(applicant, confirm, {"how": "all of it"}).status_code == 422
    with app.app_context():
        assert db.session.scalar(select(func.count(FollowUp.id))) == 1
        assert db.session.get(Obligation, o).status == "missed"
    assert _post(applicant, confirm, {"how": "full"}).status_code == 302
    with app.app_context():
        assert db.session.get(Obligation, o).status == "performed"
    again = applicant.get(confirm)  # nothing left to confirm: back to what was recorded
    assert again.status_code == 302 and again.location.endswith("#performance")
    assert _as(app, world["respondent"]).get(confirm).status_code == 403  # still not theirs


def test_enforcement_is_suggested_when_a_confirmed_agreement_is_not_performed(app, world):
    """Civil Procedure Law art 206: only after the court confirmed the agreement."""
    path = f"/cases/{world['case']}"
    applicant = _as(app, world["applicant"])
    assert 'class="next-step enforcement"' not in applicant.get(path).get_data(as_text=True)
    with app.app_context():
        db.session.get(Case, world["case"]).status = CaseStatus.confirmed
        db.session.commit()
    assert 'class="next-step enforcement"' in applicant.get(path).get_data(as_text=True)


def test_an_obligation_without_a_date_does_not_break_the_case_page(app):
    """agreements/draft.py may leave the date open ("due": None): nothing is past its date,
    and no date is made up (format_day(None) would print today)."""
    with app.app_context():
        case, obligation = tracked()
        obligation.due_on = None
        applicant = case.party_users()[0]
        ids = case.id, obligation.id, applicant.phone
        db.session.commit()
    case_id, obligation_id, phone = ids
    obligee = _as(app, phone)
    assert obligee.get(f"/cases/{case_id}").status_code == 200
    assert (
        _post(
            obligee,
            f"/followup/obligations/{obligation_id}/confirm",
            {"how": "part", "note": "已收到1500元"},
        ).status_code
        == 302
    )
    page = obligee.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'class="next-step"' in page and "was due by" not in page


# -- the obligee's personal link in the "date missed" text ---------------------------------


@pytest.fixture
def by_text(app):
    """A missed obligation whose obligee entered the platform only by codes sent to their
    phone (no password), and the link their text message carries."""
    with app.app_context():
        case, obligation = tracked(days=1)
        obligee = obligation.obligee.user
        obligee.password_hash = None
        mark = _mark()
        ops.mark_missed(now=after_the_date(obligation))
        [text] = _sms_to(obligee, mark)
        made = {
            "link": "/o/" + re.search(r"/o/(\S+)$", text).group(1),
            "phone": obligee.phone,
            "obligation": obligation.id,
            "case": case.id,
            "number": case.number,
            "respondent": case.party_users()[1].phone,
            "mediator": case.mediator.phone,
        }
        db.session.commit()
    return made


def _enter_by_code(app, client, made):
    """What the obligee does with the link alone: ask for the code, type it in."""
    assert post_form(client, made["link"], {"action": "send"}).status_code == 200
    code = code_sent_to(app, made["phone"])
    return post_form(client, made["link"], {"action": "verify", "code": code})


def test_an_obligee_without_a_password_confirms_from_the_text(app, client, by_text):
    page = client.get(by_text["link"])
    assert page.status_code == 200 and "发送验证码" in page.get_data(as_text=True)
    entered = _enter_by_code(app, client, by_text)
    confirm = f"/followup/obligations/{by_text['obligation']}/confirm"
    assert entered.status_code == 302 and entered.location.endswith(confirm)
    done = post_form(client, confirm, {"how": "full"})
    assert done.status_code == 302 and done.location.endswith("#performance")
    with app.app_context():
        assert db.session.get(Obligation, by_text["obligation"]).status == "performed"
        entries = db.session.scalars(
            select(JournalEntry.payload).where(JournalEntry.action == "party.entered")
        ).all()
    assert entries[-1]["via"] == "obligation link"


def test_the_link_opened_again_after_confirming_says_there_is_nothing_to_do(app, client, by_text):
    with app.app_context():
        obligation = db.session.get(Obligation, by_text["obligation"])
        ops.confirm(obligation, obligation.obligee.user, full=True)
        obligation.performed_at = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)  # noon in China
        db.session.commit()
    entered = _enter_by_code(app, client, by_text)
    answer = client.get(entered.location)
    assert answer.status_code == 302
    assert answer.location.endswith(f"/cases/{by_text['case']}#performance")
    page = client.get(answer.location).get_data(as_text=True)
    assert "该项义务已于2026年3月2日" in page and "无需再操作" in page
    assert "无权访问" not in page


def test_the_link_in_other_hands_shows_nothing_of_the_case(app, by_text):
    """Someone else logged in (the other party, the mediator) is offered only to log out on
    that device; a link the platform did not sign is not found."""
    for phone in (by_text["respondent"], by_text["mediator"]):
        other = app.test_client()
        assert login(other, phone, PASSWORD).status_code == 302
        page = other.get(by_text["link"])
        text = page.get_data(as_text=True)
        assert page.status_code == 403 and 'value="switch"' in text
        assert by_text["number"] not in text and "维修费" not in text
    forged = by_text["link"][:-3] + ("A" if by_text["link"][-3] != "A" else "B")
    forged += by_text["link"][-2:]
    assert app.test_client().get(forged).status_code == 404
    assert app.test_client().get("/o/not-a-token").status_code == 404
    with app.app_context():  # signed, but naming someone who is not owed the obligation
        obligation = db.session.get(Obligation, by_text["obligation"])
        signed = personal_links.token(links.LINK_SALT, obligation.id, obligation.obligor.user_id)
    assert app.test_client().get(f"/o/{signed}").status_code == 404


def test_a_follow_up_or_a_confirmation_sent_twice_is_recorded_once(app, world):
    """A double tap, a phone resending the POST, or two tabs at once: one 回访记录 and one
    confirmation, each in the journal once, and the second answer says it was recorded."""
    o = world["obligation"]
    confirm, record = f"/followup/obligations/{o}/confirm", f"/followup/obligations/{o}/follow-ups"
    mediator = _as(app, world["mediator"])
    note = {"kind": "call", "result": "will_perform", "outcome": "被申请人称下周付款"}
    form = note | {"csrf_token": csrf_token(mediator, "/account")}
    assert mediator.post(record, data=form).status_code == 302
    again = mediator.post(record, data=form)
    assert again.status_code == 302 and again.location.endswith("#performance")
    page = mediator.get(f"/cases/{world['case']}").get_data(as_text=True)
    assert "这条回访记录已经保存过了" in page
    other_tab = _as(app, world["mediator"])
    visit = note | {"kind": "visit", "outcome": "上门，被申请人不在家"}
    tabs = [(c, visit | {"csrf_token": csrf_token(c, "/account")}) for c in (mediator, other_tab)]
    answers = at_once(*(lambda c=c, f=f: c.post(record, data=f) for c, f in tabs))
    assert [a.status_code for a in answers] == [302, 302], answers

    applicant, second = _as(app, world["applicant"]), _as(app, world["applicant"])
    part = {"how": "part", "note": "已收到1000元"}
    tabs = [(c, part | {"csrf_token": csrf_token(c, "/account")}) for c in (applicant, second)]
    answers = at_once(*(lambda c=c, f=f: c.post(confirm, data=f) for c, f in tabs))
    assert [a.status_code for a in answers] == [302, 302], answers
    assert _post(applicant, confirm, part).status_code == 302  # and once more, later
    shown = applicant.get(f"/cases/{world['case']}").get_data(as_text=True)
    assert "您的确认已经记录过了" in shown
    with app.app_context():
        kinds = select(JournalEntry.action, func.count()).group_by(JournalEntry.action)
        written = dict(db.session.execute(kinds.where(JournalEntry.case_id == world["case"])).all())
        assert written["followup.recorded"] == 2  # the call and the visit
        assert written["followup.performance_confirmed"] == 1
        assert db.session.scalar(select(func.count(FollowUp.id))) == 2
        assert db.session.get(Obligation, o).status == ObligationStatus.partly


def test_the_same_follow_up_on_another_day_is_a_record_of_its_own(app_ctx):
    """Art 31 回访: the mediator calls on Monday, nobody answers; calls again on Wednesday,
    nobody answers. The second call, written in the same words, was taken for the first
    one sent again and not recorded ("already recorded"); only the same record within a
    moment of the first is a repeat."""
    case, obligation = tracked(days=1)
    ops.mark_missed(after_the_date(obligation))
    call = {"kind": "call", "result": "refuses", "outcome": "电话无人接听"}
    monday = utcnow()
    with time_machine.travel(monday, tick=False):
        ops.record(obligation, case.mediator, **call)
        with pytest.raises(ops.RepeatedError):  # the same form, sent again at once
            ops.record(obligation, case.mediator, **call)
    retry = monday + ops.REPEAT_WINDOW - timedelta(seconds=1)  # a phone retrying its POST
    with time_machine.travel(retry, tick=False), pytest.raises(ops.RepeatedError):
        ops.record(obligation, case.mediator, **call)
    with time_machine.travel(monday + timedelta(days=2), tick=False):
        ops.record(obligation, case.mediator, **call)
    db.session.flush()
    recorded = db.session.scalars(
        select(FollowUp.recorded_at).where(FollowUp.obligation_id == obligation.id)
    ).all()
    assert len(recorded) == 2
    logged = select(func.count()).where(
        JournalEntry.case_id == case.id, JournalEntry.action == "followup.recorded"
    )
    assert db.session.scalar(logged) == 2


def test_the_same_part_performance_a_month_later_is_confirmed_again(app_ctx):
    """The obligee confirms '已收到1000元' in March, and again in April for the next
    instalment, in the same words. The second was taken for the first sent again and not
    recorded ('already recorded'), so the journal showed one payment of the two; only the
    same confirmation within a moment of the first is a repeat."""
    case, obligation = tracked(days=1)
    obligee = obligation.obligee.user
    march = utcnow()
    with time_machine.travel(march, tick=False):
        ops.confirm(obligation, obligee, full=False, note="已收到1000元")
        with pytest.raises(ops.RepeatedError):  # the same form, sent again at once
            ops.confirm(obligation, obligee, full=False, note="已收到1000元")
    with time_machine.travel(march + timedelta(days=30), tick=False):
        ops.confirm(obligation, obligee, full=False, note="已收到1000元")
    db.session.flush()
    logged = select(func.count()).where(
        JournalEntry.case_id == case.id, JournalEntry.action == "followup.performance_confirmed"
    )
    assert db.session.scalar(logged) == 2
    assert obligation.status == ObligationStatus.partly
