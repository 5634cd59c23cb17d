"""Twenty people booking one reception slot at once, each from their own connection: one
talk, nineteen clear refusals, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, time

from sqlalchemy import func, select

from mediation.accounts.models import User
from mediation.booking.availability import add_rule
from mediation.core.forms import FieldError
from mediation.extensions import db
from mediation.reception import operations as ops
from mediation.reception.models import ReceptionBooking
from tests.booking.race import race_app
from tests.factories import make_institution, make_mediator, make_user

NOW = datetime(2025, 12, 1, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
SLOT = datetime(2025, 12, 4, 1, 0, tzinfo=UTC)  # Thursday 09:00, reception day
ATTEMPTS = 20


def test_twenty_people_booking_one_slot_at_once_make_one_talk(app, tmp_path):
    with app.app_context():
        host = make_mediator(make_institution(region_code="420102"))
        add_rule(host.id, 3, time(9), time(11), reception=True, place="接待室")
        people = [make_user().id for _ in range(ATTEMPTS)]
        host_id = host.id
        db.session.commit()
    racing = race_app(app.config["SQLALCHEMY_DATABASE_URI"], str(tmp_path))
    go = threading.Barrier(ATTEMPTS)
    results: list[str] = []

    def attempt(person_id: int) -> None:
        with racing.app_context():
            try:
                go.wait(timeout=60)
                booker, host = db.session.get(User, person_id), db.session.get(User, host_id)
                ops.book(booker, host, SLOT, "同一时间", now=NOW)
                db.session.commit()
                results.append("booked")
            except FieldError as error:
                db.session.rollback()
                results.append("taken" if error.field == "slot" else error.message)
            except Exception as error:  # reported: the test fails on anything else
                db.session.rollback()
                results.append(repr(error))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(p,)) for p in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    with racing.app_context():
        db.engine.dispose()
    assert sorted(set(results)) == ["booked", "taken"], results
    assert results.count("booked") == 1 and len(results) == ATTEMPTS
    with app.app_context():
        assert db.session.scalar(select(func.count(ReceptionBooking.id))) == 1
