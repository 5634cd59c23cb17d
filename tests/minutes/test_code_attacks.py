"""The minutes' confirming code attacked from outside, through the review form: the version
the form carries forged (a number no browser sends, a digit that is no ASCII digit, a
number of thousands of digits), another person's code, a code used twice. Each answer is a
page in the party's language; nothing is confirmed that was not read. Runs on SQLite and
PostgreSQL."""

from __future__ import annotations

from mediation.booking.models import MediationSession
from mediation.extensions import db
from mediation.minutes import operations as minutes
from mediation.minutes import review
from tests.conftest import csrf_token, login
from tests.core.test_no_english import english_words, visible_text
from tests.factories import PASSWORD, make_mediating_case

from .conftest import ended_session, last_code_to, messages_to


def _opened(app):
    with app.app_context():
        case = make_mediating_case()
        session = ended_session(case)
        applicant, respondent = case.party_users()
        db.session.commit()
        return session.id, applicant.phone, respondent.phone


def _tab(app, phone, session_id):
    tab = app.test_client()
    assert login(tab, phone, PASSWORD).status_code == 302
    return tab, csrf_token(tab, f"/sessions/{session_id}/minutes")


def _confirmed(app, session_id: int, phone: str) -> bool:
    with app.app_context():
        found = minutes.of_session(session_id)
        user = next(
            p.user
            for p in db.session.get(MediationSession, session_id).case.parties
            if p.user.phone == phone
        )
        mine = review.review_of(found, user)
        return mine is not None and mine.confirmed_at is not None


FORGED = ["\u00b2", "\u2460", "9" * 5000, "-1", "abc", "", "0", "99999999999"]


def test_a_forged_version_is_answered_with_a_page_never_an_error(app):
    session_id, phone, _other = _opened(app)
    tab, token = _tab(app, phone, session_id)
    answer = f"/sessions/{session_id}/minutes/review"
    with app.app_context():
        texts = len(messages_to(phone))
    for version in FORGED:
        for action in ("code", "confirm"):
            data = {"action": action, "version": version, "code": "123456", "csrf_token": token}
            response = tab.post(answer, data=data)
            assert response.status_code == 422, (version[:10], action, response.status_code)
            page = response.get_data(as_text=True)
            assert english_words(visible_text(page)) == {}, version[:10]
    with app.app_context():
        assert len(messages_to(phone)) == texts  # no code for words nobody was shown
    assert not _confirmed(app, session_id, phone)


def test_another_person_s_code_and_a_code_used_twice_confirm_nothing(app):
    session_id, applicant, respondent = _opened(app)
    answer = f"/sessions/{session_id}/minutes/review"
    mine, my_token = _tab(app, applicant, session_id)
    theirs, their_token = _tab(app, respondent, session_id)
    with app.app_context():
        version = str(minutes.of_session(session_id).version)
    sent = mine.post(answer, data={"action": "code", "version": version, "csrf_token": my_token})
    assert sent.status_code == 200
    with app.app_context():
        code = last_code_to(applicant)
    # The respondent, who read the applicant's code over their shoulder, enters it.
    data = {"action": "confirm", "version": version, "code": code, "csrf_token": their_token}
    assert theirs.post(answer, data=data).status_code == 422
    assert not _confirmed(app, session_id, respondent)
    data = {"action": "confirm", "version": version, "code": code, "csrf_token": my_token}
    assert mine.post(answer, data=data).status_code == 302
    assert _confirmed(app, session_id, applicant)
    # The same code again, by the respondent (and by its owner: answered as done).
    data = {"action": "confirm", "version": version, "code": code, "csrf_token": their_token}
    assert theirs.post(answer, data=data).status_code == 422
    assert not _confirmed(app, session_id, respondent)
