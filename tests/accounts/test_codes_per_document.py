"""Codes that sign a document (codes.CodeFor): one live code per document, each until it is
used or expires, and the guessing limit held across all of an account's live codes. A
guess is compared with every live code it could match, and counts as a try of each: no
code is ever tried more than ONE_TIME_CODE_MAX_ATTEMPTS times, as when each new code
retired the one before. Runs on SQLite and PostgreSQL (the ``app`` fixture's databases)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from mediation.accounts import codes
from mediation.accounts.models import CodePurpose, OneTimeCode
from mediation.core.db import utcnow
from mediation.extensions import db
from tests.factories import make_user

SIGN = CodePurpose.agreement_signature


def _for(document: str, content: str = "v1") -> codes.CodeFor:
    return codes.CodeFor(document, content, _l("Code %(code)s, %(minutes)d minutes."), {})


A, B, C = _for("agreement:1"), _for("application:2"), _for("minutes:3")


def _wrong(*right: str) -> str:
    return next(c for c in (f"{n:06d}" for n in range(10)) if c not in right)


def _attempts(user) -> dict[str, int]:
    return {
        row.bound_to: row.attempts
        for row in db.session.scalars(select(OneTimeCode).where(OneTimeCode.user_id == user.id))
    }


def _tries(user, code: str, code_for: codes.CodeFor) -> str:
    """What entering ``code`` for ``code_for`` comes to: used, another's, or refused."""
    try:
        return "used" if codes.consume_code(user, SIGN, code, code_for=code_for) else "refused"
    except codes.CodeNotForThisError:
        return "another's"


def test_codes_for_two_documents_both_live_a_new_one_replaces_its_own_only(app_ctx):
    user = make_user()
    a = codes.issue_code(user, SIGN, code_for=A)
    b = codes.issue_code(user, SIGN, code_for=B)
    assert _tries(user, a, B) == "another's" and _tries(user, b, A) == "another's"
    a_again = codes.issue_code(user, SIGN, code_for=A)
    assert _tries(user, a, A) == "refused"  # replaced by the new code for the same document
    assert _tries(user, a_again, A) == "used"
    assert _tries(user, b, B) == "used"


def test_each_expires_at_its_own_time(app_ctx):
    user = make_user()
    start = utcnow()
    a = codes.issue_code(user, SIGN, code_for=A, now=start)
    b = codes.issue_code(user, SIGN, code_for=B, now=start + timedelta(minutes=5))
    later = start + timedelta(minutes=12)  # A's ten minutes are over, B's are not
    assert not codes.consume_code(user, SIGN, a, code_for=A, now=later)
    assert codes.consume_code(user, SIGN, b, code_for=B, now=later)


def test_the_code_for_a_changed_document_is_said_to_be_for_its_old_content(app_ctx):
    user = make_user()
    a = codes.issue_code(user, SIGN, code_for=A)
    codes.issue_code(user, SIGN, code_for=B)
    with pytest.raises(codes.CodeNotForThisError) as refused:
        codes.consume_code(user, SIGN, a, code_for=_for("agreement:1", "v2"))
    assert "验证码发送后文件已有变动" in refused.value.message


@pytest.mark.parametrize("pages", [(A,), (B,), (A, B), (A, B, C)])
def test_wrong_guesses_count_against_every_live_code(app, app_ctx, pages):
    """However the guesses are spread over the documents' pages, no more than the limit are
    made against any code, and the limit's worth of wrong guesses ends every code."""
    limit = app.config["ONE_TIME_CODE_MAX_ATTEMPTS"]
    user = make_user()
    right = {d.document: codes.issue_code(user, SIGN, code_for=d) for d in (A, B, C)}
    wrong = _wrong(*right.values())
    for n in range(limit):
        assert _tries(user, wrong, pages[n % len(pages)]) == "refused"
    assert set(_attempts(user).values()) == {limit}
    for document in (A, B, C):  # the right codes, on their own pages: too late
        assert _tries(user, right[document.document], document) == "refused"
    for _more in range(3 * limit):
        _tries(user, wrong, A)
    assert max(_attempts(user).values()) == limit


def test_the_right_code_works_on_the_last_try_left(app, app_ctx):
    limit = app.config["ONE_TIME_CODE_MAX_ATTEMPTS"]
    user = make_user()
    a = codes.issue_code(user, SIGN, code_for=A)
    b = codes.issue_code(user, SIGN, code_for=B)
    for _n in range(limit - 1):
        assert _tries(user, _wrong(a, b), B) == "refused"
    assert _tries(user, a, A) == "used"
    assert _tries(user, b, B) == "used"


def test_the_right_code_on_its_own_page_costs_the_other_codes_nothing(app, app_ctx):
    user = make_user()
    a = codes.issue_code(user, SIGN, code_for=A)
    codes.issue_code(user, SIGN, code_for=B)
    assert _tries(user, a, A) == "used"
    assert _attempts(user)[B.bound_to] == 0


def test_retiring_one_documents_codes_leaves_the_others(app_ctx):
    user = make_user()
    a = codes.issue_code(user, SIGN, code_for=A)
    c = codes.issue_code(user, CodePurpose.minutes_confirmation, code_for=C)
    other = codes.issue_code(user, CodePurpose.minutes_confirmation, code_for=_for("minutes:4"))
    codes.retire_codes(user, CodePurpose.minutes_confirmation, document="minutes:3")
    assert not codes.consume_code(user, CodePurpose.minutes_confirmation, c, code_for=C)
    assert codes.consume_code(
        user, CodePurpose.minutes_confirmation, other, code_for=_for("minutes:4")
    )
    assert codes.consume_code(user, SIGN, a, code_for=A)


def test_guesses_sent_all_at_once_over_two_pages_are_counted_each(app):
    """Twenty guesses at the same instant, spread over two documents' pages (a script with
    two tabs): each counted by a conditional UPDATE, so no code is tried more than the
    limit, and the right codes are refused after it."""
    limit = app.config["ONE_TIME_CODE_MAX_ATTEMPTS"]
    with app.app_context():
        user = make_user()
        right = {d.document: codes.issue_code(user, SIGN, code_for=d) for d in (A, B)}
        db.session.commit()
        user_id, wrong = user.id, _wrong(*right.values())

    def guess(page: codes.CodeFor):
        def call() -> str:
            with app.app_context():
                try:
                    return _tries(db.session.get(type(user), user_id), wrong, page)
                finally:
                    db.session.commit()  # a wrong try counts, as the pages commit it
                    db.session.remove()

        return call

    from tests.conftest import at_once

    results = at_once(*(guess((A, B)[n % 2]) for n in range(20)))
    assert "used" not in results and "another's" not in results
    with app.app_context():
        user = db.session.get(type(user), user_id)
        assert max(_attempts(user).values()) <= limit
        tried = sum(1 for r in results if r == "refused")
        if tried == len(results):  # none lost to a busy database: every code is spent
            assert set(_attempts(user).values()) == {limit}
            assert _tries(user, right["agreement:1"], A) == "refused"
            assert _tries(user, right["application:2"], B) == "refused"
