"""Two hands on one session at once: the mediator withdraws an offer while the last party
chooses; two workers clean up the same stale offer. Each row is re-read under the calendar
lock, so the later one sees what the earlier did."""

from __future__ import annotations

import threading
import time

from sqlalchemy import func, select

from mediation.accounts.models import User
from mediation.booking import cleanup, offers
from mediation.booking import operations as booking
from mediation.booking.models import MediationSession, SessionStatus
from mediation.extensions import db
from mediation.journal.models import JournalEntry
from mediation.notify.models import OutboxMessage
from tests.booking.conftest import NOW, at
from tests.booking.race import race_app
from tests.factories import add_weekly_hours, make_mediating_case


def offer_chosen_by_one(app) -> tuple[int, list[int], int]:
    with app.app_context():
        case = make_mediating_case()
        add_weekly_hours(case.mediator)
        offered = offers.offer(
            case, by=case.mediator, starts=[at(24, "09:00"), at(25, "09:00")], now=NOW
        )
        applicant, respondent = case.party_users()
        offers.choose(applicant, offered[0], {offered[0].id}, now=NOW)
        db.session.commit()
        return case.id, [s.id for s in offered], respondent.id


def run_together(*jobs) -> None:
    threads = [threading.Thread(target=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)


def test_a_withdrawn_offer_stays_withdrawn_when_the_last_party_chooses_meanwhile(app, tmp_path):
    _, ids, respondent_id = offer_chosen_by_one(app)
    racing = race_app(app.config["SQLALCHEMY_DATABASE_URI"], str(tmp_path))
    withdrawn = threading.Event()
    outcome: dict[str, str] = {}

    def mediator() -> None:
        with racing.app_context():
            session = db.session.get(MediationSession, ids[0])
            booking.cancel(session, by=session.case.mediator, reason="撤回", now=NOW)
            withdrawn.set()
            time.sleep(1)  # the party's choice arrives while this is not yet committed
            db.session.commit()
            db.session.remove()

    def party() -> None:
        withdrawn.wait(10)
        with racing.app_context():
            user = db.session.get(User, respondent_id)
            session = db.session.get(MediationSession, ids[0])
            try:
                offers.choose(user, session, {ids[0]}, now=NOW)
                db.session.commit()
                outcome["party"] = "chose"
            except booking.NotPermittedError:
                db.session.rollback()
                outcome["party"] = "refused"
            db.session.remove()

    run_together(mediator, party)
    with racing.app_context():
        db.engine.dispose()
    assert outcome == {"party": "refused"}
    with app.app_context():
        statuses = db.session.scalars(
            select(MediationSession.status).where(MediationSession.id.in_(ids))
        ).all()
    assert set(statuses) == {SessionStatus.cancelled}


def test_two_workers_cancel_a_stale_offer_once(app, tmp_path):
    case_id, _, _ = offer_chosen_by_one(app)
    racing = race_app(app.config["SQLALCHEMY_DATABASE_URI"], str(tmp_path))
    go = threading.Barrier(2)

    def worker(pause: float):
        def run() -> None:
            with racing.app_context():
                go.wait(10)
                cleanup.end_stale(now=at(25, "10:00"))
                time.sleep(pause)
                db.session.commit()
                db.session.remove()

        return run

    run_together(worker(1.0), worker(0))
    with racing.app_context():
        db.engine.dispose()
    with app.app_context():
        cancelled = db.session.scalar(
            select(func.count())
            .select_from(JournalEntry)
            .where(JournalEntry.case_id == case_id, JournalEntry.action == "session.cancelled")
        )
        withdrawn = db.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.body.contains("撤回"))
        )
    assert cancelled == 2  # one entry per offered time
    assert withdrawn == 3  # the mediator and the two parties, told once
