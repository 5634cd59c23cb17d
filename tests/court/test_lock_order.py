"""A party applies for judicial confirmation while another step holds the case's turn.
``start`` locked the case's row first and asked for the case's turn (its journal) after:
the opposite of the one order (core/locks.py), in which a step on a case takes the turn,
then writes the case (as ``workflow.transition`` does). No step of the platform takes the
turn and then writes a signed case while an application can start, so the deadlock below
is shown with such a step made for the test; the order is fixed all the same."""

from __future__ import annotations

from mediation.accounts.models import Court, User
from mediation.cases.models import Case
from mediation.core.locks import lock_rows
from mediation.court import application as applying
from mediation.court.models import Application
from mediation.extensions import db
from mediation.journal import operations as journal
from tests.booking.race import race_at_the_turn

from .conftest import in_force


def test_an_application_started_while_a_step_holds_the_case_s_turn(app, tmp_path, monkeypatch):
    with app.app_context():
        world = in_force()
        db.session.commit()
        case_id, court_id = world.case.id, world.court.id
        applicant_id = world.case.party_users()[0].id

    def step() -> None:
        """A step in the order: the case's turn, then the case's row."""
        journal.turn(case_id)
        lock_rows(Case.id, case_id)

    def apply() -> None:
        applying.start(
            db.session.get(Case, case_id),
            db.session.get(Court, court_id),
            by=db.session.get(User, applicant_id),
        )

    out = race_at_the_turn(app, tmp_path, monkeypatch, step, apply)
    assert out == {"step": "done", "job": "done"}, out
    with app.app_context():
        made = db.session.query(Application).filter_by(case_id=case_id).count()
    assert made == 1
