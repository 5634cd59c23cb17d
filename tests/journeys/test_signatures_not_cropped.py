"""Walk (e) of issue #16: every signer signs on a 2x screen (the parties on a 375 px
phone with a finger, the mediator with the mouse on a laptop, the institution's
administrator seals), and each drawing in the signed PDF is the whole drawing, where it
was drawn on the pad: not twice as large and cut off, as it was when the page redrew the
saved picture "at ratio 1" after the code was asked for."""

from __future__ import annotations

import os
import re
from pathlib import Path

from tests.browser.conftest import serve

from .signing_steps import (
    LAPTOP,
    PHONE,
    WAIT_MS,
    draft_and_open_signing,
    draw,
    drawn_part,
    enter_from_text,
    ink_box,
    ink_on_pad,
    last_text_to,
    link_in,
    log_in,
    make_world,
    new_page,
    open_case,
    pdfsig,
    same_box,
    sign_here,
    signature_pictures,
)

# Where the strokes are, as a fraction of the drawing's width and height: the pen's width
# and resampling move an edge by a pixel or two of a picture about 200 pixels high.
TOLERANCE = 0.04


def test_every_signature_is_whole_in_the_signed_pdf(app, browser_factory, step, snap, tmp_path):
    world = make_world(app)
    with serve(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path) as live_server:
        mediator = new_page(browser_factory, LAPTOP)
        draft_and_open_signing(mediator, step, snap, live_server, world, "e")

        drawn = {}
        for n, who in ((1, world.applicant), (2, world.respondent)):
            phone = new_page(browser_factory, PHONE)
            enter_from_text(phone, app, step, live_server, who["phone"], f"e-1{n}")
            if n == 1:
                rotate_and_back(phone)
            drawn[f"Signature{n}"] = sign_here(
                phone, app, step, who["phone"], f"e-1{n}", touch=True
            )

        # The mediator: from the text too, on the laptop where they are logged in.
        mediator.goto(live_server + link_in(last_text_to(app, world.mediator["phone"], "/a/")))
        mediator.wait_for_url(re.compile(r"/agreement/sign$"), timeout=WAIT_MS)
        drawn["Signature3"] = sign_here(
            mediator, app, step, world.mediator["phone"], "e-13", touch=False
        )

        # The institution's administrator seals (People's Mediation Law art 29: the seal,
        # not a drawing).
        admin = new_page(browser_factory, LAPTOP)
        admin.goto(live_server + link_in(last_text_to(app, world.admin["phone"], "/a/")))
        step(admin, "main form button[type=submit]", "e-14-0-login")
        log_in(admin, lambda *a: None, world.admin["phone"], "")
        admin.wait_for_url(re.compile(r"/agreement/sign$"), timeout=WAIT_MS)
        sign_here(admin, app, step, world.admin["phone"], "e-14", touch=None)
        assert (
            admin.get_by_text("各方均已签署，协议生效").count()
            or admin.locator(".flash-success").count()
        )

        # A party downloads the signed agreement from the agreement page.
        party = new_page(browser_factory, PHONE)
        party.goto(live_server + "/login")
        log_in(party, step, world.applicant["phone"], "e-20-login")
        open_case(party, world.case_id)
        agreement = party.locator(f"main a[href$='/cases/{world.case_id}/agreement']")
        step(party, agreement.first, "e-21-case")
        agreement.first.click()
        download = party.get_by_role("button", name="下载文本（PDF）").or_(
            party.get_by_role("link", name="下载文本（PDF）")
        )
        step(party, download.first, "e-22-agreement-in-force")
        # The file behind the button, as the party's browser fetches it (the page opens it
        # in the phone's PDF viewer).
        response = party.request.get(live_server + download.first.get_attribute("href"))
        assert response.ok and response.headers["content-type"] == "application/pdf"
        pdf = response.body()

        keep(pdf, tmp_path, "e-signed.pdf")
        check_pictures(pdf, drawn)
        out = pdfsig(pdf, tmp_path, tmp_path / "pki" / "root.crt.pem")
        assert out.count("Signature Validation: Signature is Valid.") == 4, out
        assert out.count("Certificate Validation: Certificate is Trusted.") == 4, out
        assert "Total document signed" in out

        # Anyone checks it on /verify with the document check code from the text.
        text = last_text_to(app, world.applicant["phone"], "已生效")
        check_code = re.search(r"文书校验码\s*([A-Z0-9-]+)", text).group(1)
        party.goto(live_server + link_in(text))

        code_field = party.get_by_label("文书校验码")
        step(party, code_field, "e-30-verify")
        code_field.fill(check_code)
        party.get_by_role("button", name="查验文书校验码").click()
        result = party.locator(".verification")
        result.wait_for(timeout=WAIT_MS)
        step(party, ".verification h2", "e-31-verified")
        shown = result.inner_text()
        for label in ("张三（当事人）", "李四（当事人）", "王调解（调解员）", "（调解组织）"):
            assert label in shown, shown
        assert not re.search(r"\b(party|mediator|institution)\b", shown), shown
        width = party.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"/verify is {width} px wide on a 375 px phone"


def keep(data: bytes, folder: Path, name: str) -> None:
    """The signed file beside the walk's screenshots, to look at."""
    for where in [folder, os.environ.get("MEDIATION_SCREENSHOTS")]:
        if where:
            Path(where).mkdir(parents=True, exist_ok=True)
            (Path(where) / name).write_bytes(data)


def rotate_and_back(page) -> None:
    """Turning the phone after drawing neither loses nor distorts the drawing: drawn, turned
    to landscape and back, the strokes are where they were."""
    page.wait_for_function("() => [...document.images].every(i => i.complete)", timeout=WAIT_MS)
    draw(page, touch=True)
    before = ink_on_pad(page)
    page.set_viewport_size({"width": 740, "height": 375})
    page.wait_for_function(
        "w => document.getElementById('signature-pad').width !== w", arg=before["pixels"][0]
    )
    turned = ink_on_pad(page)
    # Landscape: a wider pad, the same height: the strokes keep their size in CSS pixels.
    scale = turned["css"][0] / before["css"][0]
    expected = [
        before["box"][0] / scale,
        before["box"][1],
        before["box"][2] / scale,
        before["box"][3],
    ]
    assert same_box(turned["box"], expected, 0.02), (before, turned)
    page.set_viewport_size(PHONE["viewport"])
    page.wait_for_function(
        "w => document.getElementById('signature-pad').width === w", arg=before["pixels"][0]
    )
    assert same_box(ink_on_pad(page)["box"], before["box"], 0.01)
    page.get_by_role("button", name="清除").click()
    page.evaluate("window.scrollTo(0, 0)")


def check_pictures(pdf: bytes, drawn: dict) -> None:
    """Each drawing in the PDF: the strokes where they were on the pad (relative to the
    drawing), nothing cut at an edge; the seal whole inside its picture."""
    pictures = signature_pictures(pdf)
    assert sorted(pictures) == ["Signature1", "Signature2", "Signature3", "Signature4"]
    for name, pad in drawn.items():
        part, _area = drawn_part(pictures[name], pad)
        found = ink_box(part)
        assert found is not None, f"{name}: no drawing in the PDF"
        assert same_box(found, pad["box"], TOLERANCE), (name, pad["box"], found)
        for edge in range(4):
            at_edge = found[edge] in (0.0, 1.0)
            assert not at_edge or pad["box"][edge] in (0.0, 1.0), (name, edge, found)
    seal = ink_box(pictures["Signature4"])
    assert seal is not None and seal[0] > 0 and seal[2] < 1 and seal[1] > 0 and seal[3] < 1
