"""Nothing slow under a lock (core/locks.py): the minutes PDF is made (WeasyPrint, seconds)
and stored (a network call with object storage) before the minutes' lock and the case's
turn, under a key naming its hash, and only recorded under them. ``finalise`` made and
stored it under both, so every other step of the case waited for the render, and two
finalises of one version at once wrote the same key, one over the other's file.

Under the lock everything is read again: a PDF made for a state that changed meanwhile (the
mediator closed the review while the last party's answer was being made into the PDF) is
never recorded, and the step is answered as it stands."""

from __future__ import annotations

import hashlib
import threading

from agreements import render
from mediation.accounts.models import User
from mediation.booking.models import MediationSession
from mediation.core import storage as storage_module
from mediation.extensions import db
from mediation.journal.models import JournalEntry
from mediation.minutes import operations as minutes
from mediation.minutes import review
from mediation.minutes.models import Minutes
from tests.booking.race import committed, named, race_app
from tests.core.held import watch_slow
from tests.factories import make_mediating_case

from .conftest import ended_session, last_code_to


def kept_as_recorded(written: Minutes) -> bytes:
    """The recorded PDF, read back against the recorded hash, under a key naming it."""
    assert written.document_sha256[:16] in written.document_path
    pdf = storage_module.storage().get(written.document_path, written.document_sha256)
    (entry,) = db.session.query(JournalEntry).filter_by(action="minutes.finalised").all()
    assert entry.payload["sha256"] == hashlib.sha256(pdf).hexdigest()
    return pdf


def test_the_last_confirmation_makes_the_pdf_before_the_lock(app_ctx, monkeypatch):
    case = make_mediating_case()
    applicant, respondent = case.party_users()
    session = ended_session(case)
    written = minutes.of_session(session.id)
    review.send_code(written, applicant)
    review.confirm(session, written, applicant, {}, last_code_to(applicant.phone))
    review.send_code(written, respondent)
    db.session.commit()
    seen = watch_slow(
        monkeypatch, stored="minutes/", rows=("minutes", "session_id", session.id), case_id=case.id
    )
    review.confirm(session, written, respondent, {}, last_code_to(respondent.phone))
    db.session.commit()
    assert seen == [("rendered", False, False), ("stored", False, False)]
    written = minutes.of_session(session.id)
    assert written.finalised_at is not None
    assert kept_as_recorded(written).startswith(b"%PDF")


def test_the_mediator_closing_the_review_makes_the_pdf_before_the_lock(app_ctx, monkeypatch):
    case = make_mediating_case()
    session = ended_session(case)
    db.session.commit()
    seen = watch_slow(
        monkeypatch, stored="minutes/", rows=("minutes", "session_id", session.id), case_id=case.id
    )
    review.close_review(session, minutes.of_session(session.id), by=case.mediator)
    db.session.commit()
    assert seen == [("rendered", False, False), ("stored", False, False)]
    written = minutes.of_session(session.id)
    assert written.finalised_at is not None and all(r.unanswered_at for r in written.reviews)
    kept_as_recorded(written)


def test_the_review_closed_while_the_last_answer_s_pdf_is_made(app, tmp_path, monkeypatch):
    """The mediator closes the review while the last party's confirmation is being made
    into the PDF: the party is told the minutes no longer wait for them, as when the
    review closed just before; the PDF kept is the mediator's, and the one made for the
    party's answer, under a key of its own, is never recorded."""
    with app.app_context():
        case = make_mediating_case()
        applicant, respondent = case.party_users()
        session = ended_session(case)
        written = minutes.of_session(session.id)
        review.send_code(written, applicant)
        review.confirm(session, written, applicant, {}, last_code_to(applicant.phone))
        review.send_code(written, respondent)
        code = last_code_to(respondent.phone)
        db.session.commit()
        session_id, respondent_id, mediator_id = session.id, respondent.id, case.mediator_id
    racing = race_app(app.config["SQLALCHEMY_DATABASE_URI"], str(tmp_path))
    racing.config.update(
        {name: app.config[name] for name in ("SECRET_KEY", "PKI_DIR", "STORAGE_DIR")}
    )

    def confirm() -> None:
        review.confirm(
            db.session.get(MediationSession, session_id),
            minutes.of_session(session_id),
            db.session.get(User, respondent_id),
            {},
            code,
        )

    def close() -> None:
        review.close_review(
            db.session.get(MediationSession, session_id),
            minutes.of_session(session_id),
            by=db.session.get(User, mediator_id),
        )

    out: dict = {}
    closing: list[threading.Thread] = []
    real_html, real_put = render.HTML, storage_module.LocalStorage.put
    stored: list[str] = []

    def put(self, key, data):
        if key.startswith("minutes/"):
            stored.append(key)
        return real_put(self, key, data)

    def html(*args, **kwargs):
        if threading.current_thread().name == "party" and not closing:
            mediator = threading.Thread(
                target=named("mediator", lambda: committed(racing, out, "mediator", close))
            )
            closing.append(mediator)
            mediator.start()
            mediator.join(timeout=10)  # the review is closed while the party's PDF is made
        return real_html(*args, **kwargs)

    monkeypatch.setattr(render, "HTML", html)
    monkeypatch.setattr(storage_module.LocalStorage, "put", put)
    confirming = named("party", lambda: committed(racing, out, "party", confirm))
    party = threading.Thread(target=confirming)
    party.start()
    party.join(timeout=60)
    for thread in closing:
        thread.join(timeout=60)
    with racing.app_context():
        db.engine.dispose()
    assert out.get("mediator") == "done", out
    assert out["party"].startswith("error: NotPermittedError"), out
    with app.app_context():
        written = minutes.of_session(session_id)
        assert [r.user_id for r in written.reviews if r.unanswered_at] == [respondent_id]
        kept_as_recorded(written)
        # The party's PDF, unrecorded: under a key of its own, overwritten by nothing and
        # overwriting nothing.
        assert len(stored) == 2 and written.document_path in stored
        (party_s,) = set(stored) - {written.document_path}
        made = storage_module.storage().local_path(party_s).read_bytes()
        assert hashlib.sha256(made).hexdigest()[:16] in party_s
