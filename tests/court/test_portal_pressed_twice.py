"""The court's and the parties' steps on the portal sent twice (a double tap, a second tab, a
phone resending the POST): each is made once, and the second answer says what happened."""

from __future__ import annotations

import base64
import io
import re

import pytest

from mediation.court.models import Application
from mediation.extensions import db
from tests.agreements.conftest import drawing, last_code_to
from tests.conftest import csrf_token, login, post_form
from tests.factories import PASSWORD

from .conftest import apply_jointly, in_force


def _accepted_by_clerk(app, *, accept: bool = False) -> dict:
    from mediation.court import examination

    with app.app_context():
        world = in_force()
        application = apply_jointly(world)
        if accept:
            examination.accept(application, by=world.clerk)
        db.session.commit()
        return {
            "application": application.id,
            "case": world.case.id,
            "clerk": world.clerk.phone,
            "judge": world.judge.phone,
        }


def _journal_count(app, case_id: int, action: str) -> int:
    from mediation.journal.models import JournalEntry

    with app.app_context():
        return db.session.query(JournalEntry).filter_by(case_id=case_id, action=action).count()


def _messages(app) -> int:
    from mediation.notify.models import OutboxMessage

    with app.app_context():
        return db.session.query(OutboxMessage).count()


def test_a_clerk_s_acceptance_sent_twice_says_it_was_accepted(app, client):
    """受理 tapped twice: the second answer said "only a new application can be accepted"
    as an error; now it says it was accepted, with the number, and nothing happens twice."""
    ids = _accepted_by_clerk(app)
    login(client, ids["clerk"], PASSWORD)
    page = f"/court/applications/{ids['application']}"
    token = csrf_token(client, page)
    assert client.post(f"{page}/accept", data={"csrf_token": token}).status_code == 302
    client.get(page)  # the first answer's message read
    told = _messages(app)
    again = client.post(f"{page}/accept", data={"csrf_token": token})
    assert again.status_code == 302 and again.location.endswith(page)
    text = client.get(page).get_data(as_text=True)
    assert "已经受理" in text and "民特" in text and "只能受理新提交的申请" not in text
    assert _journal_count(app, ids["case"], "confirmation.accepted") == 1
    assert _messages(app) == told


def test_an_acceptance_from_two_tabs_at_once_is_made_once(app):
    from tests.conftest import at_once

    ids = _accepted_by_clerk(app)
    page = f"/court/applications/{ids['application']}"
    clients = [app.test_client(), app.test_client()]
    for c in clients:
        login(c, ids["clerk"], PASSWORD)
    tokens = [csrf_token(c, page) for c in clients]
    answers = at_once(
        *(
            lambda c=c, t=t: c.post(f"{page}/accept", data={"csrf_token": t})
            for c, t in zip(clients, tokens, strict=True)
        )
    )
    assert [a.status_code for a in answers] == [302, 302], answers
    assert _journal_count(app, ids["case"], "confirmation.accepted") == 1
    pages = [c.get(page).get_data(as_text=True) for c in clients]
    assert sum("已经受理" in p for p in pages) == 1  # the other one: 已受理 (done)


def test_a_request_for_materials_sent_twice_asks_the_parties_once(app, client):
    """The same request for materials sent twice asked the parties twice (two requests,
    two text messages each); now the second says they were already asked."""
    from mediation.court.models import SupplementRequest

    ids = _accepted_by_clerk(app, accept=True)
    login(client, ids["clerk"], PASSWORD)
    page = f"/court/applications/{ids['application']}"
    form = {
        "text": "请提供申请人的身份证复印件",
        "days": "5",
        "csrf_token": csrf_token(client, page),
    }
    assert client.post(f"{page}/materials", data=form).status_code == 302
    client.get(page)
    told = _messages(app)
    assert client.post(f"{page}/materials", data=form).status_code == 302
    assert "已经要求当事人补充这些材料" in client.get(page).get_data(as_text=True)
    assert _messages(app) == told
    with app.app_context():
        assert db.session.query(SupplementRequest).count() == 1
    # Another request is a request of its own.
    assert (
        client.post(f"{page}/materials", data=form | {"text": "请提供借条原件"}).status_code == 302
    )
    with app.app_context():
        assert db.session.query(SupplementRequest).count() == 2


def test_a_request_for_materials_from_two_tabs_at_once_is_made_once(app):
    from mediation.court.models import SupplementRequest
    from tests.conftest import at_once

    ids = _accepted_by_clerk(app, accept=True)
    page = f"/court/applications/{ids['application']}"
    clients = [app.test_client(), app.test_client()]
    for c in clients:
        login(c, ids["clerk"], PASSWORD)
    forms = [
        {"text": "请提供借条原件", "days": "5", "csrf_token": csrf_token(c, page)} for c in clients
    ]
    answers = at_once(
        *(
            lambda c=c, f=f: c.post(f"{page}/materials", data=f)
            for c, f in zip(clients, forms, strict=True)
        )
    )
    assert [a.status_code for a in answers] == [302, 302], answers
    with app.app_context():
        assert db.session.query(SupplementRequest).count() == 1
    assert _journal_count(app, ids["case"], "confirmation.materials_requested") == 1


def test_an_extension_and_a_ruling_sent_twice_are_made_once(app, client):
    ids = _accepted_by_clerk(app, accept=True)
    login(client, ids["judge"], PASSWORD)
    page = f"/court/applications/{ids['application']}"
    token = csrf_token(client, page)
    extend = {"reasons": "案情复杂", "csrf_token": token}
    assert client.post(f"{page}/extend", data=extend).status_code == 302
    client.get(page)
    assert client.post(f"{page}/extend", data=extend).status_code == 302
    text = client.get(page).get_data(as_text=True)
    assert "审查期限已经延长" in text and "已经延长过一次" not in text
    assert _journal_count(app, ids["case"], "confirmation.extended") == 1
    rule = {"result": "confirmed", "csrf_token": token}
    assert client.post(f"{page}/rule", data=rule).status_code == 302
    client.get(page)
    told = _messages(app)
    assert client.post(f"{page}/rule", data=rule).status_code == 302
    text = client.get(page).get_data(as_text=True)
    assert "已经作出" in text and "只能对已受理的申请作出决定" not in text
    assert _journal_count(app, ids["case"], "confirmation.confirmed") == 1
    assert _messages(app) == told


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _signing_page_form(app, client, case_id: int, phone: str) -> dict:
    """The signing form as the party fills it: the code asked for and typed, drawn."""
    from mediation.accounts.models import User

    sign = f"/cases/{case_id}/confirmation/sign"
    drawn = "data:image/png;base64," + base64.b64encode(drawing()).decode()
    form = client.get(sign).get_data(as_text=True)
    sha = re.search(r'name="shown"[^>]*value="([0-9a-f]{64})"', form).group(1)
    post_form(client, sign, {"action": "code", "shown": sha, "drawing": drawn})
    with app.app_context():
        code = last_code_to(db.session.query(User).filter_by(phone=phone).one())
    return {
        "action": "sign",
        "shown": sha,
        "drawing": drawn,
        "code": code,
        "csrf_token": csrf_token(client, sign),
    }


def test_a_party_s_apply_sign_add_and_withdraw_sent_twice_are_done_once(app, client):
    """Each of the party's buttons pressed twice: "apply" said "an application is already
    under way" as an error, "sign" said "it is not your turn", a document was added twice,
    and "withdraw" answered "page not found". Each now says it was done, once."""
    from mediation.court.models import Material

    with app.app_context():
        world = in_force()
        db.session.commit()
        case_id, court_id = world.case.id, world.court.id
        phone = world.case.party_users()[0].phone
    page = f"/cases/{case_id}/agreement"
    login(client, phone, PASSWORD)
    start = {"court": court_id, "csrf_token": csrf_token(client, page)}
    first = client.post(f"/cases/{case_id}/confirmation/start", data=start)
    client.get(first.location)
    again = client.post(f"/cases/{case_id}/confirmation/start", data=start)
    assert again.location == first.location
    text = client.get(again.location, follow_redirects=True).get_data(as_text=True)
    assert "申请已经提交过了" in text or "已经发起" in text, text[:300]
    assert _journal_count(app, case_id, "confirmation.started") == 1

    sign = f"/cases/{case_id}/confirmation/sign"
    form = _signing_page_form(app, client, case_id, phone)
    assert client.post(sign, data=form).status_code == 302
    client.get(page)
    again = client.post(sign, data=form)
    assert again.status_code == 302
    text = client.get(again.location).get_data(as_text=True)
    assert "您已经签过名了" in text and "还没有轮到您签署" not in text
    assert _journal_count(app, case_id, "confirmation.signed") == 1

    upload = f"/cases/{case_id}/confirmation/materials"
    token = csrf_token(client, page)
    for _ in range(2):
        sent = client.post(
            upload,
            data={"kind": "identity", "file": (io.BytesIO(PDF), "身份证.pdf"), "csrf_token": token},
        )
        assert sent.status_code == 302
    assert "这份材料已经添加过了" in client.get(page).get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Material).filter_by(kind="identity").count() == 1

    withdraw = f"/cases/{case_id}/confirmation/withdraw"
    assert client.post(withdraw, data={"csrf_token": token}).status_code == 302
    client.get(page)
    again = client.post(withdraw, data={"csrf_token": token})
    assert again.status_code == 302
    assert "申请已经撤回" in client.get(again.location).get_data(as_text=True)
    assert _journal_count(app, case_id, "confirmation.withdrawn") == 1


def test_a_withdrawal_from_two_tabs_at_once_is_made_once(app):
    from tests.conftest import at_once

    with app.app_context():
        world = in_force()
        application_id = apply_jointly(world).id
        db.session.commit()
        case_id = world.case.id
        phone = world.case.party_users()[0].phone
    page = f"/cases/{case_id}/agreement"
    clients = [app.test_client(), app.test_client()]
    for c in clients:
        login(c, phone, PASSWORD)
    tokens = [csrf_token(c, page) for c in clients]
    answers = at_once(
        *(
            lambda c=c, t=t: c.post(
                f"/cases/{case_id}/confirmation/withdraw", data={"csrf_token": t}
            )
            for c, t in zip(clients, tokens, strict=True)
        )
    )
    assert [a.status_code for a in answers] == [302, 302], answers
    assert _journal_count(app, case_id, "confirmation.withdrawn") == 1
    with app.app_context():
        assert db.session.get(Application, application_id).status == "withdrawn"


def test_a_document_sent_again_for_a_new_request_answers_it(app):
    """The court asks for the ID card; the party sends it. The court then asks again (say,
    for everything that proves who the parties are) and the party sends the same file:
    it was refused as "already added", and the court's new request stayed unanswered
    until its deadline. A file sent for a request made after it was last sent is an
    answer; the same upload sent twice is still added once."""
    from mediation.court import application as applying
    from mediation.court import examination, materials

    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    with app.app_context():
        world = in_force()
        application = apply_jointly(world)
        party = world.case.party_users()[0]
        examination.request_materials(application, "请提供身份证复印件", 5, by=world.clerk)
        materials.add_material(application, "supplement", "身份证.pdf", pdf, by=party)
        with pytest.raises(applying.RepeatedError):  # the upload sent twice
            materials.add_material(application, "supplement", "身份证.pdf", pdf, by=party)
        examination.request_materials(
            application, "请提供证明双方身份的全部材料", 5, by=world.clerk
        )
        materials.add_material(application, "supplement", "身份证.pdf", pdf, by=party)
        with pytest.raises(applying.RepeatedError):
            materials.add_material(application, "supplement", "身份证.pdf", pdf, by=party)
        db.session.flush()
        first, second = application.requests
        assert first.answered_at is not None and second.answered_at is not None
        answers = sorted(m.request_id for m in application.materials if m.kind == "supplement")
        assert answers == [first.id, second.id]
