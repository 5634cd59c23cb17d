"""The minutes pages: a party reaches them from the text message, disputes a passage and
confirms with a code without losing what they typed; access is checked on every page."""

from __future__ import annotations

import re
from datetime import timedelta

import time_machine

from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.minutes import operations as minutes
from mediation.minutes import review
from tests.conftest import login, post_form
from tests.factories import PASSWORD, make_mediating_case

from .conftest import TEXT, ended_session, given_to_another, last_code_to, messages_to


def review_link(phone: str) -> str:
    (asked,) = [m for m in messages_to(phone) if "/m/" in m]
    return "/m/" + asked.rsplit("/m/", 1)[1].split()[0]


def test_a_party_from_the_text_message_disputes_and_confirms(app, client):
    with app.app_context():
        case = make_mediating_case()
        session = ended_session(case)
        respondent = case.party_users()[1]
        db.session.commit()
        link, phone, session_id = review_link(respondent.phone), respondent.phone, session.id

    first = client.get(link)
    assert first.status_code == 200 and "漏水" not in first.get_data(as_text=True)  # nothing yet
    post_form(client, link, {"action": "send"})
    with app.app_context():
        code = last_code_to(phone)
    entered = post_form(client, link, {"action": "verify", "code": code})
    assert entered.status_code == 302 and entered.location.endswith(
        f"/sessions/{session_id}/minutes"
    )

    page = f"/sessions/{session_id}/minutes"
    shown = client.get(page).get_data(as_text=True)
    assert "约定于十月一日前归还" in shown and 'name="dispute-2.2"' in shown
    answer = f"{page}/review"
    version = re.search(r'name="version"[^>]*value="(\d+)"', shown).group(1)
    typed = {"dispute-2.2": "1", "note-2.2": "从未约定还款日期", "version": version}
    asked = post_form(client, answer, {**typed, "action": "code"}, form_page=page)
    assert asked.status_code == 200 and "从未约定还款日期" in asked.get_data(as_text=True)
    with app.app_context():
        code = last_code_to(phone)
    wrong = post_form(
        client,
        answer,
        {**typed, "action": "confirm", "code": "000000" if code != "000000" else "111111"},
        form_page=page,
    )
    body = wrong.get_data(as_text=True)
    assert wrong.status_code == 422 and "从未约定还款日期" in body  # what they typed is kept
    assert re.search(r'name="dispute-2.2"[^>]*checked', body)
    done = post_form(client, answer, {**typed, "action": "confirm", "code": code}, form_page=page)
    assert done.status_code == 302
    with app.app_context():
        mine = review.review_of(minutes.of_session(session_id), respondent)
        assert mine.confirmed_at and mine.disputes[0]["note"] == "从未约定还款日期"


def test_strangers_get_nothing_and_the_case_gets_the_pdf(app, client):
    with app.app_context():
        case = make_mediating_case()
        session = ended_session(case)
        review.close_review(session, minutes.of_session(session.id), by=case.mediator)
        stranger = make_mediating_case().party_users()[0]
        applicant = case.party_users()[0]
        db.session.commit()
        session_id, stranger_phone, applicant_phone = session.id, stranger.phone, applicant.phone

    login(client, stranger_phone, PASSWORD)
    for path in (f"/sessions/{session_id}/minutes", f"/sessions/{session_id}/minutes.pdf"):
        assert client.get(path).status_code == 404
    # With a valid token (from a page of their own), a stranger still reaches nothing.
    for action in ("review", "close", "send"):
        answer = post_form(
            client, f"/sessions/{session_id}/minutes/{action}", {}, form_page="/account"
        )
        assert answer.status_code == 404, action

    other = app.test_client()
    login(other, applicant_phone, PASSWORD)
    pdf = other.get(f"/sessions/{session_id}/minutes.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF-")
    # A party cannot write the minutes, nor close or reopen their review.
    for action in ("close", "send"):
        answer = post_form(
            other, f"/sessions/{session_id}/minutes/{action}", {}, form_page="/account"
        )
        assert answer.status_code == 403, action


def test_the_mediator_writes_after_the_session_and_sends_them(app, client):
    with app.app_context():
        case = make_mediating_case()
        session = ended_session(case, written=False)
        db.session.commit()
        session_id, mediator = session.id, case.mediator.phone

    login(client, mediator, PASSWORD)
    page = f"/sessions/{session_id}/minutes"
    too_long = post_form(client, page, {**TEXT, "facts": "长" * 20_001, "send": "1"})
    assert too_long.status_code == 422
    assert TEXT["proposals"] in too_long.get_data(as_text=True)  # nothing typed is lost
    sent = post_form(client, page, {**TEXT, "send": "1"})
    assert sent.status_code == 302
    with app.app_context():
        written = minutes.of_session(session_id)
        assert written.review_version == 1 and len(written.reviews) == 2


def test_after_a_change_of_mediator_the_new_one_decides_on_the_page(app, client):
    """A party disputed the minutes, then the case was given to another mediator (art 14):
    the former mediator, from the link of the dispute's text message, is told the case is
    no longer theirs (not "page not found") and can no longer close the review; the new
    mediator sees the decision, never the parties' "not sent to you yet", and closes it;
    the institution's administrator reads where the minutes stand, no party's text."""
    from mediation.accounts.models import Role
    from tests.factories import make_user

    with app.app_context():
        case = make_mediating_case()
        applicant, respondent = case.party_users()
        former = case.mediator
        session = ended_session(case)
        written = minutes.of_session(session.id)
        review.send_code(written, respondent)
        review.confirm(
            session,
            written,
            respondent,
            {"2.2": "从未约定还款日期"},
            last_code_to(respondent.phone),
        )
        (told,) = [m for m in messages_to(former.phone) if "2.2" in m]
        link = told.rsplit("http://", 1)[1].split("/", 1)[1].split()[0]
        new = given_to_another(case, session)
        admin = make_user(Role.institution_admin, institution_id=case.institution_id)
        stranger = make_mediating_case().mediator
        db.session.commit()
        session_id, case_id = session.id, case.id
        phones = {
            "former": former.phone,
            "new": new.phone,
            "applicant": applicant.phone,
            "admin": admin.phone,
            "stranger": stranger.phone,
        }
    page = f"/sessions/{session_id}/minutes"
    assert f"/{link}" == page

    login(client, phones["former"], PASSWORD)
    gone = client.get(page)
    assert gone.status_code == 302 and page not in gone.headers["Location"]
    assert "已交由其他调解员办理" in client.get(page, follow_redirects=True).get_data(as_text=True)
    closing = post_form(client, f"{page}/close", {}, form_page="/account")
    assert closing.status_code == 302 and page not in closing.headers["Location"]

    party = app.test_client()
    login(party, phones["applicant"], PASSWORD)
    assert post_form(party, f"{page}/close", {}, form_page="/account").status_code == 403
    other = app.test_client()
    login(other, phones["stranger"], PASSWORD)
    assert other.get(page).status_code == 404
    assert post_form(other, f"{page}/close", {}, form_page="/account").status_code == 404
    with app.app_context():
        assert minutes.of_session(session_id).finalised_at is None  # nobody of those closed it

    staff = app.test_client()
    login(staff, phones["admin"], PASSWORD)
    seen = staff.get(page).get_data(as_text=True)
    assert "调解笔录正在由当事人核对" in seen and "送您核对" not in seen
    assert "minutes-decision" not in seen

    mediator = app.test_client()
    login(mediator, phones["new"], PASSWORD)
    shown = mediator.get(page).get_data(as_text=True)
    assert 'id="minutes-decision"' in shown and "从未约定还款日期" in shown
    assert "送您核对" not in shown  # the parties' text is not the mediator's
    case_page = mediator.get(f"/cases/{case_id}").get_data(as_text=True)
    assert page in case_page  # the case page leads the new mediator to the decision
    assert mediator.post(f"{page}/close").status_code == 400  # a form without its token
    decided = post_form(mediator, f"{page}/close", {}, form_page=page)
    assert decided.status_code == 302 and decided.headers["Location"].endswith(page)
    with app.app_context():
        assert minutes.of_session(session_id).finalised_at is not None
    assert "minutes.pdf" in mediator.get(page).get_data(as_text=True)


def test_a_refused_agents_minutes_link_says_it_no_longer_applies(app, client):
    """An agent who came to the session is asked to review the minutes; the party then
    refuses them. The link says so before any code, not 'page not found' after it."""
    from mediation.cases import agency
    from mediation.cases.models import CaseParty
    from tests.factories import make_user

    with app.app_context():
        case = make_mediating_case()
        respondent = case.party_users()[1]
        row = CaseParty(user=make_user(), side="respondent", is_agent=True, represents=respondent)
        case.parties.append(row)
        db.session.flush()
        agency.confirm(row, by=case.mediator)
        ended_session(case)
        link, number = review_link(row.user.phone), case.number
        agency.refuse(row, by=respondent)
        db.session.commit()
    answer = client.get(link)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 410 and "此链接已失效：您已不再参与本案" in page
    assert number not in page


# -- the same form sent twice: a double tap, a phone resending the POST, two tabs ---------


def _written_by_two_tabs(app, *, written: bool):
    from tests.conftest import csrf_token

    with app.app_context():
        case = make_mediating_case()
        session = ended_session(case, written=written)
        db.session.commit()
        session_id, mediator = session.id, case.mediator.phone
    tabs = [app.test_client(), app.test_client()]
    for tab in tabs:
        login(tab, mediator, PASSWORD)
    page = f"/sessions/{session_id}/minutes"
    return session_id, page, tabs, [csrf_token(t, page) for t in tabs]


def _count(app, model, **where) -> int:
    with app.app_context():
        return db.session.query(model).filter_by(**where).count()


def test_the_first_minutes_saved_from_two_tabs_at_once_are_saved_once(app):
    """The first save of the minutes, twice at once (a double tap on a slow network), made
    the second request fail on the minutes' key (a 500 page)."""
    from mediation.journal.models import JournalEntry
    from tests.conftest import at_once

    _session_id, page, tabs, tokens = _written_by_two_tabs(app, written=False)
    answers = at_once(
        *(
            lambda t=t, k=k: t.post(page, data={**TEXT, "send": "1", "csrf_token": k})
            for t, k in zip(tabs, tokens, strict=True)
        )
    )
    assert [a.status_code for a in answers] == [302, 302], answers
    assert _count(app, JournalEntry, action="minutes.saved") == 1
    assert _count(app, JournalEntry, action="minutes.review_opened") == 1


def test_minutes_sent_for_review_from_two_tabs_at_once_are_sent_once(app):
    from mediation.journal.models import JournalEntry
    from mediation.notify.models import OutboxMessage
    from tests.conftest import at_once

    session_id, page, tabs, tokens = _written_by_two_tabs(app, written=True)
    with app.app_context():  # written, not sent yet (the session ended before)
        assert minutes.of_session(session_id).review_version is not None
        written = minutes.of_session(session_id)
        written.review_version = None
        written.reviews.clear()
        db.session.commit()
    before = _count(app, OutboxMessage)
    answers = at_once(
        *(
            lambda t=t, k=k: t.post(f"{page}/send", data={"csrf_token": k})
            for t, k in zip(tabs, tokens, strict=True)
        )
    )
    assert [a.status_code for a in answers] == [302, 302], answers
    assert _count(app, JournalEntry, action="minutes.review_opened") == 2  # the end's + one
    assert _count(app, OutboxMessage) - before == 2  # one text to each party, not two


def test_a_review_closed_twice_says_it_was_closed(app):
    from mediation.journal.models import JournalEntry

    _session_id, page, tabs, tokens = _written_by_two_tabs(app, written=True)
    tab = tabs[0]
    assert tab.post(f"{page}/close", data={"csrf_token": tokens[0]}).status_code == 302
    tab.get(page)
    again = tab.post(f"{page}/close", data={"csrf_token": tokens[0]})
    assert again.status_code == 302
    text = tab.get(page).get_data(as_text=True)
    assert "已经结束" in text and "该笔录不在核对中" not in text
    assert _count(app, JournalEntry, action="minutes.finalised") == 1


# -- "send me the code" pressed twice ------------------------------------------------------

SENT = "验证码已发送至"
WAIT = "秒后可再次获取"


def _reviewing(app, monkeypatch, tabs: int = 2):
    """Production pacing (one code a minute per number); the applicant's minutes page in
    ``tabs`` tabs: (session id, phone, [(tab, its review form)])."""
    from tests.conftest import csrf_token

    monkeypatch.setitem(app.config, "CODE_INTERVAL_SECONDS", 60)
    with app.app_context():
        case = make_mediating_case()
        session = ended_session(case)
        applicant = case.party_users()[0]
        db.session.commit()
        session_id, phone = session.id, applicant.phone
    page = f"/sessions/{session_id}/minutes"
    opened = []
    for _ in range(tabs):
        tab = app.test_client()
        login(tab, phone, PASSWORD)
        shown = tab.get(page).get_data(as_text=True)
        version = re.search(r'name="version"[^>]*value="(\d+)"', shown).group(1)
        form = {"action": "code", "version": version, "csrf_token": csrf_token(tab, page)}
        opened.append((tab, form))
    return session_id, phone, opened


def _texts_to(app, phone: str) -> int:
    with app.app_context():
        return len(messages_to(phone))


def test_send_code_pressed_twice_on_the_minutes_sends_one_code(app, monkeypatch):
    """The second press (two tabs at once, or one after the other) was told, as an error
    next to the code field, to wait a minute for a new code, although the code it needed
    had just been sent; now it is answered as the first, and one text goes out. Asked again
    20 seconds later, the party is still told when the next code can come."""
    from tests.conftest import at_once

    session_id, phone, tabs = _reviewing(app, monkeypatch)
    answer = f"/sessions/{session_id}/minutes/review"
    before = _texts_to(app, phone)
    answers = at_once(*(lambda t=t, f=f: t.post(answer, data=f) for t, f in tabs))
    answers.append(tabs[0][0].post(answer, data=tabs[0][1]))
    for pressed in answers:
        body = pressed.get_data(as_text=True)
        assert pressed.status_code == 200 and SENT in body and WAIT not in body
    assert _texts_to(app, phone) - before == 1
    with time_machine.travel(utcnow() + timedelta(seconds=20)):
        later = tabs[1][0].post(answer, data=tabs[1][1])
    assert later.status_code == 422 and WAIT in later.get_data(as_text=True)
    assert _texts_to(app, phone) - before == 1


def test_a_code_retired_since_is_no_answer_to_the_next_press(app, monkeypatch):
    """The mediator changed the minutes just after the party's code went out: that code
    no longer confirms anything, so a press a moment later is no repeat of the first one
    (which it would go on from): the party is told when a new code can come."""
    session_id, phone, [(tab, form)] = _reviewing(app, monkeypatch, tabs=1)
    answer = f"/sessions/{session_id}/minutes/review"
    before = _texts_to(app, phone)
    assert SENT in tab.post(answer, data=form).get_data(as_text=True)
    with app.app_context():
        from mediation.booking.models import MediationSession

        session = db.session.get(MediationSession, session_id)
        minutes.save(session, {"facts": "双方确认曾有借款关系。"}, by=session.case.mediator)
        db.session.commit()
    again = tab.post(answer, data={**form, "version": "2"})
    assert again.status_code == 422 and WAIT in again.get_data(as_text=True)
    assert _texts_to(app, phone) - before == 2  # the code, then the review asked again
