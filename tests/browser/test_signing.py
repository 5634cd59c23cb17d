"""Signing in a real browser on a phone-sized screen: the party reads the agreement, draws a
signature with signature_pad, asks for the code (the drawing survives the page reload),
signs, and the stored PDF carries a valid signature whose appearance is the drawing."""

from __future__ import annotations

import base64
import io
import re

from PIL import Image
from sqlalchemy import select

from agreements.verify import verify_pdf
from mediation.agreements import credentials, signing
from mediation.agreements import operations as agreements
from mediation.cases.models import Case
from mediation.extensions import db
from mediation.notify.models import OutboxMessage
from tests.agreements.conftest import agreeing_case, out_for_signing
from tests.factories import PASSWORD

from .conftest import WAIT_MS, serve

INKED = (
    "() => { const c = document.getElementById('signature-pad');"
    " return c.getContext('2d').getImageData(0, 0, c.width, c.height).data"
    ".some((v, i) => i % 4 === 3 && v > 0); }"
)


def test_a_party_draws_and_signs_on_a_phone(app, browser_factory, tmp_path):
    with app.app_context():
        case, _admin = agreeing_case()
        agreement = out_for_signing(case)
        db.session.commit()
        case_id, phone = case.id, case.party_users()[0].phone

    # The server signs with the test's CA and keeps files where the test reads them.
    shared = {
        "MEDIATION_STORAGE_DIR": app.config["STORAGE_DIR"],
        "MEDIATION_PKI_DIR": app.config["PKI_DIR"],
    }
    with serve(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, settings=shared) as live_server:
        sign_in_a_browser(browser_factory, live_server, case_id, phone, app, tmp_path)
    with app.app_context():
        agreement = agreements.of_case(db.session.get(Case, case_id))
        first = agreement.round_signatures()[0]
        assert first.signed_at is not None
        report = verify_pdf(
            signing.document_bytes(agreement), trust_roots=credentials.authority().trust_roots
        )
        # the signature and the document timestamp closing it (B-LTA)
        assert [s.kind for s in report.signatures] == ["signature", "document timestamp"]
        assert report.signatures[0].intact
        assert report.signatures[0].trusted and report.signatures[0].timestamped


def sign_in_a_browser(browser_factory, live_server, case_id, phone, app, tmp_path) -> None:
    browser = browser_factory()
    page = browser.new_context(viewport={"width": 375, "height": 740}, has_touch=True).new_page()
    page.goto(f"{live_server}/login")
    page.fill("input[name=identifier]", phone)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto(f"{live_server}/cases/{case_id}/agreement/sign")
    # The pages' pictures hold their place while they load, so the pad does not move
    # under the finger; the test waits for them anyway before it measures.
    page.wait_for_function("() => [...document.images].every(i => i.complete)", timeout=WAIT_MS)
    pad = page.locator("#signature-pad")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    assert box["width"] <= 375  # the pad fits the phone's screen
    page.mouse.move(box["x"] + 20, box["y"] + box["height"] * 0.7)
    page.mouse.down()
    for step in range(1, 16):
        page.mouse.move(
            box["x"] + 20 + step * (box["width"] - 40) / 15,
            box["y"] + box["height"] * (0.3 if step % 2 else 0.7),
            steps=3,
        )
    page.mouse.up()
    page.wait_for_function(INKED, timeout=WAIT_MS)  # the strokes are on the pad
    page.click("button[name=action][value=code]")
    page.wait_for_selector("input[name=code]", timeout=WAIT_MS)
    drawn = page.locator("input[name=drawing]").input_value()
    assert drawn.startswith("data:image/png;base64,")  # kept across the reload
    ink = Image.open(io.BytesIO(base64.b64decode(drawn.split(",", 1)[1]))).getchannel("A")
    assert ink.getbbox() is not None  # the strokes, not an empty pad
    page.wait_for_function(INKED, timeout=WAIT_MS)  # and shown on the pad again after the reload
    page.screenshot(path=str(tmp_path / "sign-375.png"), full_page=True)

    with app.app_context():
        body = db.session.scalars(
            select(OutboxMessage.body)
            .where(OutboxMessage.recipient == phone)
            .order_by(OutboxMessage.id.desc())
        ).first()
    page.fill("input[name=code]", re.search(r"\d{6}", body).group())
    page.click("button[name=action][value=sign]")
    page.wait_for_url(re.compile(rf"/cases/{case_id}/agreement$"), timeout=WAIT_MS)
