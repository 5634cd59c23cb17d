"""A party pastes a long account of the dispute into 发生了什么 on a phone. The box keeps to
its limit, as before, but now the page says that the end of what was pasted did not go in,
and shows how much of the limit is used (static/js/limits.js). A walk found 10,000
characters pasted and 5,000 kept without a word: a person who did not scroll to the end
would file half their account."""

from __future__ import annotations

from mediation.extensions import db
from tests.factories import PASSWORD, make_user

WAIT = 20_000


def test_a_paste_longer_than_the_box_takes_is_told(app, live_server, phone_page, snap):
    with app.app_context():
        phone = make_user().phone.removeprefix("+86")
        db.session.commit()
    page = phone_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page.goto(live_server)
    page.get_by_role("link", name="登录").click()
    page.locator("#identifier").wait_for(timeout=WAIT)
    page.fill("#identifier", phone)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("button", name="申请调解").click()
    facts = page.locator("#facts")
    facts.wait_for(timeout=WAIT)
    limit = int(facts.get_attribute("maxlength"))
    counter = page.locator("#facts-counter")
    assert counter.inner_text() == f"已输入0字，最多{limit}字"

    account = "楼上漏水致我家墙面受损。" * (limit // 12 + 100)  # longer than the box takes
    page.evaluate("text => navigator.clipboard.writeText(text)", account)
    facts.click()
    page.keyboard.press("Control+V")
    warning = page.locator(".text-cut")
    warning.wait_for(timeout=WAIT)
    # Where the person is on the page after pasting: the word is on their screen.
    page.wait_for_function(
        "el => { const r = el.getBoundingClientRect();"
        " return r.top >= 0 && r.bottom <= window.innerHeight + 1; }",
        arg=warning.element_handle(),
        timeout=WAIT,
    )
    snap(page, "01-long-paste-told")
    assert f"超过了此栏最多可填的{limit}字" in warning.inner_text()
    assert len(facts.input_value()) == limit  # the browser kept what fits, as before
    assert counter.inner_text() == f"已输入{limit}字，最多{limit}字"

    # Shortened and pasted again: the word goes away.
    facts.fill("")
    page.evaluate("text => navigator.clipboard.writeText(text)", account[:100])
    facts.click()
    page.keyboard.press("Control+V")
    assert warning.is_hidden()
    assert counter.inner_text() == f"已输入100字，最多{limit}字"
