"""Walk (f) of issue #16: the parties come to the mediation office and sign there, one after
another, on the office's tablet; the mediator and the institution's administrator sign on
the office laptop. Everyone is behind the office's one address, and the pacing of codes
is the production one: nobody is stopped by a limit meant for one person, nor by finding
somebody else logged in on the device."""

from __future__ import annotations

import re

from tests.browser.conftest import serve

from .signing_steps import (
    LAPTOP,
    PHONE,
    WAIT_MS,
    code_in,
    draft_and_open_signing,
    draw,
    last_text_to,
    link_in,
    log_in,
    make_world,
    new_page,
    pdfsig,
)

# Production pacing per recipient (accounts/codes.py), and a limit on code requests that
# one office address would exceed at once if it counted all signers together: two.
OFFICE = {
    "MEDIATION_CODE_INTERVAL_SECONDS": "60",
    "MEDIATION_CODE_LIMIT_PER_RECIPIENT_HOUR": "6",
    "MEDIATION_CODE_SEND_LIMIT": "2 per 10 minutes",
}


def sign(page, app, step, phone: str, name: str, *, touch: bool | None) -> None:
    """Read, draw (with a finger or the mouse; None: the seal), get the code, sign."""
    step(page, "#document-heading", f"{name}-read")
    if touch is not None:
        draw(page, touch=touch)
    page.get_by_role("button", name="发送验证码").click()
    code = page.locator("input[name=code]")
    step(page, code, f"{name}-code")
    refused = page.locator(".field-error, .flash-error")
    assert not refused.count(), refused.all_inner_texts()
    code.fill(code_in(last_text_to(app, phone, "的调解协议书")))
    page.get_by_role("button", name="用此验证码签署").click()
    page.wait_for_selector(".flash-success", timeout=WAIT_MS)


def enter_with_code(page, app, step, phone: str, name: str) -> None:
    send = page.get_by_role("button", name="发送验证码")
    step(page, send, f"{name}-link")
    send.click()
    assert not page.locator(".flash-error").count()
    page.fill("input[name=code]", code_in(last_text_to(app, phone, "进入调解案件")))
    page.get_by_role("button", name="确认").click()
    page.wait_for_url(re.compile(r"/agreement/sign$"), timeout=WAIT_MS)


def test_everyone_signs_in_the_office_one_after_another(app, browser_factory, step, snap, tmp_path):
    # The respondent was invited by SMS: no password, he enters with codes.
    world = make_world(app, respondent_password=False)
    with serve(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, settings=OFFICE) as live_server:
        laptop = new_page(browser_factory, LAPTOP, scale=1)
        draft_and_open_signing(laptop, step, snap, live_server, world, "f")

        # The office's tablet: the applicant first, from the link in her text message.
        tablet = new_page(browser_factory, PHONE, scale=1)
        tablet.goto(live_server + link_in(last_text_to(app, world.applicant["phone"], "/a/")))
        enter_with_code(tablet, app, step, world.applicant["phone"], "f-11")
        sign(tablet, app, step, world.applicant["phone"], "f-12", touch=True)

        # Then the respondent, on the same tablet, where she is still logged in.
        tablet.goto(live_server + link_in(last_text_to(app, world.respondent["phone"], "/a/")))
        switch = tablet.get_by_role("button", name=re.compile("退出张三的账户"))
        step(tablet, switch, "f-21-someone-else-logged-in")
        assert "李四" not in tablet.inner_text("main")  # nothing of the link's person shown
        switch.click()
        enter_with_code(tablet, app, step, world.respondent["phone"], "f-22")
        sign(tablet, app, step, world.respondent["phone"], "f-23", touch=True)

        # The mediator on the office laptop, from his text.
        laptop.goto(live_server + link_in(last_text_to(app, world.mediator["phone"], "/a/")))
        laptop.wait_for_url(re.compile(r"/agreement/sign$"), timeout=WAIT_MS)
        sign(laptop, app, step, world.mediator["phone"], "f-31", touch=False)

        # The administrator seals on the same laptop, where the mediator is logged in.
        laptop.goto(live_server + link_in(last_text_to(app, world.admin["phone"], "/a/")))
        switch = laptop.get_by_role("button", name=re.compile("退出王调解的账户"))
        step(laptop, switch, "f-41-someone-else-logged-in")
        switch.click()
        laptop.wait_for_url(re.compile(r"/login"), timeout=WAIT_MS)
        log_in(laptop, step, world.admin["phone"], "f-42-login")
        laptop.wait_for_url(re.compile(r"/agreement/sign$"), timeout=WAIT_MS)
        sign(laptop, app, step, world.admin["phone"], "f-43", touch=None)
        assert "各方均已签署" in laptop.inner_text(".flash-success")

        # The agreement in force, as the administrator downloads it; someone else's tool
        # agrees that every signature is valid and trusted.
        href = laptop.get_by_role("button", name="下载文本（PDF）").first.get_attribute("href")
        response = laptop.request.get(live_server + href)
        assert response.ok
        out = pdfsig(response.body(), tmp_path, tmp_path / "pki" / "root.crt.pem")
        assert out.count("Signature Validation: Signature is Valid.") == 4, out
        assert out.count("Certificate Validation: Certificate is Trusted.") == 4, out
