"""The background worker: every periodic job of the platform, as a loop for ``mediation worker``
or as a thread of ``mediation run`` on the embedded defaults."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, NamedTuple

from flask import Flask

from . import archive
from .booking import cleanup
from .booking import reminders as session_reminders
from .cases import assignment, extension, reminders, respondent
from .consultation import operations as consultation
from .core.db import utcnow
from .core.sqlite import is_busy
from .court import delegation
from .extensions import db
from .followup import operations as followup
from .governance import tallies
from .governance import warnings as governance
from .notify.worker import deliver_once

log = logging.getLogger(__name__)


@contextmanager
def _committed(app: Flask) -> Iterator[None]:
    """One job's unit of work: the operations flush, the job (the edge) commits once."""
    with app.app_context():
        try:
            yield
            db.session.commit()
        finally:
            db.session.remove()


# An item whose step failed is tried again in the next round (a passing fault: a deadlock,
# a gateway down a moment), then after a pause that doubles from RETRY_FIRST up to
# RETRY_MOST: a case whose step breaks every time would otherwise write its traceback to
# the log every round (every OUTBOX_POLL_SECONDS) for as long as nobody mends it, and cost
# each round its time. The first failure is logged with its traceback, each retry that
# fails in one line. Kept per process, in the app's extensions (what a restart forgets is
# tried again at once).
RETRY_FIRST = 30.0
RETRY_MOST = 3600.0
FAILING = "worker.failing"
_clock = time.monotonic  # a test moves it


class _Failing(NamedTuple):
    times: int
    retry_at: float


def _one_by_one(app: Flask, items: list, step: Callable[[Any], int]) -> int:
    """``step`` for each of ``items``, each its own unit of work, committed before the
    next: for a step that takes a calendar or a case's turn, which one transaction must not
    hold while it goes on to another's (core/locks.py: the order of locks). Each step reads
    its row again under its locks, so a unit that finds it done by another does nothing,
    and a job stopped half-way is finished by the next round.

    A step that fails is logged and rolled back, and the others go on: one case whose step
    breaks must not hold back every other case's deadline, round after round (they are
    listed in id order, so it would come first each time). It is tried again later and
    later (``RETRY_FIRST``)."""
    failing: dict[tuple, _Failing] = app.extensions.setdefault(FAILING, {})
    job = getattr(step, "__code__", step)  # each job's step (a lambda) is a code of its own
    listed = {(job, repr(item)) for item in items}
    for key in [k for k in failing if k[0] == job and k not in listed]:
        del failing[key]  # no longer due (done by another, or mended): forgotten
    done = 0
    for item in items:
        key, before = (job, repr(item)), failing.get((job, repr(item)))
        if before is not None and _clock() < before.retry_at:
            continue
        try:
            with _committed(app):
                done += step(item)
        except Exception as error:
            if is_busy(error):  # SQLite locked by a writer for long: the next round
                log.warning("worker: %r: database busy, next round", item)
                continue
            times = 1 if before is None else before.times + 1
            pause = 0.0 if times == 1 else min(RETRY_FIRST * 2 ** (times - 2), RETRY_MOST)
            failing[key] = _Failing(times, _clock() + pause)
            if before is None:
                log.exception("worker: %r failed; the others go on", item)
            else:
                log.warning(
                    "worker: %r failed again (%d times, %s: %s); next try in %d s",
                    item,
                    times,
                    type(error).__name__,
                    " ".join(str(error).split())[:200],  # one line
                    pause,
                )
        else:
            failing.pop(key, None)
    return done


def _listed(app: Flask, find: Callable[[], list]) -> list:
    """What a job will act on, read in a unit of its own."""
    with _committed(app):
        return find()


def deliver_outbox(app: Flask) -> str:
    report = deliver_once(app)
    return f"{report.sent} sent, {report.failed} failed"


def reassign_overdue_cases(app: Flask, now: datetime | None = None) -> str:
    """SPC online mediation rules art 12: unconfirmed after 3 working days -> reassign,
    each case in a unit of its own."""
    now = now or utcnow()
    overdue = _listed(app, lambda: assignment.overdue(now))
    moved = _one_by_one(
        app, overdue, lambda case_id: int(bool(assignment.reassign_one(case_id, now)))
    )
    return f"{moved} overdue cases reassigned"


def case_deadlines(app: Flask, now: datetime | None = None) -> str:
    """Art 15: remind the respondent once, then end unanswered cases; art 24/25 (6): end
    cases whose mediation period ran out without an agreed extension, and return delegated
    disputes whose court's deadline passed; remind before the clocks run out. Each case in
    a unit of its own (``_one_by_one``)."""
    now = now or utcnow()
    with _committed(app):
        recomputed = extension.recompute_when_calendar_grew()
        to_remind, to_end = respondent.due(now)
    reminded = _one_by_one(app, to_remind, lambda case_id: respondent.remind(case_id, now))
    ended = _one_by_one(app, to_end, lambda case_id: respondent.expire(case_id, now))
    expired = _one_by_one(
        app, _listed(app, lambda: extension.expired(now)), lambda i: extension.end_one(i, now)
    )
    returned = _one_by_one(
        app, _listed(app, lambda: delegation.expired(now)), lambda i: delegation.return_one(i, now)
    )
    warned = _one_by_one(
        app, _listed(app, lambda: reminders.due(now)), lambda item: reminders.send_one(item, now)
    )
    return (
        f"{reminded} respondents reminded, {ended} unanswered cases ended, "
        f"{expired} cases past the mediation period ended, "
        f"{returned} delegations returned to their courts, "
        f"{warned} deadline reminders sent"
        + (f", {recomputed} deadlines recomputed for a new calendar" if recomputed else "")
    )


def sessions(app: Flask, now: datetime | None = None) -> str:
    """Reminders 24 h and 1 h before each session; offered times nobody agreed on, and
    sessions of ended cases, are cancelled, each in a unit of its own (``cleanup.end``).
    ``now`` lets a test say when."""
    with _committed(app):
        due = cleanup.due_to_end(now)
    cancelled = _one_by_one(app, due, lambda item: cleanup.end(item, now))
    at = now or utcnow()
    reminded = _one_by_one(
        app,
        _listed(app, lambda: session_reminders.due(at)),
        lambda item: session_reminders.send_one(item, at),
    )
    return f"{reminded} session reminders sent, {cancelled} stale sessions cancelled"


def archive_timestamps(app: Flask) -> str:
    """Renew the archive timestamps of stored signed PDFs before their TSA certificate
    expires (mediation/archive.py); a day between scans is plenty for a 90-day margin."""
    due = app.extensions.get("archive.next_scan")
    now = time.monotonic()
    if due is not None and now < due:
        return "0 archive timestamps renewed (next scan later)"
    app.extensions["archive.next_scan"] = now + app.config.get("ARCHIVE_SCAN_SECONDS", 86400)
    with _committed(app):
        due = archive.due()
    # Each document in a unit of its own: a transaction holds one case's turn at a time.
    renewed = _one_by_one(app, due, archive.renew)
    return f"{renewed} archive timestamps renewed"


def late_questions(app: Flask) -> str:
    """Consultations not answered in the stated time: the region's administrators and the
    expert pool are told, once (mediation/consultation)."""
    now = utcnow()
    escalated = _one_by_one(
        app,
        _listed(app, lambda: consultation.late(now)),
        lambda question_id: consultation.escalate_one(question_id, now),
    )
    return f"{escalated} late questions escalated"


def performance(app: Flask, now: datetime | None = None) -> str:
    """People's Mediation Law art 31: obligors reminded before their date; dates passed
    without confirmation marked missed and told to the mediator, once each (in the daytime:
    ``now`` lets a test say when)."""
    reminded = _one_by_one(
        app, _listed(app, lambda: followup.reminders_due(now)), followup.remind_one
    )
    missed = _one_by_one(
        app,
        _listed(app, lambda: followup.missed_due(now)),
        lambda obligation_id: followup.mark_one_missed(obligation_id, now),
    )
    return f"{reminded} obligors reminded, {missed} missed obligations noticed"


def governance_warnings(app: Flask) -> str:
    """Early warnings for region staff: surges in a street, a respondent in many cases
    (mediation/governance/warnings.py); each raised once per window, the rules run at most
    every GOVERNANCE_WARNING_EVERY seconds."""
    if not governance.due(app):
        return "early warnings not due"
    with _committed(app):
        raised = governance.raise_due()
    governance.ran(app)  # only a run that committed counts
    return f"{raised} early warnings raised"


def governance_tallies(app: Flask) -> str:
    """The region dashboard's monthly tallies: months changed since the last round and
    months never built (mediation/governance/tallies.py)."""
    with _committed(app):
        months = tallies.refresh()
    return f"{months} months of governance tallies rebuilt"


# Deadlines first: what they queue goes out in the same round.
JOBS: tuple[Callable[[Flask], str], ...] = (
    reassign_overdue_cases,
    case_deadlines,
    sessions,
    late_questions,
    performance,
    governance_warnings,
    governance_tallies,
    deliver_outbox,
    archive_timestamps,
)


# Rounds in a row each job failed (app.extensions): a job that fails every round still runs
# every round (the outbox must go out the moment the gateway or database is back), but its
# traceback is logged the first time only, then one line after 2, 4, 8, ... rounds: not a
# traceback every OUTBOX_POLL_SECONDS for as long as nobody mends it.
JOB_FAILURES = "worker.job_failures"


def run_once(app: Flask) -> list[str]:
    """Run every job once; a failing job is logged and the others still run."""
    failures: dict[str, int] = app.extensions.setdefault(JOB_FAILURES, {})
    results = []
    for job in JOBS:
        name = job.__name__
        try:
            results.append(job(app))
        except Exception as error:  # a broken database or gateway must not stop the others
            results.append(f"{name} failed")
            if is_busy(error):  # SQLite locked by a writer for long: the next round redoes it
                log.warning("worker job %s: database busy, next round", name)
                continue
            times = failures[name] = failures.get(name, 0) + 1
            if times == 1:
                log.exception("worker job %s failed", name)
            elif times & (times - 1) == 0:  # a power of two
                log.error(
                    "worker job %s failed %d rounds in a row (%s: %s)",
                    name,
                    times,
                    type(error).__name__,
                    " ".join(str(error).split())[:200],
                )
        else:
            if failures.pop(name, 0) > 1:
                log.warning("worker job %s works again", name)
    return results


def run_loop(app: Flask, stop: threading.Event) -> None:
    """Run the jobs every ``OUTBOX_POLL_SECONDS`` until ``stop`` is set."""
    while not stop.is_set():
        for line in run_once(app):
            # (a failure is logged by run_once, fewer times the longer it lasts)
            if not line.startswith("0 ") and not line.endswith(" failed"):
                log.info("worker: %s", line)
        stop.wait(app.config["OUTBOX_POLL_SECONDS"])


def start_thread(app: Flask) -> threading.Event:
    """Run the loop in a daemon thread of this process; set the returned event to stop it."""
    stop = threading.Event()
    threading.Thread(target=run_loop, args=(app, stop), name="worker", daemon=True).start()
    return stop
