"""A case whose worker step fails every round (worker._one_by_one): the others go on each
round, and the failing one is tried again in the next round, then after a pause that
doubles up to an hour, its traceback logged once and each retry in one line (before, the
traceback went to the log every round, every OUTBOX_POLL_SECONDS, for as long as nobody
mended the case). Mended, it is done at its next try and forgotten."""

from __future__ import annotations

import logging

import pytest

from mediation import worker


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(worker, "_clock", lambda: now[0])
    return now


def test_a_case_failing_every_round_is_tried_later_and_later(app, clock, caplog):
    tried: list[int] = []
    broken = {2}

    def step(item: int) -> int:
        tried.append(item)
        if item in broken:
            raise RuntimeError(f"a fault in case {item}\nsecond line")
        return 1

    def round_() -> int:
        tried.clear()
        return worker._one_by_one(app, [1, 2, 3], step)

    with caplog.at_level(logging.INFO, logger="mediation.worker"):
        assert round_() == 2 and tried == [1, 2, 3]
        assert round_() == 2 and tried == [1, 2, 3]  # the next round: a passing fault?
        for _ in range(100):  # then not again for RETRY_FIRST, whatever the rounds
            assert round_() == 2 and tried == [1, 3]
        clock[0] += worker.RETRY_FIRST
        assert round_() == 2 and tried == [1, 2, 3]
        clock[0] += worker.RETRY_FIRST  # the pause doubled
        assert round_() == 2 and tried == [1, 3]
        clock[0] += worker.RETRY_FIRST
        assert round_() == 2 and tried == [1, 2, 3]
        for _ in range(20):  # never longer than RETRY_MOST
            clock[0] += worker.RETRY_MOST
            round_()
            assert 2 in tried
    failures = [r for r in caplog.records if "case 2" in r.getMessage() or r.args == (2,)]
    with_traceback = [r for r in caplog.records if r.exc_info]
    assert len(with_traceback) == 1 and "2 failed" in with_traceback[0].getMessage()
    assert len(failures) <= 2 + 3 + 20
    assert all("\n" not in r.getMessage() for r in caplog.records if not r.exc_info)

    broken.clear()  # mended: done at its next try, and forgotten
    clock[0] += worker.RETRY_MOST
    assert round_() == 3 and tried == [1, 2, 3]
    assert not app.extensions[worker.FAILING]


def test_a_failing_item_no_longer_due_is_forgotten(app, clock):
    def step(item: int) -> int:
        raise RuntimeError("broken")

    worker._one_by_one(app, [7], step)
    assert len(app.extensions[worker.FAILING]) == 1
    worker._one_by_one(app, [], step)  # done by another meanwhile, or ended
    assert not app.extensions[worker.FAILING]


def test_a_job_failing_every_round_runs_every_round_and_logs_less_and_less(
    app, monkeypatch, caplog
):
    """A whole job that fails (its database or gateway broken) still runs every round, so
    that it works again the moment the fault is mended; its traceback is logged once, then
    one line after 2, 4, 8, ... rounds in a row."""
    runs = []
    broken = [True]

    def job(app) -> str:
        runs.append(1)
        if broken[0]:
            raise RuntimeError("the gateway is down")
        return "1 done"

    monkeypatch.setattr(worker, "JOBS", (job,))
    with caplog.at_level(logging.INFO, logger="mediation.worker"):
        for _ in range(100):
            assert worker.run_once(app) == ["job failed"]
        assert len(runs) == 100
        assert len([r for r in caplog.records if r.exc_info]) == 1
        assert len(caplog.records) == 1 + 6  # 2, 4, 8, 16, 32, 64
        broken[0] = False
        assert worker.run_once(app) == ["1 done"]
    assert "works again" in caplog.records[-1].getMessage()
    assert not app.extensions[worker.JOB_FAILURES]
