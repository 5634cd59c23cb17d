"""A failed mediation's record (SPC online mediation rules art 21) as a PDF a party takes to
online case filing; only the case's parties and mediator get it (and the court that delegated
the dispute). Each content of the record is rendered once and journaled once per person."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from datetime import timedelta

from sqlalchemy import select

from agreements import render
from mediation.accounts.models import Role
from mediation.cases import operations as cases
from mediation.cases import referral, workflow
from mediation.cases.states import Action, TerminationReason
from mediation.core.db import utcnow
from mediation.core.storage import storage
from mediation.extensions import db
from mediation.journal import operations as journal
from mediation.journal.models import JournalEntry
from tests.conftest import login
from tests.factories import PASSWORD, make_court, make_mediating_case, make_user


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


def failed_case():
    """A terminated case with the mediator's art 21 record (in an app context)."""
    case = make_mediating_case()
    workflow.transition(
        case, Action.terminate, by=case.mediator, reason=TerminationReason.too_far_apart
    )
    cases.record_failure(case, by=case.mediator, situation="分歧较大", reasons="金额")
    db.session.commit()
    return case


def issues(case_id: int) -> list[JournalEntry]:
    return db.session.scalars(
        select(JournalEntry)
        .where(JournalEntry.case_id == case_id, JournalEntry.action == "failure.referral_issued")
        .order_by(JournalEntry.seq)
    ).all()


def counting_renders(monkeypatch) -> list[int]:
    renders: list[int] = []

    def pdf_of(html: str) -> bytes:
        renders.append(1)
        return render.pdf_of(html)

    monkeypatch.setattr(referral, "pdf_of", pdf_of)
    return renders


def test_reloading_the_record_renders_it_once_and_journals_it_once(app, client, monkeypatch):
    """The record is issued by GET: a reload or a second download of the same record gets
    the same file, rendered once, and the journal (which goes whole to a court) notes the
    issue once, not once per request."""
    renders = counting_renders(monkeypatch)
    with app.app_context():
        case = failed_case()
        case_id, phone = case.id, case.party_users()[0].phone
    login(client, phone, PASSWORD)
    answers = [client.get(f"/cases/{case_id}/referral.pdf") for _ in range(30)]
    assert {a.status_code for a in answers} == {200} and len({a.data for a in answers}) == 1
    assert len(renders) == 1
    with app.app_context():
        [issued] = issues(case_id)
        assert issued.payload["sha256"] == hashlib.sha256(answers[0].data).hexdigest()
        assert journal.verify_chain(case_id).ok


def test_each_person_and_each_content_of_the_record_is_journaled_once(app, monkeypatch):
    """The other party, the court's clerk and the court by its API each get the same file,
    each journaled once; a record the mediator changed is a new document, issued again."""
    renders = counting_renders(monkeypatch)
    with app.app_context():
        case = failed_case()
        first, second = case.party_users()[:2]
        clerk = make_user(Role.court_clerk, court_id=make_court().id)
        db.session.commit()
        for _ in range(2):
            one = referral.referral_pdf(case, by=first)
            two = referral.referral_pdf(case, by=second)
            three = referral.referral_pdf(case, by=clerk)
            four = referral.referral_pdf(case, by=None, court_id=clerk.court_id)
            db.session.commit()
        assert one == two == three == four and len(renders) == 1
        assert [(e.actor_id, e.payload["court_id"]) for e in issues(case.id)] == [
            (first.id, None),
            (second.id, None),
            (clerk.id, None),
            (None, clerk.court_id),
        ]
        cases.record_failure(case, by=case.mediator, situation="分歧较大", reasons="金额相差一倍")
        db.session.commit()
        changed = referral.referral_pdf(case, by=first)
        assert referral.referral_pdf(case, by=first) == changed != one
        db.session.commit()
        assert len(renders) == 2 and len(issues(case.id)) == 5
        assert journal.verify_chain(case.id).ok


def test_a_file_lost_in_storage_is_made_again_and_journaled_again(app, monkeypatch):
    """The journal names every file a person holds: one made again after its loss is a new
    issue, once; the file kept is read back only if it still has the journaled hash."""
    renders = counting_renders(monkeypatch)
    with app.app_context():
        case = failed_case()
        party = case.party_users()[0]
        first = referral.referral_pdf(case, by=party)
        db.session.commit()
        [issued] = issues(case.id)
        storage().delete(
            referral._key(case.id, issued.payload["content"], issued.payload["sha256"])
        )
        later = utcnow() + timedelta(hours=1)
        monkeypatch.setattr(referral, "utcnow", lambda: later)  # the time printed differs
        again = referral.referral_pdf(case, by=party)
        assert referral.referral_pdf(case, by=party) == again
        db.session.commit()
        assert len(renders) == 2 and first != again
        assert [e.payload["sha256"] for e in issues(case.id)] == [
            hashlib.sha256(pdf).hexdigest() for pdf in (first, again)
        ]
        latest = issues(case.id)[-1].payload
        storage().put(referral._key(case.id, latest["content"], latest["sha256"]), b"%PDF-1.7")
        # Damaged in storage: never given out, made again (else every download would fail).
        remade = referral.referral_pdf(case, by=party)
        db.session.commit()
        assert remade.startswith(b"%PDF") and len(remade) > 1000 and len(renders) == 3
        newest = issues(case.id)[-1].payload
        assert newest["sha256"] == hashlib.sha256(remade).hexdigest()
        key = referral._key(case.id, newest["content"], newest["sha256"])
        assert storage().get(key, newest["sha256"]) == remade
