"""Reminders 24 hours and 1 hour before a session: each once, whatever the workers do."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import timedelta

from sqlalchemy import func, select

from mediation.booking import operations as booking
from mediation.booking import reminders
from mediation.booking.models import MediationSession
from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.notify.models import OutboxMessage
from tests.booking.conftest import NOW, at
from tests.booking.race import race_app
from tests.factories import make_mediating_case


def reminders_queued() -> int:
    return db.session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.body.contains("提醒"))
    )


def test_a_day_before_and_an_hour_before_each_once(case):
    session = booking.book(case, by=case.mediator, start=at(24, "09:00"), now=NOW)
    people = len(session.participants)
    assert reminders.send_due(now=at(23, "08:00")) == 0  # 25 hours before
    assert reminders.send_due(now=at(23, "09:30")) == 1
    assert reminders.send_due(now=at(23, "10:00")) == 0  # a restart: nothing again
    assert reminders_queued() == people
    assert reminders.send_due(now=at(24, "08:10")) == 1
    assert reminders.send_due(now=at(24, "08:20")) == 0
    assert reminders_queued() == 2 * people


def test_a_moved_session_is_reminded_again_and_a_cancelled_one_never(case):
    session = booking.book(case, by=case.mediator, start=at(24, "09:00"), now=NOW)
    reminders.send_due(now=at(23, "09:30"))
    booking.reschedule(session, by=case.mediator, start=at(26, "09:00"), reason="改期", now=NOW)
    assert reminders.send_due(now=at(25, "09:30")) == 1
    booking.cancel(session, by=case.mediator, reason="和解", now=NOW)
    assert reminders.send_due(now=at(26, "08:30")) == 0


def test_booked_within_the_hour_only_the_hour_reminder_goes_out(case):
    booking.book(case, by=case.mediator, start=at(24, "09:00"), now=NOW)
    assert reminders.send_due(now=at(24, "08:30")) == 1
    assert reminders.send_due(now=at(24, "08:40")) == 0


def _session_soon(app) -> int:
    """A session starting in two hours, really (the workers read the clock)."""
    from tests.signaling.conftest import open_session

    with app.app_context():
        session = open_session(make_mediating_case(), start=utcnow() + timedelta(hours=2))
        db.session.commit()
        return len(session.participants)


def test_two_workers_at_once_send_each_reminder_once(app, tmp_path):
    people = _session_soon(app)
    racing = race_app(app.config["SQLALCHEMY_DATABASE_URI"], str(tmp_path))
    go = threading.Barrier(8)
    counts: list[int] = []

    def worker() -> None:
        with racing.app_context():
            go.wait(timeout=30)
            counts.append(reminders.send_due())
            db.session.commit()
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    with racing.app_context():
        db.engine.dispose()
    assert sorted(counts) == [0] * 7 + [1]
    with app.app_context():
        assert reminders_queued() == people


def test_two_worker_processes_send_each_reminder_once(app, tmp_path):
    """``mediation worker --once`` twice at the same moment, as two timers might."""
    people = _session_soon(app)
    env = {
        **os.environ,
        "MEDIATION_ENV": "testing",
        "MEDIATION_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "MEDIATION_INSTANCE_PATH": str(tmp_path),
    }
    command = [sys.executable, "-m", "flask", "--app", "mediation", "worker", "--once"]
    workers = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for _ in range(2)
    ]
    outputs = [w.communicate(timeout=120)[0].decode() for w in workers]
    assert all(w.returncode == 0 for w in workers), outputs
    assert sum("1 session reminders sent" in out for out in outputs) == 1, outputs
    with app.app_context():
        assert reminders_queued() == people
        assert db.session.scalar(select(MediationSession.reminded_day_at)) is not None


def test_a_session_moved_while_the_worker_looks_gets_no_early_reminder(case, monkeypatch):
    session = booking.book(case, by=case.mediator, start=at(24, "09:00"), now=NOW)
    real_claim = reminders._claim

    def claim(session_id, column, now, ahead):
        # The mediator moves the session between the worker's query and its claim.
        if session.start_at == at(24, "09:00"):
            booking.reschedule(
                session, by=case.mediator, start=at(27, "09:00"), reason="改期", now=NOW
            )
        return real_claim(session_id, column, now, ahead)

    monkeypatch.setattr(reminders, "_claim", claim)
    assert reminders.send_due(now=at(23, "10:00")) == 0
    monkeypatch.setattr(reminders, "_claim", real_claim)
    assert session.reminded_day_at is None
    assert reminders.send_due(now=at(26, "10:00")) == 1  # the day before the new time


def test_the_worker_thread_of_the_run_command_sends_them(app):
    """What ``mediation run`` starts on the embedded defaults: the same jobs, in a thread."""
    import time

    from mediation.worker import start_thread

    people = _session_soon(app)
    stop = start_thread(app)
    try:
        for _ in range(100):  # up to 10 s
            with app.app_context():
                if reminders_queued() == people:
                    break
            time.sleep(0.1)
    finally:
        stop.set()
        for thread in threading.enumerate():
            if thread.name == "worker":
                thread.join(timeout=10)  # its round ends before the tables are emptied
    with app.app_context():
        assert reminders_queued() == people
