"""The court portal and the parties' pages: applying from the agreement's page, the inbox
and the steps of clerks and judges, and another court seeing nothing."""

from __future__ import annotations

import base64
import io
import re
import zipfile

import pytest

from mediation.cases.models import Case
from mediation.court.models import Application
from mediation.extensions import db
from tests.agreements.conftest import drawing, last_code_to
from tests.conftest import csrf_token, login, post_form
from tests.factories import PASSWORD

from .conftest import apply_jointly, in_force


def test_the_parties_apply_and_sign_on_their_pages(app, client):
    with app.app_context():
        world = in_force()
        db.session.commit()
        case_id, court_id = world.case.id, world.court.id
        phones = [u.phone for u in world.case.party_users()]
    page = f"/cases/{case_id}/agreement"
    login(client, phones[0], PASSWORD)
    shown = client.get(page).get_data(as_text=True)
    assert f'name="court" value="{court_id}"' in shown  # the competent court to choose
    started = post_form(
        client, f"/cases/{case_id}/confirmation/start", {"court": court_id}, form_page=page
    )
    assert started.status_code == 302
    drawn = "data:image/png;base64," + base64.b64encode(drawing()).decode()
    for n, phone in enumerate(phones):
        signer = client if n == 0 else app.test_client()
        if n:
            login(signer, phone, PASSWORD)
        sign = f"/cases/{case_id}/confirmation/sign"
        form = signer.get(sign).get_data(as_text=True)
        sha = re.search(r'name="shown"[^>]*value="([0-9a-f]{64})"', form).group(1)
        post_form(signer, sign, {"action": "code", "shown": sha, "drawing": drawn})
        with app.app_context():
            from mediation.accounts.models import User

            code = last_code_to(db.session.query(User).filter_by(phone=phone).one())
        done = post_form(
            signer, sign, {"action": "sign", "shown": sha, "drawing": drawn, "code": code}
        )
        assert done.status_code == 302, done.get_data(as_text=True)[:500]
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case.status == "confirmation_requested"
        application = db.session.scalars(
            db.select(Application).where(Application.case_id == case_id)
        ).one()
        clerk, judge = world_staff(application.court)
    # ... and on through the court's portal to the ruling: the whole path by web pages.
    detail = f"/court/applications/{application.id}"
    court = app.test_client()
    login(court, clerk, PASSWORD)
    assert post_form(court, f"{detail}/accept", {}, form_page=detail).status_code == 302
    ruling = app.test_client()
    login(ruling, judge, PASSWORD)
    assert (
        post_form(ruling, f"{detail}/rule", {"result": "confirmed"}, form_page=detail).status_code
        == 302
    )
    with app.app_context():
        assert db.session.get(Case, case_id).status == "confirmed"
    decision = client.get(f"/cases/{case_id}/confirmation/decision.pdf")  # the party's copy
    assert decision.status_code == 200 and decision.data.startswith(b"%PDF-")


def world_staff(court) -> tuple[str, str]:
    from mediation.accounts.models import Role

    staff = {role: u.phone for u in court.staff for role in u.roles}
    return staff[Role.court_clerk], staff[Role.judge]


def test_clerk_accepts_judge_rules_and_another_court_sees_nothing(app, client):
    with app.app_context():
        world = in_force()
        application = apply_jointly(world)
        db.session.commit()
        ids = {
            "application": application.id,
            "clerk": world.clerk.phone,
            "judge": world.judge.phone,
            "other": world.other_judge.phone,
        }
    detail = f"/court/applications/{ids['application']}"
    other = app.test_client()
    login(other, ids["other"], PASSWORD)
    assert ids["application"] not in [
        int(x)
        for x in re.findall(
            r"/court/applications/(\d+)", other.get("/court/").get_data(as_text=True)
        )
    ]
    for path in (detail, f"{detail}/application.pdf", f"{detail}/package.zip"):
        assert other.get(path).status_code == 404
    assert post_form(other, f"{detail}/accept", {}, form_page="/court/").status_code == 404

    login(client, ids["clerk"], PASSWORD)
    assert f"/court/applications/{ids['application']}" in client.get("/court/").get_data(
        as_text=True
    )
    package = client.get(f"{detail}/package.zip")
    assert package.status_code == 200
    assert "manifest.json.p7s" in zipfile.ZipFile(io.BytesIO(package.data)).namelist()
    assert post_form(client, f"{detail}/accept", {}, form_page=detail).status_code == 302
    assert (
        post_form(client, f"{detail}/rule", {"result": "confirmed"}, form_page=detail).status_code
        == 403
    )

    judge = app.test_client()
    login(judge, ids["judge"], PASSWORD)
    assert (
        post_form(judge, f"{detail}/rule", {"result": "confirmed"}, form_page=detail).status_code
        == 302
    )
    with app.app_context():
        assert db.session.get(Application, ids["application"]).status == "confirmed"
    decision = judge.get(f"{detail}/decision.pdf")
    assert decision.status_code == 200 and decision.data.startswith(b"%PDF-")


def test_the_cli_verifies_a_package_and_makes_tokens(app, runner, tmp_path):
    with app.app_context():
        world = in_force()
        application = apply_jointly(world)
        db.session.commit()
        from mediation.court import bundle

        data = bundle.build(application)
        court_name = world.court.name
    good = tmp_path / "package.zip"
    good.write_bytes(data)
    result = runner.invoke(args=["court", "verify", str(good)])
    assert result.exit_code == 0, result.output
    # A changed journal entry, re-hashed into a manifest that is not re-signed: refused.
    with zipfile.ZipFile(io.BytesIO(data)) as original:
        files = {name: original.read(name) for name in original.namelist()}
    files["journal.json"] = files["journal.json"].replace(b'"case.opened"', b'"case.closed"', 1)
    bad = tmp_path / "changed.zip"
    with zipfile.ZipFile(bad, "w") as changed:
        for name, content in files.items():
            changed.writestr(name, content)
    result = runner.invoke(args=["court", "verify", str(bad)])
    assert result.exit_code == 1 and "NOT VALID" in result.output
    made = runner.invoke(args=["court", "token", court_name])
    assert made.exit_code == 0 and made.output.startswith("mct_")
    assert runner.invoke(args=["court", "token", "no such court"]).exit_code != 0


def test_a_party_adds_a_document_that_the_court_gets(app, client):
    with app.app_context():
        world = in_force()
        application = apply_jointly(world)
        from mediation.court import examination

        examination.request_materials(application, "请提供身份证复印件", 5, by=world.clerk)
        db.session.commit()
        case_id, application_id = world.case.id, application.id
        phone, clerk = world.case.party_users()[0].phone, world.clerk.phone
    page = f"/cases/{case_id}/agreement"
    login(client, phone, PASSWORD)
    assert "请提供身份证复印件" in client.get(page).get_data(as_text=True)
    add = f"/cases/{case_id}/confirmation/materials"
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    refused = post_form(
        client,
        add,
        {"kind": "supplement", "file": (io.BytesIO(b"MZ\x90\x00"), "a.exe")},
        form_page=page,
    )
    assert refused.status_code == 302
    added = post_form(
        client, add, {"kind": "supplement", "file": (io.BytesIO(pdf), "身份证.pdf")}, form_page=page
    )
    assert added.status_code == 302
    with app.app_context():
        application = db.session.get(Application, application_id)
        assert [m.name for m in application.materials if m.kind == "supplement"] == ["身份证.pdf"]
        assert application.requests[0].answered_at is not None
    court = app.test_client()
    login(court, clerk, PASSWORD)
    package = zipfile.ZipFile(
        io.BytesIO(court.get(f"/court/applications/{application_id}/package.zip").data)
    )
    assert any(
        name.startswith("materials/") and name.endswith("身份证.pdf") for name in package.namelist()
    )


def test_materials_download_as_attachments_and_odd_names_are_cleaned(app, client):
    from mediation.court import application as applying

    with app.app_context():
        world = in_force()
        application = apply_jointly(world)
        party = world.case.party_users()[0]
        trick = b"%PDF-1.4\n<script>alert(1)</script>\n%%EOF\n"
        material = applying.add_material(
            application, "identity", "C:\\fakepath\\id\x07.html", trick, by=party
        )
        db.session.commit()
        ids = (application.id, material.id, world.clerk.phone, material.name)
    assert ids[3] == "id.html"
    login(client, ids[2], PASSWORD)
    served = client.get(f"/court/applications/{ids[0]}/materials/{ids[1]}")
    assert served.status_code == 200 and served.mimetype == "application/pdf"
    assert served.headers["Content-Disposition"].startswith("attachment")
    # Saved under the record's name with the type its content is, not the party's "id.html".
    assert served.headers["Content-Disposition"].endswith(f"-{ids[1]}.pdf")
    policy = served.headers["Content-Security-Policy"]
    assert policy == "default-src 'none'; sandbox; frame-ancestors 'none'"
    assert client.get(f"/court/applications/{ids[0]}/package.zip").status_code == 200


def test_a_court_id_out_of_range_is_a_clear_refusal(app, client):
    with app.app_context():
        world = in_force()
        db.session.commit()
        case_id, phone = world.case.id, world.case.party_users()[0].phone
    page = f"/cases/{case_id}/agreement"
    login(client, phone, PASSWORD)
    answer = post_form(
        client, f"/cases/{case_id}/confirmation/start", {"court": "9" * 20}, form_page=page
    )
    # A number no court can have: a 400 that says so in the visitor's language, not a 500.
    assert answer.status_code == 400
    assert "数字过大" in answer.get_data(as_text=True)


def test_the_portal_s_extension_needs_reasons_and_happens_once(app, client):
    """SPC provisions art 5: special circumstances, the president's approval; the reasons
    go to the journal, and a second extension is refused."""
    from mediation.court import examination

    with app.app_context():
        world = in_force()
        application = apply_jointly(world)
        examination.accept(application, by=world.clerk)
        db.session.commit()
        application_id, judge, due = application.id, world.judge.phone, application.ruling_due_at
    login(client, judge, PASSWORD)
    page = f"/court/applications/{application_id}"
    blank = post_form(client, f"{page}/extend", {"reasons": " \u3000"}, form_page=page)
    assert blank.status_code == 422
    assert "请说明延长审查期限的理由" in blank.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Application, application_id).ruling_due_at == due
    done = post_form(client, f"{page}/extend", {"reasons": "案情复杂"}, form_page=page)
    assert done.status_code == 302
    again = post_form(client, f"{page}/extend", {"reasons": "再延"}, form_page=page)
    assert again.status_code == 302
    assert "审查期限已经延长过一次" in client.get(page).get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Application, application_id).ruling_due_at > due


def test_a_signing_link_read_after_a_withdrawal_says_so(app, client):
    """The respondent opens the text message's link after the applicant withdrew the
    application: the agreement's page, saying there is nothing to sign (not "page not
    found"); pressing "sign" on a page left open meanwhile says the same."""
    from mediation.court import application as applying

    with app.app_context():
        world = in_force()
        applicant, respondent = world.case.party_users()
        application = applying.start(world.case, world.court, by=applicant)
        link = applying.link_for(application, respondent)
        applying.withdraw(application, by=applicant)
        db.session.commit()
        case_id, phone = world.case.id, respondent.phone
    login(client, phone, PASSWORD)
    path = "/" + link.split("/", 3)[3]
    landed = client.get(path, follow_redirects=True)
    page = landed.get_data(as_text=True)
    assert landed.status_code == 200 and landed.request.path == f"/cases/{case_id}/agreement"
    assert "已撤回" in page and "无需签名" in page, page
    token = csrf_token(client, f"/cases/{case_id}/agreement")
    pressed = client.post(
        f"/cases/{case_id}/confirmation/sign", data={"action": "sign", "csrf_token": token}
    )
    assert pressed.status_code == 303 and pressed.location.endswith(f"/cases/{case_id}/agreement")


def test_a_refused_agents_application_link_says_it_no_longer_applies(app, client):
    """The agent who signs the application for the respondent is refused by them while the
    round is open: their text message's link says it no longer applies, before any code,
    with nothing of the case (not "page not found" after the code)."""
    from mediation.cases import agency
    from mediation.cases.models import CaseParty
    from mediation.court import application as applying
    from tests.factories import make_user

    with app.app_context():
        world = in_force()
        applicant, respondent = world.case.party_users()
        row = CaseParty(user=make_user(), side="respondent", is_agent=True, represents=respondent)
        world.case.parties.append(row)
        db.session.flush()
        agency.confirm(row, by=world.case.mediator)
        application = applying.start(world.case, world.court, by=applicant)
        assert row.user_id in {s.user_id for s in application.signatures}
        link = applying.link_for(application, row.user)
        agency.refuse(row, by=respondent)
        db.session.commit()
        number = world.case.number
    answer = client.get("/" + link.split("/", 3)[3])
    page = answer.get_data(as_text=True)
    assert answer.status_code == 410 and "此链接已失效：您已不再参与本案" in page
    assert number not in page


# -- the same step sent twice: a double tap, a second tab, a phone resending the POST -----


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
    from mediation.court import examination

    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    with app.app_context():
        world = in_force()
        application = apply_jointly(world)
        party = world.case.party_users()[0]
        examination.request_materials(application, "请提供身份证复印件", 5, by=world.clerk)
        applying.add_material(application, "supplement", "身份证.pdf", pdf, by=party)
        with pytest.raises(applying.RepeatedError):  # the upload sent twice
            applying.add_material(application, "supplement", "身份证.pdf", pdf, by=party)
        examination.request_materials(
            application, "请提供证明双方身份的全部材料", 5, by=world.clerk
        )
        applying.add_material(application, "supplement", "身份证.pdf", pdf, by=party)
        with pytest.raises(applying.RepeatedError):
            applying.add_material(application, "supplement", "身份证.pdf", pdf, by=party)
        db.session.flush()
        first, second = application.requests
        assert first.answered_at is not None and second.answered_at is not None
        answers = sorted(m.request_id for m in application.materials if m.kind == "supplement")
        assert answers == [first.id, second.id]
