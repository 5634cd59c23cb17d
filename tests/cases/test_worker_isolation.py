"""The worker's case jobs act on each case in a unit of its own: one case whose step breaks
is logged and rolled back, and every other case still gets its deadline, in the same round
and in every round after (before, one transaction held them all, so one failing case,
always first in id order, stopped every deadline of the platform, round after round)."""

import logging
from datetime import timedelta

import pytest

from mediation import worker
from mediation.cases import assignment, lapse, workflow
from mediation.cases.models import Case
from mediation.cases.states import Action, CaseStatus
from mediation.extensions import db
from mediation.notify import operations as notify
from tests.factories import make_case, make_institution, make_mediator, make_user


@pytest.fixture
def three_cases(app):
    """Three cases waiting for their respondents, ids in order."""
    with app.app_context():
        institution = make_institution()
        cases = [
            make_case(make_user(), make_user(), mediator=make_mediator(institution))
            for _ in range(3)
        ]
        db.session.commit()
        return [(c.id, c.number, c.respondent_due_at) for c in cases]


def statuses(app, ids) -> list[str]:
    with app.app_context():
        return [db.session.get(Case, i).status for i in ids]


def breaking_for(number: str, original):
    """``original``, failing for the case ``number`` alone (a fault in one case's step)."""

    def tell(user, message, **values):
        if values.get("number") == number:
            raise RuntimeError(f"a fault in case {number}")
        return original(user, message, **values)

    return tell


def test_one_failing_case_does_not_stop_the_others_deadlines(app, three_cases, monkeypatch, caplog):
    ids = [i for i, _, _ in three_cases]
    first_number = three_cases[0][1]
    after = max(due for _, _, due in three_cases) + timedelta(minutes=1)
    monkeypatch.setattr(notify, "tell", breaking_for(first_number, notify.tell))

    with caplog.at_level(logging.ERROR, logger="mediation.worker"):
        report = worker.case_deadlines(app, now=after)
    assert "2 unanswered cases ended" in report
    assert statuses(app, ids) == [
        CaseStatus.awaiting_respondent,  # rolled back whole: the next round tries again
        CaseStatus.terminated,
        CaseStatus.terminated,
    ]
    assert f"a fault in case {first_number}" in caplog.text

    monkeypatch.undo()  # the fault mended
    assert "1 unanswered cases ended" in worker.case_deadlines(app, now=after)
    assert statuses(app, ids) == [CaseStatus.terminated] * 3


def test_one_failing_reassignment_does_not_stop_the_others(app, monkeypatch, caplog):
    with app.app_context():
        institution = make_institution(region_code="320102")
        mediators = [make_mediator(institution) for _ in range(4)]
        cases = []
        for _ in range(3):
            case = make_case(make_user(), make_user(), submit=False)
            case.region_code = "320102"
            workflow.transition(case, Action.submit, by=case.parties[0].user)
            assignment.assign_automatically(case, by=None)
            cases.append(case)
        db.session.commit()
        ids = [c.id for c in cases]
        first = {c.id: c.mediator_id for c in cases}
        late = max(c.acceptance_due_at for c in cases) + timedelta(minutes=1)
        assert all(c.mediator_id in {m.id for m in mediators} for c in cases)
    original = lapse.tell

    def tell(case):
        if case.id == ids[0]:
            raise RuntimeError("a fault in the first case")
        return original(case)

    monkeypatch.setattr(lapse, "tell", tell)
    with caplog.at_level(logging.ERROR, logger="mediation.worker"):
        report = worker.reassign_overdue_cases(app, now=late)
    assert report == "2 overdue cases reassigned"
    assert "a fault in the first case" in caplog.text
    with app.app_context():
        rows = [db.session.get(Case, i) for i in ids]
        assert rows[0].mediator_id == first[ids[0]]  # rolled back whole, tried next round
        assert all(r.mediator_id != first[r.id] for r in rows[1:])

    monkeypatch.undo()
    assert worker.reassign_overdue_cases(app, now=late) == "1 overdue cases reassigned"
