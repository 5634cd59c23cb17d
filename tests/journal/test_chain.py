"""The journal's chain shows the first entry that was edited, deleted or reordered."""

import pytest
from sqlalchemy import text

from mediation.accounts.models import Role
from mediation.cases.models import Case
from mediation.extensions import db
from mediation.journal import operations as journal
from tests.conftest import login
from tests.factories import PASSWORD, make_case, make_user

ENTRIES = 6  # "case.opened" plus five more


@pytest.fixture
def case_id(app):
    with app.app_context():
        case = make_case(make_user(), make_user(), submit=False)
        for n in range(ENTRIES - 1):
            journal.append(
                case.id, "note.added", {"n": n, "text": "双方同意继续调解"}, actor_id=None
            )
        db.session.commit()
        return case.id


def run(sql: str, **params) -> None:
    db.session.execute(text(sql), params)
    db.session.commit()


def test_an_untouched_chain_holds(app_ctx, case_id):
    report = journal.verify_chain(case_id)
    assert report.ok and report.entries == ENTRIES


@pytest.mark.parametrize("seq", range(1, ENTRIES + 1))
def test_an_edited_entry_is_found(app_ctx, case_id, seq):
    run(
        "UPDATE journal_entries SET payload = :p WHERE case_id = :c AND seq = :s",
        p='{"n": 99}',
        c=case_id,
        s=seq,
    )
    report = journal.verify_chain(case_id)
    assert (report.ok, report.broken_at, report.reason) == (False, seq, journal.ENTRY_ALTERED)


@pytest.mark.parametrize("seq", range(1, ENTRIES + 1))
def test_a_deleted_entry_is_found(app_ctx, case_id, seq):
    run("DELETE FROM journal_entries WHERE case_id = :c AND seq = :s", c=case_id, s=seq)
    report = journal.verify_chain(case_id)
    assert (report.ok, report.broken_at, report.reason) == (False, seq, journal.ENTRY_MISSING)


@pytest.mark.parametrize("seq", range(1, ENTRIES))
def test_two_swapped_entries_are_found(app_ctx, case_id, seq):
    # Swap the positions of entries seq and seq+1 (through a free number: seq is unique).
    run("UPDATE journal_entries SET seq = -1 WHERE case_id = :c AND seq = :s", c=case_id, s=seq)
    run(
        "UPDATE journal_entries SET seq = :s WHERE case_id = :c AND seq = :n",
        c=case_id,
        s=seq,
        n=seq + 1,
    )
    run("UPDATE journal_entries SET seq = :n WHERE case_id = :c AND seq = -1", c=case_id, n=seq + 1)
    report = journal.verify_chain(case_id)
    assert not report.ok and report.broken_at == seq


def test_an_entry_rewritten_with_a_fresh_hash_breaks_the_next_link(app_ctx, case_id):
    # Someone who edits an entry and recomputes its hash still breaks the following link.
    from mediation.journal.models import JournalEntry

    entry = db.session.query(JournalEntry).filter_by(case_id=case_id, seq=3).one()
    entry.payload = {"n": 42}
    entry.hash = journal.compute_hash(entry)
    db.session.commit()
    report = journal.verify_chain(case_id)
    assert (report.broken_at, report.reason) == (4, journal.LINK_BROKEN)


def test_the_cli_check_exits_1_on_a_broken_chain(app_ctx, case_id, runner):
    number = db.session.get(Case, case_id).number
    ok = runner.invoke(args=["journal", "verify", number])
    assert ok.exit_code == 0 and "intact" in ok.output
    run("DELETE FROM journal_entries WHERE case_id = :c AND seq = 2", c=case_id)
    broken = runner.invoke(args=["journal", "verify", number])
    assert broken.exit_code == 1 and "entry 2" in broken.output


def test_the_journal_page_shows_the_state_of_the_chain(app, case_id, client):
    with app.app_context():
        phone = db.session.get(Case, case_id).parties[0].user.phone
    login(client, phone, PASSWORD)
    assert "日志链完整" in client.get(f"/cases/{case_id}/journal").get_data(as_text=True)
    with app.app_context():
        run("DELETE FROM journal_entries WHERE case_id = :c AND seq = 4", c=case_id)
    page = client.get(f"/cases/{case_id}/journal").get_data(as_text=True)
    # A party is told that it broke, not where: the chain's positions and length would show
    # them that entries are kept from them (cases.privacy); staff are told where.
    assert "日志链已断裂" in page and "第4条" not in page
    assert client.get(f"/cases/{case_id}/journal.json").json["chain"] == {"ok": False}
    with app.app_context():
        admin = make_user(Role.platform_admin).phone
        db.session.commit()
        # Filed (a draft is the applicant's alone), without an entry more.
        run("UPDATE cases SET status = 'submitted' WHERE id = :c", c=case_id)
    staff = app.test_client()
    login(staff, admin, PASSWORD)
    assert "日志链在第4条处断裂" in staff.get(f"/cases/{case_id}/journal").get_data(as_text=True)
    data = staff.get(f"/cases/{case_id}/journal.json").json
    assert data["chain"] == {"ok": False, "entries": ENTRIES - 1, "broken_at": 4}


@pytest.mark.parametrize("cut", [0, 1, ENTRIES])
def test_removing_the_head_with_the_newest_entries_is_found(app_ctx, case_id, cut):
    run("DELETE FROM journal_heads WHERE case_id = :c", c=case_id)
    run("DELETE FROM journal_entries WHERE case_id = :c AND seq > :k", c=case_id, k=ENTRIES - cut)
    report = journal.verify_chain(case_id)
    assert not report.ok and report.reason == journal.HEAD_MISSING


def test_cutting_off_the_newest_entries_is_found(app_ctx, case_id):
    run("DELETE FROM journal_entries WHERE case_id = :c AND seq > 4", c=case_id)
    report = journal.verify_chain(case_id)
    assert (report.ok, report.broken_at, report.reason) == (False, 5, journal.ENTRY_MISSING)
