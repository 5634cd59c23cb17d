"""The court portal and the parties' pages: applying from the agreement's page, the inbox
and the steps of clerks and judges, and another court seeing nothing."""

from __future__ import annotations

import base64
import io
import re
import zipfile

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
    from mediation.court import materials

    with app.app_context():
        world = in_force()
        application = apply_jointly(world)
        party = world.case.party_users()[0]
        trick = b"%PDF-1.4\n<script>alert(1)</script>\n%%EOF\n"
        material = materials.add_material(
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
