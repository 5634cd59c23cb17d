"""Case numbers run per year and are never given out twice."""

import threading

from sqlalchemy import delete, select

from mediation.cases.models import Case, CaseParty
from mediation.extensions import db
from mediation.journal.models import JournalEntry, JournalHead
from tests.factories import make_case, make_user


def test_numbers_are_not_reused_after_a_deletion(app_ctx):
    a, b = make_user(), make_user()
    numbers = [make_case(a, b).number for _ in range(3)]
    db.session.commit()
    assert [n.split("-")[1] for n in numbers] == ["000001", "000002", "000003"]
    # A case is hard to delete (its journal refers to it); an administrator did it anyway.
    last = db.session.scalar(select(Case).where(Case.number == numbers[-1]))
    for table in (JournalEntry, JournalHead, CaseParty):
        db.session.execute(delete(table).where(table.case_id == last.id))
    db.session.execute(delete(Case).where(Case.id == last.id))
    assert make_case(a, b).number.endswith("-000004")


def test_concurrent_filings_get_distinct_numbers(app):
    with app.app_context():
        a, b = make_user(), make_user()
        make_case(a, b)  # the year's counter exists
        db.session.commit()
        a_id, b_id = a.id, b.id
    barrier, errors = threading.Barrier(4), []

    def file_case():
        try:
            with app.app_context():
                from mediation.accounts.models import User

                barrier.wait()
                make_case(db.session.get(User, a_id), db.session.get(User, b_id))
                db.session.commit()
        except Exception as error:  # collected: an exception in a thread is otherwise lost
            errors.append(error)

    threads = [threading.Thread(target=file_case) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    with app.app_context():
        numbers = db.session.scalars(select(Case.number)).all()
    assert len(numbers) == len(set(numbers)) == 5
