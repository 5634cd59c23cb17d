""" "Send me the code" on the agreement's signing page pressed twice, with production pacing
(one code a minute per number): a double tap, a phone resending the POST, two tabs. The
second press used to be told, as an error next to the code field, to wait a minute for a
new code, although the code it needed had just been sent; now it is answered as the first
("a code has been sent"), and one text goes out. Asked again later within the minute, the
signer is still told when the next code can come."""

from __future__ import annotations

import base64
import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.notify.models import OutboxMessage
from tests.conftest import at_once, csrf_token, login
from tests.factories import PASSWORD

from .conftest import agreeing_case, drawing, out_for_signing

SENT = "验证码已发送至"
WAIT = "秒后可再次获取"


@pytest.fixture
def paced(app, monkeypatch):
    monkeypatch.setitem(app.config, "CODE_INTERVAL_SECONDS", 60)


def texts_to(app, phone: str) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.recipient == phone)
        )


def press_send_code_twice(app, page: str, phone: str) -> None:
    """``phone``'s signer presses "send me the code" on ``page`` in two tabs at the same
    instant, then once more: each press is answered as the first, and one text goes out.
    20 seconds later (a new request within the minute) the signer is told to wait."""
    tabs = [app.test_client(), app.test_client()]
    for tab in tabs:
        assert login(tab, phone, PASSWORD).status_code == 302
    shown = tabs[0].get(page).get_data(as_text=True)
    sha = re.search(r'name="shown"[^>]*value="([0-9a-f]{64})"', shown).group(1)
    drawn = "data:image/png;base64," + base64.b64encode(drawing()).decode()
    forms = [
        {"action": "code", "shown": sha, "drawing": drawn, "csrf_token": csrf_token(tab, page)}
        for tab in tabs
    ]
    before = texts_to(app, phone)
    answers = at_once(
        *(lambda t=t, f=f: t.post(page, data=f) for t, f in zip(tabs, forms, strict=True))
    )
    answers.append(tabs[0].post(page, data=forms[0]))  # and once more, one after the other
    for answer in answers:
        assert not isinstance(answer, Exception), answer
        body = answer.get_data(as_text=True)
        said = re.findall(r'class="(?:flash[^"]*|field-error)"[^>]*>([^<]*)', body)
        assert answer.status_code == 200 and SENT in body and WAIT not in body, said
    assert texts_to(app, phone) - before == 1
    with time_machine.travel(utcnow() + timedelta(seconds=20)):
        later = tabs[1].post(page, data=forms[1])
    assert later.status_code == 422 and WAIT in later.get_data(as_text=True)
    assert texts_to(app, phone) - before == 1


def test_send_code_pressed_twice_on_the_agreement_sends_one_code(app, paced):
    with app.app_context():
        case, _admin = agreeing_case()
        out_for_signing(case)
        db.session.commit()
        case_id, applicant = case.id, case.party_users()[0].phone
    press_send_code_twice(app, f"/cases/{case_id}/agreement/sign", applicant)
