"""Walk: a judge of a court with its own key rules on a laptop. She decides, downloads the
decision the platform prepared, the court's own tool signs it (here: pyHanko with the
court's certificate, made in the test), and she uploads the signed file; the ruling is made.

Set up with operations: an agreement in force, the joint application accepted, and the
court's root certificate configured (issue 17, build 4)."""

from __future__ import annotations

from pathlib import Path

from agreements._loop import outside_event_loop
from mediation.cases.models import Case
from mediation.court import keys
from mediation.extensions import db
from tests.browser.conftest import serve
from tests.court.conftest import apply_jointly, in_force
from tests.court.own_key import court_pki, court_signs
from tests.factories import PASSWORD

LAPTOP = {"viewport": {"width": 1366, "height": 768}, "device_scale_factor": 2}


def world(app):
    from mediation.court import examination

    with app.app_context():
        made = in_force()
        pki = court_pki(made.court.name)
        keys.set_roots(made.court, pki.pem())
        application = apply_jointly(made)
        examination.accept(application, by=made.clerk)
        db.session.commit()
        return {
            "judge": made.judge.phone,
            "case": made.case.id,
            "application": application.id,
            "number": application.court_case_number,
            "pki": pki,
        }


def test_the_judge_rules_and_uploads_the_decision_the_court_signed(
    app, browser_factory, step, snap, tmp_path
):
    made = world(app)
    shared = {
        "MEDIATION_STORAGE_DIR": app.config["STORAGE_DIR"],
        "MEDIATION_PKI_DIR": app.config["PKI_DIR"],
    }
    with serve(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, settings=shared) as live_server:
        page = browser_factory().new_context(**LAPTOP, accept_downloads=True).new_page()
        page.goto(live_server + "/login")
        page.fill("input[name=identifier]", made["judge"])
        page.fill("input[name=password]", PASSWORD)
        page.locator("main form button[type=submit]").click()
        page.wait_for_url(lambda url: "/login" not in url)
        page.goto(f"{live_server}/court/applications/{made['application']}")

        page.get_by_label("确认协议有效").check()
        page.fill("textarea[name=reasons] >> nth=0", "协议系双方自愿达成，内容不违反法律规定。")
        prepare = page.get_by_role("button", name="准备裁定书供签名")
        prepare.click()
        page.wait_for_load_state()
        download = page.get_by_role("button", name="1. 下载待签名的裁定书（PDF）")
        step(page, download, "k01-judge-decision-awaits-signature")
        with page.expect_download() as got:
            download.click()
        unsigned = Path(got.value.path()).read_bytes()

        # The court's own tool signs it, away from the platform (pyHanko runs its own event
        # loop: not in this thread, where Playwright's runs).
        signed = tmp_path / "signed-decision.pdf"
        signed.write_bytes(outside_event_loop(court_signs, made["pki"], unsigned))

        choose = page.locator("input[name=decision]")
        step(page, choose, "k02-judge-chooses-the-signed-decision")
        choose.set_input_files(str(signed))
        upload = page.get_by_role("button", name="上传并作出裁定")
        step(page, upload, "k03-judge-uploads-it")
        upload.click()
        page.wait_for_load_state()
        snap(page, "k04-ruling-made")
        assert "裁定已作出" in page.content()
    with app.app_context():
        case = db.session.get(Case, made["case"])
        assert case.status == "confirmed"
