"""Entries appended to one case at once, from threads that took no turn of the case first
(the recorder closing several files side by side, each journaling a gap): each gets its own
position and the chain holds, on SQLite as on PostgreSQL."""

from mediation.extensions import db
from mediation.journal import operations as journal
from tests.conftest import at_once
from tests.factories import make_case, make_user

THREADS = 6


def test_appends_from_several_threads_at_once_keep_the_chain(app):
    with app.app_context():
        case_id = make_case(make_user(), make_user(), submit=False).id
        db.session.commit()

    def append(n: int):
        def call() -> int:
            with app.app_context():
                try:
                    seq = journal.append(case_id, "note.added", {"n": n}, actor_id=None).seq
                    db.session.commit()
                    return seq
                finally:
                    db.session.remove()

        return call

    for _ in range(3):  # a race shows in repeated rounds
        results = at_once(*(append(n) for n in range(THREADS)))
        assert not [r for r in results if isinstance(r, Exception)], results
        assert len(set(results)) == THREADS
    with app.app_context():
        report = journal.verify_chain(case_id)
        assert report.ok and report.entries == 1 + 3 * THREADS, report
