"""A party who does not accept the agreement refuses to sign it, on a 375 px phone, from the
text message's link. Refusing ends the mediation (SPC online mediation rules art 25 (7)) and
cannot be undone, so, as for ending or refusing mediation, a box must be ticked first: a tap
on "拒绝签署" without it brings the page back with the box and its message in sight and the
reason typed kept."""

from __future__ import annotations

import re

from tests.browser.conftest import serve

from .conftest import axe_violations
from .signing_steps import (
    LAPTOP,
    PHONE,
    WAIT_MS,
    draft_and_open_signing,
    enter_from_text,
    make_world,
    new_page,
)


def test_a_party_refuses_to_sign_only_once_ticked(app, browser_factory, step, snap, tmp_path):
    def seen(page, name: str) -> None:
        """A screenshot and axe-core, where the next thing is below the signing (on purpose:
        signing comes first), not in the first screen as ``step`` asks."""
        snap(page, name)
        assert not axe_violations(page), axe_violations(page)

    world = make_world(app)
    with serve(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path) as live_server:
        mediator = new_page(browser_factory, LAPTOP)
        draft_and_open_signing(mediator, step, snap, live_server, world, "r")

        phone = new_page(browser_factory, PHONE)
        enter_from_text(phone, app, step, live_server, world.applicant["phone"], "r-1")
        disclosure = phone.get_by_text("我不同意，拒绝签署")
        disclosure.scroll_into_view_if_needed()
        disclosure.click()
        phone.fill("#reason", "赔偿金额太低，不能接受。")
        refuse = phone.get_by_role("button", name="拒绝签署", exact=True)
        seen(phone, "r-2-refusal-open")
        refuse.click()

        # Not ticked: nothing happened, the box says why, the reason is still there.
        message = phone.locator("#confirm_refusal-error")
        message.wait_for(timeout=WAIT_MS)
        assert "请勾选" in message.inner_text()
        assert phone.input_value("#reason") == "赔偿金额太低，不能接受。"
        tick = phone.get_by_label(re.compile("我确认拒绝签署"))
        seen(phone, "r-3-tick-asked")
        tick.check()
        phone.get_by_role("button", name="拒绝签署", exact=True).click()
        phone.wait_for_url(lambda url: not url.endswith("/agreement/sign"), timeout=WAIT_MS)
        told = phone.locator(".flash-info")
        told.wait_for(timeout=WAIT_MS)
        seen(phone, "r-4-refused")
        assert "您的拒签已记录，调解终止" in told.inner_text()
