"""A code to sign is for the document it was asked for, as the signer was shown it
(Electronic Signature Law art 2: the signature shows the signer approves this content; art
13: its making data bound to this data message). A code asked for on case A's agreement
used to sign case B's agreement of the same signer too, and a code asked for before the
mediator changed the text signed the new text; the text message did not say what it
signed. Now the code names the case and the document, and is refused elsewhere with a
message saying why, the drawing kept."""

from __future__ import annotations

import base64
import re
from datetime import timedelta

import time_machine
from sqlalchemy import select

from mediation.accounts.models import User
from mediation.agreements import round_end, signing
from mediation.agreements.models import Agreement
from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.notify.models import OutboxMessage
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD

from .conftest import agreeing_case, complete_draft, drawing, out_for_signing, second_case_of
from .test_code_pressed_twice import SENT, WAIT, paced, texts_to

__all__ = ["paced"]  # the fixture, used below

ANOTHER = "此验证码是为另一份文件发送的"
CHANGED = "验证码发送后文件已有变动"
DRAWN = "data:image/png;base64," + base64.b64encode(drawing()).decode()


def two_cases_of_one_signer(app) -> tuple[int, int, str]:
    """Cases A and B of the same applicant, both agreements out for signing, the applicant
    first to sign on each."""
    with app.app_context():
        case_a, _admin = agreeing_case()
        applicant = case_a.party_users()[0]
        case_b = second_case_of(applicant, case_a.mediator)
        out_for_signing(case_a)
        out_for_signing(case_b)
        db.session.commit()
        return case_a.id, case_b.id, applicant.phone


def last_text(app, phone: str) -> str:
    with app.app_context():
        return db.session.scalars(
            select(OutboxMessage.body)
            .where(OutboxMessage.recipient == phone)
            .order_by(OutboxMessage.id.desc())
        ).first()


def code_in(text: str) -> str:
    return re.search(r"(?<!\d)\d{6}(?!\d)", text).group()


def shown_on(client, page: str) -> str:
    body = client.get(page).get_data(as_text=True)
    return re.search(r'name="shown"[^>]*value="([0-9a-f]{64})"', body).group(1)


def post(client, page: str, **form):
    return client.post(page, data={**form, "csrf_token": csrf_token(client, page)})


def signed_by(app, case_id: int, phone: str) -> bool:
    with app.app_context():
        agreement = db.session.scalar(select(Agreement).where(Agreement.case_id == case_id))
        user_id = db.session.scalar(select(User.id).where(User.phone == phone))
        return any(
            s.signed_at is not None and s.signed_by_id == user_id
            for s in agreement.round_signatures()
        )


def test_a_code_asked_for_on_one_case_does_not_sign_another_cases_agreement(app, client):
    a, b, phone = two_cases_of_one_signer(app)
    page_a, page_b = f"/cases/{a}/agreement/sign", f"/cases/{b}/agreement/sign"
    assert login(client, phone, PASSWORD).status_code == 302
    shown_a = shown_on(client, page_a)
    asked = post(client, page_a, action="code", shown=shown_a, drawing=DRAWN)
    assert asked.status_code == 200 and SENT in asked.get_data(as_text=True)
    code = code_in(last_text(app, phone))

    used_on_b = post(client, page_b, action="sign", code=code, shown=shown_on(client, page_b),
                     drawing=DRAWN)  # fmt: skip
    body = used_on_b.get_data(as_text=True)
    assert used_on_b.status_code == 422 and ANOTHER in body
    assert DRAWN[-40:] in body  # the drawing comes back with the page: nothing to draw again
    assert not signed_by(app, b, phone)

    # The code still signs what it was asked for.
    signed = post(client, page_a, action="sign", code=code, shown=shown_a, drawing=DRAWN)
    assert signed.status_code == 302 and signed_by(app, a, phone)


def test_a_code_asked_for_before_the_text_changed_does_not_sign_the_new_text(app, client):
    a, _b, phone = two_cases_of_one_signer(app)
    page = f"/cases/{a}/agreement/sign"
    assert login(client, phone, PASSWORD).status_code == 302
    before = shown_on(client, page)
    post(client, page, action="code", shown=before, drawing=DRAWN)
    code = code_in(last_text(app, phone))
    with app.app_context():
        agreement = db.session.scalar(select(Agreement).where(Agreement.case_id == a))
        case = agreement.case
        round_end.void_round(agreement, by=case.mediator, reason="改一下履行期限")
        from mediation.agreements import operations as agreements

        agreements.save(agreement, complete_draft(case, days=45), by=case.mediator)
        signing.open_round(agreement, by=case.mediator)
        db.session.commit()

    after = shown_on(client, page)
    assert after != before
    refused = post(client, page, action="sign", code=code, shown=after, drawing=DRAWN)
    assert refused.status_code == 422 and CHANGED in refused.get_data(as_text=True)
    assert not signed_by(app, a, phone)

    post(client, page, action="code", shown=after, drawing=DRAWN)
    new = code_in(last_text(app, phone))
    signed = post(client, page, action="sign", code=new, shown=after, drawing=DRAWN)
    assert signed.status_code == 302 and signed_by(app, a, phone)


def test_a_press_for_another_document_within_the_minute_is_told_when(app, client, paced):
    """The same press again on the same document goes on to the code step (one text); a
    press for another case's agreement within the minute is a new request: told when the
    next code can come, and nothing is sent."""
    a, b, phone = two_cases_of_one_signer(app)
    page_a, page_b = f"/cases/{a}/agreement/sign", f"/cases/{b}/agreement/sign"
    assert login(client, phone, PASSWORD).status_code == 302
    shown_a, shown_b = shown_on(client, page_a), shown_on(client, page_b)
    before = texts_to(app, phone)
    for _press in range(2):
        answer = post(client, page_a, action="code", shown=shown_a, drawing=DRAWN)
        body = answer.get_data(as_text=True)
        assert answer.status_code == 200 and SENT in body and WAIT not in body
    assert texts_to(app, phone) - before == 1

    other = post(client, page_b, action="code", shown=shown_b, drawing=DRAWN)
    body = other.get_data(as_text=True)
    assert other.status_code == 422 and WAIT in body and SENT not in body
    assert texts_to(app, phone) - before == 1

    with time_machine.travel(utcnow() + timedelta(seconds=61)):
        later = post(client, page_b, action="code", shown=shown_b, drawing=DRAWN)
    assert later.status_code == 200 and texts_to(app, phone) - before == 2


def test_the_text_names_the_case_and_the_document_in_chinese(app, client):
    a, _b, phone = two_cases_of_one_signer(app)
    page = f"/cases/{a}/agreement/sign"
    assert login(client, phone, PASSWORD).status_code == 302
    post(client, page, action="code", shown=shown_on(client, page), drawing=DRAWN)
    text = last_text(app, phone)
    with app.app_context():
        number = db.session.scalar(select(Agreement).where(Agreement.case_id == a)).case.number
    assert f"您正在签署案件{number}的调解协议书" in text, text
    assert not re.search(r"[A-Za-z]", text.replace(number, "")), text
    assert len(text) <= 70, len(text)  # one text message


def test_two_tabs_each_code_signs_its_own_agreement(app, client):
    """The signer asks for a code on case A's agreement, then on case B's in another tab:
    A's code still signs A (it was "wrong or expired" when B's code retired it), and B's
    signs B; each on the other's page is said to be for another document."""
    a, b, phone = two_cases_of_one_signer(app)
    page_a, page_b = f"/cases/{a}/agreement/sign", f"/cases/{b}/agreement/sign"
    assert login(client, phone, PASSWORD).status_code == 302
    shown_a, shown_b = shown_on(client, page_a), shown_on(client, page_b)
    post(client, page_a, action="code", shown=shown_a, drawing=DRAWN)
    code_a = code_in(last_text(app, phone))
    post(client, page_b, action="code", shown=shown_b, drawing=DRAWN)
    code_b = code_in(last_text(app, phone))

    crossed = post(client, page_b, action="sign", code=code_a, shown=shown_b, drawing=DRAWN)
    assert crossed.status_code == 422 and ANOTHER in crossed.get_data(as_text=True)
    signed = post(client, page_a, action="sign", code=code_a, shown=shown_a, drawing=DRAWN)
    assert signed.status_code == 302 and signed_by(app, a, phone)
    signed = post(client, page_b, action="sign", code=code_b, shown=shown_b, drawing=DRAWN)
    assert signed.status_code == 302 and signed_by(app, b, phone)
