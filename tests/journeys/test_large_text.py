"""Age-friendly reading (适老化, issue #16 item 4): on a phone, a party turns on larger text
from the header; every page after that is larger, the choice is remembered, nothing is
wider than the screen, and everything a finger presses is at least 44 px high.

Exception to the 44 px rule, as in WCAG 2.5.8's "inline" exception: a text link inside a
paragraph, or inside a line of other text, is as high as the text around it (making it
taller would spread it over the lines above and below, where a finger aims at other words).
"""

from __future__ import annotations

from mediation.extensions import db
from tests.factories import PASSWORD, make_mediating_case

# Every control a finger may press that is shown: its box, or for a checkbox or radio
# button the box of its label (what is pressed). A text link in a paragraph or a line of
# text is left out (see the module's docstring).
SMALL_TARGETS = """() => {
    const small = [];
    const selector = 'a[href], button, [role=button], input:not([type=hidden]), select, '
        + 'textarea, summary';
    for (const el of document.querySelectorAll(selector)) {
        let box = el.getBoundingClientRect();
        const style = getComputedStyle(el);
        if (box.width === 0 || box.height === 0 || style.visibility === 'hidden') continue;
        if (box.right <= 0 || box.bottom <= 0) continue;  // off screen until focused (skip link)
        if (el.type === 'checkbox' || el.type === 'radio') {
            const label = el.closest('label')
                || (el.id && document.querySelector(`label[for="${el.id}"]`));
            if (label) box = label.getBoundingClientRect();
        }
        if (el.tagName === 'A' && style.display === 'inline') {
            let block = el.parentElement;
            while (block && getComputedStyle(block).display === 'inline') {
                block = block.parentElement;
            }
            const own = el.innerText.trim().length;
            if (block && block.tagName === 'P') continue;  // a text link in a paragraph
            if (block && block.innerText.trim().length > own) continue;  // in a line of text
        }
        if (box.height < 44) {
            small.push(`${el.outerHTML.slice(0, 100)}: ${Math.round(box.height)} px`);
        }
    }
    return small;
}"""


def root_font_px(page) -> float:
    return page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")


def check_page(page, step, target, name: str, *, large: bool) -> None:
    """The next control is in the first screen, axe-core is content, the text is the size
    chosen, the page fits the phone's width, and every control is big enough."""
    step(page, target, name)
    size = root_font_px(page)
    assert (size >= 20) if large else (size < 18), f"{page.url}: root font {size} px"
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= 375, f"{page.url} is {wide} px wide on a 375 px phone"
    small = page.evaluate(SMALL_TARGETS)
    assert not small, f"{page.url}: controls under 44 px: {small}"


def test_larger_text_from_the_header_on_every_page_and_remembered(
    app, live_server, phone_page, step
):
    with app.app_context():
        case = make_mediating_case()
        phone = case.party_users()[0].phone.removeprefix("+86")
        case_id, title = case.id, case.title
        db.session.commit()
    page = phone_page
    page.goto(live_server)
    larger = page.get_by_role("button", name="大字")
    check_page(page, step, larger, "01-home-standard", large=False)
    standard_h1 = page.evaluate("document.querySelector('h1').getBoundingClientRect().height")

    larger.click()
    page.wait_for_load_state()
    login = page.get_by_role("link", name="登录").first
    check_page(page, step, login, "02-home-large", large=True)
    # The heading is larger on the page, not only the root's number.
    assert page.evaluate("document.querySelector('h1').getBoundingClientRect().height") > (
        standard_h1
    )

    login.click()
    page.wait_for_url("**/login")
    check_page(page, step, "#identifier", "03-login-large", large=True)
    page.fill("#identifier", phone)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="登录").last.click()
    page.wait_for_url("**/cases/")
    case_link = page.get_by_role("link", name=title).first
    check_page(page, step, case_link, "04-my-cases-large", large=True)

    case_link.click()
    page.wait_for_url(f"**/cases/{case_id}")
    journal = page.get_by_role("link", name="案件日志")
    check_page(page, step, page.locator("h1"), "05-case-large", large=True)

    journal.click()
    page.wait_for_url(f"**/cases/{case_id}/journal")
    check_page(page, step, page.locator("ol.journal li").first, "06-journal-large", large=True)
    # A party reads words, never data.
    assert "{" not in page.locator("main").inner_text()

    page.get_by_role("link", name="我的调解").click()
    page.wait_for_url("**/sessions/")
    check_page(page, step, page.locator("h1"), "07-my-sessions-large", large=True)

    # Remembered: a new tab of the same browser opens in larger text too.
    again = page.context.new_page()
    again.goto(live_server + "/cases/")
    check_page(
        again, step, again.get_by_role("button", name="标准字"), "08-new-tab-large", large=True
    )

    again.get_by_role("button", name="标准字").click()
    again.wait_for_load_state()
    check_page(
        again, step, again.get_by_role("button", name="大字"), "09-back-to-standard", large=False
    )
    # At the standard size a party's header is two rows on the phone: the brand beside the
    # reading tools, then the links (the tools used to wrap onto a third row of their own).
    brand, tools, links = (
        again.locator(f".site-header {selector}").bounding_box()
        for selector in (".brand", ".site-tools", ".site-links")
    )
    assert tools["y"] < brand["y"] + brand["height"] and brand["y"] < tools["y"] + tools["height"]
    assert links["y"] >= brand["y"] + brand["height"] - 1
    assert links["y"] + links["height"] - brand["y"] < 160, (brand, links)
