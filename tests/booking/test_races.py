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


def test_the_worker_ends_stale_offers_of_two_calendars_while_one_is_booked(
    app, tmp_path, monkeypatch
):
    """The worker drops two offered times that began unchosen, one offered by the case's
    former mediator, one by its new mediator for another case, while the new mediator books
    the first case. The job held the first case's turn (after the former mediator's
    calendar) and went on to the new mediator's calendar, which the booking held while it
    waited for that turn: on PostgreSQL a deadlock, one of the two failed. Now each session
    is a unit of its own (committed before the next): both go through."""
    from mediation import worker
    from mediation.cases.models import Case
    from tests.booking.race import at_first_turn, committed, named
    from tests.factories import make_mediator

    with app.app_context():
        first = make_mediating_case()
        new = make_mediator(first.institution)
        second = make_mediating_case(new)
        for mediator in (first.mediator, new):
            add_weekly_hours(mediator)
        stale = [
            *offers.offer(
                first, by=first.mediator, starts=[at(24, "09:00"), at(24, "13:00")], now=NOW
            ),
            *offers.offer(second, by=new, starts=[at(24, "10:00"), at(24, "14:00")], now=NOW),
        ]
        # The case went to another mediator after its offered time had passed (the
        # worker had not run): the time is the former mediator's, still offered.
        first.mediator_id = new.id
        db.session.commit()
        ids = {"case": first.id, "new": new.id, "stale": [s.id for s in stale]}
    racing = race_app(app.config["SQLALCHEMY_DATABASE_URI"], str(tmp_path))
    dropping, booking_ = threading.Event(), threading.Event()
    at_first_turn(
        monkeypatch,
        # The worker holds the former mediator's calendar and the first case's turn ...
        after={"worker": lambda: (dropping.set(), booking_.wait(2))},
        # ... while the booking holds the new mediator's calendar, asking for that turn.
        before={"booking": booking_.set},
    )
    out: dict = {}

    def book() -> None:
        dropping.wait(10)
        committed(
            racing,
            out,
            "booking",
            lambda: booking.book(
                db.session.get(Case, ids["case"]),
                by=db.session.get(User, ids["new"]),
                start=at(26, "09:00"),
                now=NOW,
            ),
        )

    def sweep() -> None:
        committed(racing, out, "worker", lambda: worker.sessions(racing, now=at(24, "15:00")))

    run_together(named("worker", sweep), named("booking", book))
    with racing.app_context():
        db.engine.dispose()
    assert out == {"worker": "done", "booking": "done"}, out
    with app.app_context():
        statuses = db.session.scalars(
            select(MediationSession.status).where(MediationSession.id.in_(ids["stale"]))
        ).all()
        booked = db.session.scalar(
            select(func.count())
            .select_from(MediationSession)
            .where(
                MediationSession.case_id == ids["case"],
                MediationSession.status == SessionStatus.scheduled,
            )
        )
    assert statuses == [SessionStatus.cancelled] * 4
    assert booked == 1
