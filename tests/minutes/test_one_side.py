"""The minutes of a session held with one side alone (SPC online mediation rules art 16):
the page, the review and the PDF are that side's and the mediator's; the journal keeps a
hash of their words, the words themselves are sealed for that side."""

from __future__ import annotations

from mediation.cases.models import Side
from mediation.extensions import db
from mediation.journal import operations as journal
from mediation.journal.models import JournalEntry, SealedContent
from mediation.minutes import operations as minutes
from mediation.minutes import review
from tests.conftest import login
from tests.factories import PASSWORD, make_mediating_case
from tests.one_side import SECRET_MINUTES, ended_one_side, leaks

from .conftest import last_code_to


def _made(app, *, final: bool):
    with app.app_context():
        case = make_mediating_case()
        session = ended_one_side(case, Side.applicant)
        if final:
            review.close_review(session, minutes.of_session(session.id), by=case.mediator)
        db.session.commit()
        applicant, respondent = case.party_users()
        made = {
            "session": session.id,
            "case": case.id,
            "applicant": applicant.phone,
            "respondent": respondent.phone,
            "mediator": case.mediator.phone,
        }
        db.session.remove()
    return made


def test_the_other_side_gets_404_for_the_page_the_review_and_the_pdf(app, client):
    made = _made(app, final=True)
    base = f"/sessions/{made['session']}/minutes"
    login(client, made["respondent"], PASSWORD)
    for url in (base, f"/sessions/{made['session']}/minutes.pdf"):
        answer = client.get(url)
        assert answer.status_code == 404 and not leaks(answer.get_data(as_text=True))
    assert client.post(f"{base}/review", data={"action": "code"}).status_code in (400, 404)

    for who in ("applicant", "mediator"):
        own = app.test_client()
        login(own, made[who], PASSWORD)
        assert "三万二千" in own.get(base).get_data(as_text=True)
        pdf = own.get(f"/sessions/{made['session']}/minutes.pdf")
        assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_only_that_side_reviews_and_its_words_and_disputes_are_sealed(app_ctx):
    case = make_mediating_case()
    session = ended_one_side(case, Side.applicant)
    applicant = case.party_users()[0]
    found = minutes.of_session(session.id)
    assert {r.user_id for r in found.reviews} == {applicant.id}
    review.send_code(found, applicant)
    review.confirm(
        session, found, applicant, {"2.1": "我没有说过三万二千元"}, last_code_to(applicant.phone)
    )

    entries = db.session.query(JournalEntry).filter_by(case_id=case.id).all()
    as_stored = "".join(str(e.payload) for e in entries)
    assert not leaks(as_stored) and "我没有说过" not in as_stored
    saved = next(e for e in entries if e.action == "minutes.saved")
    assert saved.payload["sealed"]["side"] == Side.applicant
    kept = db.session.get(SealedContent, saved.id)
    assert kept.content == SECRET_MINUTES
    confirmed = next(e for e in entries if e.action == "minutes.confirmed")
    assert db.session.get(SealedContent, confirmed.id).content["disputes"][0]["passage"] == "2.1"
    assert journal.verify_chain(case.id).ok and journal.sealed_problems(case.id) == []
