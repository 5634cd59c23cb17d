"""The signing code attacked from outside, through the signing page: a code asked for in one
round used in the next though the text is the same, a forged fingerprint of the document
shown, guesses spread over two documents to get more tries, a used code replayed on
another case. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from mediation.agreements import operations as agreements
from mediation.agreements import round_end, signing
from mediation.agreements.models import Agreement
from mediation.extensions import db
from tests.conftest import login
from tests.core.test_no_english import english_words, visible_text
from tests.factories import PASSWORD

from .conftest import complete_draft
from .test_code_bound import (
    CHANGED,
    DRAWN,
    code_in,
    last_text,
    post,
    shown_on,
    signed_by,
    two_cases_of_one_signer,
)

WRONG = "验证码错误或已过期"


def _in_force_again(app, case_id: int, draft: dict) -> None:
    """The mediator calls the round off and puts the agreement out again with ``draft``."""
    with app.app_context():
        agreement = db.session.scalar(select(Agreement).where(Agreement.case_id == case_id))
        case = agreement.case
        round_end.void_round(agreement, by=case.mediator, reason="再核对一遍")
        agreements.save(agreement, draft, by=case.mediator)
        signing.open_round(agreement, by=case.mediator)
        db.session.commit()


def test_a_code_of_the_round_called_off_signs_nothing_in_the_next_with_the_same_text(app, client):
    a, _b, phone = two_cases_of_one_signer(app)
    page = f"/cases/{a}/agreement/sign"
    assert login(client, phone, PASSWORD).status_code == 302
    post(client, page, action="code", shown=shown_on(client, page), drawing=DRAWN)
    code = code_in(last_text(app, phone))
    with app.app_context():
        agreement = db.session.scalar(select(Agreement).where(Agreement.case_id == a))
        draft = complete_draft(agreement.case)  # the text it was put out with
    _in_force_again(app, a, draft)

    refused = post(client, page, action="sign", code=code, shown=shown_on(client, page),
                   drawing=DRAWN)  # fmt: skip
    assert refused.status_code == 422 and CHANGED in refused.get_data(as_text=True)
    assert not signed_by(app, a, phone)


def test_a_forged_fingerprint_is_answered_with_the_page(app, client):
    a, _b, phone = two_cases_of_one_signer(app)
    page = f"/cases/{a}/agreement/sign"
    assert login(client, phone, PASSWORD).status_code == 302
    before = last_text(app, phone)
    for shown in ("", "0" * 64, "\u00b2" * 64, "A" * 100_000, shown_on(client, page).upper()):
        for action in ("code", "sign"):
            answer = post(client, page, action=action, shown=shown, code="123456", drawing=DRAWN)
            assert answer.status_code == 422, (shown[:8], action, answer.status_code)
            assert english_words(visible_text(answer.get_data(as_text=True))) == {}
    assert last_text(app, phone) == before and not signed_by(app, a, phone)


def test_guesses_spread_over_two_documents_share_the_code_s_five_tries(app, client):
    """The code's tries are the code's, wherever it is entered: guessing on case B's page
    (where the code, asked for on A, would not sign anyway) uses up A's tries as well."""
    a, b, phone = two_cases_of_one_signer(app)
    page_a, page_b = f"/cases/{a}/agreement/sign", f"/cases/{b}/agreement/sign"
    assert login(client, phone, PASSWORD).status_code == 302
    shown_a, shown_b = shown_on(client, page_a), shown_on(client, page_b)
    post(client, page_a, action="code", shown=shown_a, drawing=DRAWN)
    code = code_in(last_text(app, phone))
    wrong = [f"{(int(code) + n) % 10**6:06d}" for n in range(1, 6)]
    for n, guess in enumerate(wrong):
        page, shown = (page_a, shown_a) if n % 2 else (page_b, shown_b)
        answer = post(client, page, action="sign", code=guess, shown=shown, drawing=DRAWN)
        assert answer.status_code == 422 and WRONG in answer.get_data(as_text=True)
    late = post(client, page_a, action="sign", code=code, shown=shown_a, drawing=DRAWN)
    assert late.status_code == 422 and not signed_by(app, a, phone)


def test_a_used_code_replayed_on_another_case_signs_nothing(app, client):
    a, b, phone = two_cases_of_one_signer(app)
    page_a, page_b = f"/cases/{a}/agreement/sign", f"/cases/{b}/agreement/sign"
    assert login(client, phone, PASSWORD).status_code == 302
    shown_a = shown_on(client, page_a)
    post(client, page_a, action="code", shown=shown_a, drawing=DRAWN)
    code = code_in(last_text(app, phone))
    assert (
        post(client, page_a, action="sign", code=code, shown=shown_a, drawing=DRAWN).status_code
        == 302
    )
    again = post(client, page_b, action="sign", code=code, shown=shown_on(client, page_b),
                 drawing=DRAWN)  # fmt: skip
    assert again.status_code == 422 and WRONG in again.get_data(as_text=True)
    assert not signed_by(app, b, phone)
