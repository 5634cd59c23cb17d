"""The parties' review of the minutes (SPC online mediation rules art 22): each confirms
with a code, disputed passages are kept and marked, and the final PDF is kept with its
hash."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess

import pytest

from mediation.cases.workflow import NotPermittedError
from mediation.core.forms import FieldError
from mediation.extensions import db
from mediation.journal import operations as journal
from mediation.journal.models import JournalEntry
from mediation.minutes import operations as minutes
from mediation.minutes import passages, review
from tests.factories import make_mediating_case

from .conftest import TEXT, ended_session, given_to_another, last_code_to, messages_to


def pdf_text(path) -> str:
    """The PDF's text as poppler reads it (layout kept, so page footers stay apart)."""
    return subprocess.run(
        [shutil.which("pdftotext"), "-layout", str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_ending_the_session_sends_the_minutes_to_everyone_who_attended(app_ctx):
    case = make_mediating_case()
    applicant, respondent = case.party_users()
    session = ended_session(case)
    written = minutes.of_session(session.id)
    assert written.review_version == written.version
    assert sorted(r.user_id for r in written.reviews) == sorted([applicant.id, respondent.id])
    for party in (applicant, respondent):
        (asked,) = [m for m in messages_to(party.phone) if "/m/" in m]
        assert case.number in asked
        token = asked.rsplit("/m/", 1)[1].split()[0]
        assert review.participant_of_link(token).user_id == party.id
    assert review.participant_of_link("forged") is None


def test_a_party_confirms_with_a_code_and_disputes_a_passage_with_a_reason(app_ctx):
    case = make_mediating_case()
    _applicant, respondent = case.party_users()
    session = ended_session(case)
    written = minutes.of_session(session.id)
    numbers = [p.number for p in passages.passages(written)]
    assert numbers[:4] == ["1.1", "2.1", "2.2", "3.1"]  # one passage per line

    review.send_code(written, respondent)
    code = last_code_to(respondent.phone)
    with pytest.raises(FieldError) as no_reason:
        review.confirm(session, written, respondent, {"2.2": "  "}, code)
    assert no_reason.value.field == "note-2.2"
    with pytest.raises(FieldError) as unknown:
        review.confirm(session, written, respondent, {"9.9": "x"}, code)
    assert unknown.value.field == "disputes"
    with pytest.raises(FieldError) as wrong:
        review.confirm(session, written, respondent, {}, "000000" if code != "000000" else "1")
    assert wrong.value.field == "code"
    assert review.review_of(written, respondent).confirmed_at is None

    review.confirm(session, written, respondent, {"2.2": "从未约定还款日期"}, code)
    mine = review.review_of(written, respondent)
    assert mine.confirmed_at and mine.disputes == [{"passage": "2.2", "note": "从未约定还款日期"}]
    with pytest.raises(review.RepeatedError):
        review.send_code(written, respondent)  # answered once
    with pytest.raises(NotPermittedError):
        review.send_code(written, case.mediator)  # not a reviewer
    assert written.finalised_at is None  # the applicant has not answered yet


def test_a_dispute_is_told_to_the_mediator_who_decides_and_the_pdf_marks_it(app_ctx, app):
    case = make_mediating_case()
    applicant, respondent = case.party_users()
    session = ended_session(case)
    written = minutes.of_session(session.id)
    for party, disputes in ((respondent, {"2.2": "从未约定还款日期"}), (applicant, {})):
        review.send_code(written, party)
        review.confirm(session, written, party, disputes, last_code_to(party.phone))

    # Everyone answered, but a passage is disputed: nothing is made final behind the
    # mediator's back; they are told, and decide.
    assert written.finalised_at is None and review.awaits_mediator(written)
    (told,) = [m for m in messages_to(case.mediator.phone) if "2.2" in m]
    assert case.number in told and respondent.real_name in told
    assert f"/sessions/{session.id}/minutes" in told
    review.close_review(session, written, by=case.mediator)

    assert written.finalised_at is not None and not review.awaits_mediator(written)
    path = review.document_file(written)
    data = path.read_bytes()
    assert data.startswith(b"%PDF-") and hashlib.sha256(data).hexdigest() == written.document_sha256
    text = pdf_text(path)
    for expected in (
        case.number,
        "约定于十月一日前归还",
        "双方确认已还款二千元",
        "从未约定还款日期",
    ):
        assert expected in text
    assert respondent.real_name in text
    pages = text.count("\f")
    assert pages >= 1 and text.count(case.number) >= pages + 1  # on every page, and in the table
    assert re.search(rf"\b1\s*/\s*{pages}\b", text)  # page x of y
    fonts = subprocess.run(
        [shutil.which("pdffonts"), str(path)], capture_output=True, text=True
    ).stdout
    assert "CJK" in fonts and all(
        line.split()[-5] == "yes" for line in fonts.splitlines()[2:]
    )  # every font embedded
    (entry,) = db.session.query(JournalEntry).filter_by(action="minutes.finalised").all()
    assert entry.payload["sha256"] == written.document_sha256
    assert entry.payload["disputes"] == 1
    assert journal.verify_chain(case.id).ok
    with pytest.raises(NotPermittedError):
        minutes.save(session, {"facts": "改动"}, by=case.mediator)  # final is final


def test_a_change_during_the_review_asks_everyone_again(app_ctx):
    case = make_mediating_case()
    applicant, _respondent = case.party_users()
    session = ended_session(case)
    written = minutes.of_session(session.id)
    review.send_code(written, applicant)
    review.confirm(session, written, applicant, {}, last_code_to(applicant.phone))
    asked_before = len([m for m in messages_to(applicant.phone) if "/m/" in m])

    minutes.save(session, {"facts": "双方确认曾有借款关系。"}, by=case.mediator)
    assert written.review_version == written.version == 2
    assert all(r.confirmed_at is None and r.version == 2 for r in written.reviews)
    assert len([m for m in messages_to(applicant.phone) if "/m/" in m]) == asked_before + 1


def test_the_mediator_may_close_the_review_and_silence_is_shown(app_ctx):
    case = make_mediating_case()
    applicant, _respondent = case.party_users()
    session = ended_session(case)
    written = minutes.of_session(session.id)
    with pytest.raises(NotPermittedError):
        review.close_review(session, written, by=applicant)
    review.close_review(session, written, by=case.mediator)
    assert written.finalised_at and all(r.unanswered_at for r in written.reviews)
    with pytest.raises(review.RepeatedError):  # closed once
        review.close_review(session, written, by=case.mediator)
    assert "未确认" in pdf_text(review.document_file(written)) or "not confirm" in pdf_text(
        review.document_file(written)
    )


def test_minutes_are_not_sent_while_empty_or_before_the_end(app_ctx):
    case = make_mediating_case()
    session = ended_session(case, written=False)
    assert minutes.of_session(session.id) is None  # nothing to review
    saved = minutes.save(session, {"attendees": "张某"}, by=case.mediator)
    with pytest.raises(FieldError):
        review.open_review(session, saved, by=case.mediator)  # attendees alone are no record
    running = make_mediating_case()
    from tests.signaling.conftest import open_session

    live = open_session(running)
    saved = minutes.save(live, {"facts": "x"}, by=running.mediator)
    with pytest.raises(NotPermittedError):
        review.open_review(live, saved, by=running.mediator)


def test_only_those_admitted_review_unless_nobody_was(app_ctx):
    case = make_mediating_case()
    session = ended_session(case, admitted=False)
    invited = {p.user_id for p in session.participants if p.role == "party"}
    assert {r.user_id for r in minutes.of_session(session.id).reviews} == invited


def test_a_code_asked_for_an_older_version_confirms_nothing(app_ctx):
    case = make_mediating_case()
    applicant, _respondent = case.party_users()
    session = ended_session(case)
    written = minutes.of_session(session.id)
    review.send_code(written, applicant)
    old_code = last_code_to(applicant.phone)
    minutes.save(session, {"facts": "双方确认曾有借款关系。"}, by=case.mediator)  # version 2
    with pytest.raises(FieldError) as stale:
        review.confirm(session, written, applicant, {}, old_code, version=1)
    assert stale.value.field == "version"
    with pytest.raises(FieldError) as retired:  # even claiming to have read version 2
        review.confirm(session, written, applicant, {}, old_code, version=2)
    assert retired.value.field == "code"
    assert review.review_of(written, applicant).confirmed_at is None


def test_sending_the_same_version_again_keeps_the_answers(app_ctx):
    case = make_mediating_case()
    applicant, _respondent = case.party_users()
    session = ended_session(case)
    written = minutes.of_session(session.id)
    review.send_code(written, applicant)
    review.confirm(session, written, applicant, {}, last_code_to(applicant.phone))
    review.open_review(session, written, by=case.mediator)
    minutes.save(session, dict(TEXT), by=case.mediator)  # the same words: no new version
    assert written.version == 1 and review.review_of(written, applicant).confirmed_at
    # Saved from the form before line breaks came as typed, the words held CR LF: the same
    # words sent now (LF) are still the same, not a new version that reopens the review.
    written.facts = "第一行\r\n第二行"
    db.session.flush()
    minutes.save(session, {"facts": "第一行\n第二行"}, by=case.mediator)
    assert written.version == 1 and review.review_of(written, applicant).confirmed_at


def test_the_last_two_confirming_at_once_finalise_the_minutes(app, tmp_path):
    import threading

    from mediation.accounts.models import User
    from mediation.booking.models import MediationSession
    from tests.booking.race import race_app

    with app.app_context():
        case = make_mediating_case()
        session = ended_session(case)
        written = minutes.of_session(session.id)
        people = case.party_users()
        codes = {}
        for party in people:
            review.send_code(written, party)
            codes[party.id] = last_code_to(party.phone)
        db.session.commit()
        session_id = session.id
    racing = race_app(app.config["SQLALCHEMY_DATABASE_URI"], str(tmp_path))
    racing.config["STORAGE_DIR"] = app.config["STORAGE_DIR"]
    go = threading.Barrier(2)
    out = {}

    def party(user_id: int):
        def run() -> None:
            with racing.app_context():
                user = db.session.get(User, user_id)
                meeting = db.session.get(MediationSession, session_id)
                record = minutes.of_session(session_id)
                go.wait(10)
                try:
                    review.confirm(meeting, record, user, {}, codes[user_id])
                    db.session.commit()
                    out[user_id] = "confirmed"
                except Exception as error:  # the test fails on anything but success
                    db.session.rollback()
                    out[user_id] = repr(error)
                finally:
                    db.session.remove()

        return run

    threads = [threading.Thread(target=party(uid)) for uid in codes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    with racing.app_context():
        db.engine.dispose()
    assert set(out.values()) == {"confirmed"}, out
    with app.app_context():
        record = minutes.of_session(session_id)
        assert record.finalised_at is not None and review.document_file(record).exists()
        finalised = db.session.query(JournalEntry).filter_by(action="minutes.finalised").count()
        assert finalised == 1


def test_after_a_change_of_mediator_the_new_one_decides_the_dispute(app_ctx):
    """The case is given to another mediator while the minutes are under review (art 14):
    the party's dispute goes to the case's mediator now, who closes the review with the
    objection marked (art 22); the PDF names who held the session and who closed it. The
    mediator who held the session, a party and the mediator of another case cannot."""
    case = make_mediating_case()
    applicant, respondent = case.party_users()
    former = case.mediator
    session = ended_session(case)
    written = minutes.of_session(session.id)
    review.send_code(written, applicant)
    review.confirm(session, written, applicant, {}, last_code_to(applicant.phone))
    new = given_to_another(case, session)

    review.send_code(written, respondent)
    review.confirm(
        session, written, respondent, {"2.2": "从未约定还款日期"}, last_code_to(respondent.phone)
    )
    assert review.awaits_mediator(written) and written.finalised_at is None
    # The dispute is told to the mediator who has to decide, not to the one who left.
    assert [m for m in messages_to(new.phone) if "2.2" in m and case.number in m]
    assert not [m for m in messages_to(former.phone) if "2.2" in m]

    other_case = make_mediating_case()
    for someone in (former, applicant, other_case.mediator):
        assert not review.acts_as_mediator(session, someone)
        with pytest.raises(NotPermittedError):
            review.close_review(session, written, by=someone)
        with pytest.raises(NotPermittedError):
            minutes.save(session, {"facts": "改写"}, by=someone)
    assert written.version == 1 and written.finalised_at is None

    review.close_review(session, written, by=new)
    assert written.finalised_at is not None and not review.awaits_mediator(written)
    (closed,) = db.session.query(JournalEntry).filter_by(action="minutes.finalised").all()
    assert closed.actor_id == new.id and closed.payload["disputes"] == 1
    text = pdf_text(review.document_file(written))
    assert former.real_name in text  # who held the session
    assert "结束核对人" in text and f"{new.real_name}（本案变更后的调解员）" in text
    assert "从未约定还款日期" in text
    assert journal.verify_chain(case.id).ok


def test_after_a_change_of_mediator_the_new_one_amends_and_the_parties_confirm(app_ctx):
    """The new mediator may decide the other way: amend the disputed passage; the new
    version goes to every party again and, confirmed without dispute, is final."""
    case = make_mediating_case()
    applicant, respondent = case.party_users()
    session = ended_session(case)
    written = minutes.of_session(session.id)
    review.send_code(written, respondent)
    review.confirm(
        session, written, respondent, {"2.2": "从未约定还款日期"}, last_code_to(respondent.phone)
    )
    new = given_to_another(case, session)

    minutes.save(session, {**TEXT, "applicant_statement": "申请人称被申请人欠款五千元。"}, by=new)
    assert written.review_version == written.version == 2 and not review.awaits_mediator(written)
    for party in (applicant, respondent):
        review.send_code(written, party)
        review.confirm(session, written, party, {}, last_code_to(party.phone))
    assert written.finalised_at is not None  # the last answer made them final
    text = pdf_text(review.document_file(written))
    assert "笔录修改人" in text and f"{new.real_name}（本案变更后的调解员）" in text
    assert "约定于十月一日前归还" not in text and "结束核对人" not in text


def test_a_review_waiting_for_an_agent_the_party_refuses_goes_on_without_them(app_ctx):
    """The respondent's agent attended; both parties confirmed the minutes; the review waits
    for the agent. The respondent then says the agent does not act for them: the agent's
    answer is no longer awaited (they could not give it: the minutes are the case's, no
    longer theirs), and the minutes are made final, as at the last answer."""
    from mediation.cases import agency
    from mediation.cases.models import CaseParty
    from tests.factories import make_user

    from .conftest import last_code_to as code_to

    case = make_mediating_case()
    applicant, respondent = case.party_users()
    row = CaseParty(user=make_user(), side="respondent", is_agent=True, represents=respondent)
    case.parties.append(row)
    db.session.flush()
    agency.confirm(row, by=case.mediator)
    session = ended_session(case, agents=[row.user])
    written = minutes.of_session(session.id)
    assert row.user_id in {r.user_id for r in written.reviews}
    for party in (applicant, respondent):
        review.send_code(written, party)
        review.confirm(session, written, party, {}, code_to(party.phone))
    assert written.finalised_at is None  # the agent's answer awaited

    agency.refuse(row, by=respondent)
    assert written.finalised_at is not None and written.document_sha256
    assert {r.user_id for r in written.reviews} == {applicant.id, respondent.id}
