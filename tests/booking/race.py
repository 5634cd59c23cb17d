"""Attempts to book one slot at once, from threads of this or another process (the
``book_from_threads`` function is what a second process runs)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from datetime import datetime

from mediation import create_app
from mediation.accounts.models import User
from mediation.booking import operations as booking
from mediation.cases.models import Case
from mediation.extensions import db


def race_app(database_url: str, instance_path: str):
    """An app with a connection for every thread, so that the attempts are truly at once."""
    return create_app(
        {
            "ENV_NAME": "testing",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "INSTANCE_PATH": instance_path,
            "SERVER_NAME": "mediation.test",
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 60, "max_overflow": 0},
        }
    )


def committed(app, out: dict, name: str, act) -> None:
    """``act`` run in ``app``'s context and committed, as a request's edge commits (on a
    thread of its own): ``out[name]`` is "done", or the error it raised, reported to the
    test, which fails on anything it did not expect."""
    with app.app_context():
        try:
            act()
            db.session.commit()
            out[name] = "done"
        except Exception as error:  # reported to the test, which fails on anything else
            db.session.rollback()
            out[name] = f"error: {error!r}"
        finally:
            db.session.remove()


def at_first_turn(
    monkeypatch,
    *,
    before: dict[str, Callable[[], object]] | None = None,
    after: dict[str, Callable[[], object]] | None = None,
) -> None:
    """``before[name]()`` runs when the thread named ``name`` first asks for a case's turn
    (``journal.turn``, or ``journal.append``, which takes it), holding whatever it locked
    before; ``after[name]()`` once it holds the turn. A race test pauses a step there to
    let the other one take its locks (core/locks.py: the order of locks)."""
    from mediation.journal import operations as journal

    before, after, seen = before or {}, after or {}, set()

    def watched(real):
        def call(case_id, *args, **kwargs):
            name = threading.current_thread().name
            first = name not in seen
            seen.add(name)
            if first and name in before:
                before[name]()
            result = real(case_id, *args, **kwargs)
            if first and name in after:
                after[name]()
            return result

        return call

    monkeypatch.setattr(journal, "turn", watched(journal.turn))
    monkeypatch.setattr(journal, "append", watched(journal.append))


def _together(*jobs) -> None:
    threads = [threading.Thread(target=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)


def named(name: str, job: Callable[[], None]) -> Callable[[], None]:
    """``job`` run on a thread called ``name`` (``at_first_turn`` tells threads by name)."""

    def run() -> None:
        threading.current_thread().name = name
        job()

    return run


def race_at_the_turn(app, tmp_path, monkeypatch, step, job) -> dict:
    """``step`` (a person's) takes the case's turn and stops there until ``job`` (the
    worker's, or another person's) first asks for it, or 2 s; then each goes on, on an app
    of its own with a connection per thread, with ``app``'s secret, files and CA (a step
    may enter a code ``app`` issued, read a document it stored, sign). What each came to
    (``committed``)."""
    racing = race_app(app.config["SQLALCHEMY_DATABASE_URI"], str(tmp_path))
    racing.config.update(
        {name: app.config[name] for name in ("SECRET_KEY", "PKI_DIR", "STORAGE_DIR")}
    )
    took, asked = threading.Event(), threading.Event()
    at_first_turn(
        monkeypatch,
        after={"step": lambda: (took.set(), asked.wait(2))},
        before={"job": asked.set},
    )
    out: dict = {}
    run = functools.partial(committed, racing, out)

    def worker() -> None:
        took.wait(10)
        run("job", job)

    _together(named("step", lambda: run("step", step)), named("job", worker))
    with racing.app_context():
        db.engine.dispose()
    return out


def attempt(app, case_id: int, start: datetime, now: datetime, go: threading.Barrier) -> str:
    with app.app_context():
        try:
            go.wait(timeout=60)
            case = db.session.get(Case, case_id)
            mediator = db.session.get(User, case.mediator_id)
            booking.book(case, by=mediator, start=start, now=now)
            db.session.commit()
            return "booked"
        except booking.SlotUnavailableError:
            db.session.rollback()
            return "taken"
        except Exception as error:  # reported to the test, which fails on anything else
            db.session.rollback()
            return repr(error)
        finally:
            db.session.remove()


def book_from_threads(
    database_url: str,
    instance_path: str,
    case_id: int,
    start_iso: str,
    now_iso: str,
    threads: int,
    ready=None,
) -> list[str]:
    """``threads`` attempts released together (after ``ready``, a cross-process barrier)."""
    app = race_app(database_url, instance_path)
    start, now = datetime.fromisoformat(start_iso), datetime.fromisoformat(now_iso)
    go = threading.Barrier(threads)
    results: list[str] = []
    lock = threading.Lock()

    def run() -> None:
        outcome = attempt(app, case_id, start, now, go)
        with lock:
            results.append(outcome)

    if ready is not None:
        ready.wait(timeout=60)
    workers = [threading.Thread(target=run) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    with app.app_context():
        db.engine.dispose()  # PostgreSQL's connection slots are few
    return results
