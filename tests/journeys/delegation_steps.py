"""Steps the walks of court-delegated disputes share: the court's system posts the dispute,
the institution's administrator gives it to a mediator, who accepts it."""

from __future__ import annotations

import json
import urllib.request

from .test_newcomer_files import WAIT, log_in

LAPTOP = {"viewport": {"width": 1366, "height": 768}}


def delegate(live_server: str, token: str, **body) -> dict:
    """The court's own system posts the dispute (a machine: JSON, no pages)."""
    request = urllib.request.Request(  # noqa: S310 - the loopback server under test
        f"{live_server}/api/court/v1/delegations",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
        assert answer.status == 201
        return json.load(answer)


def read(live_server: str, token: str, delegation_id: int) -> dict:
    """What the court's system reads back."""
    request = urllib.request.Request(  # noqa: S310
        f"{live_server}/api/court/v1/delegations/{delegation_id}",
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
        return json.load(answer)


def give_and_accept(
    browser, live_server, number, *, admin, mediator, mediator_id, step, name, why=None
):
    """The administrator gives the queued case to the mediator, who accepts it; returns the
    mediator's page, on the case. ``why``: text the queue must give as the reason the case
    waits (for a delegated case: the court chose the institution)."""
    page = browser.new_context(**LAPTOP).new_page()
    log_in(page, live_server, admin, step, f"{name}-admin")
    queue = page.get_by_role("link", name="待分派案件")
    step(page, queue, f"{name}-admin-menu")
    queue.click()
    card = page.locator(".queue-case", has_text=number)
    card.wait_for(timeout=WAIT)
    if why is not None:
        reason = card.locator(".why-waiting").inner_text()
        assert why in reason and "未能自动匹配" not in reason, reason
        assert "未能自动匹配" not in page.locator("main").inner_text()
    choose = card.locator("select[name=mediator_id]")
    step(page, choose, f"{name}-queue")
    choose.select_option(value=str(mediator_id))
    card.get_by_role("button", name="分派给该调解员").click()
    page.locator(".flash").first.wait_for(timeout=WAIT)
    page.context.close()

    desk = browser.new_context(**LAPTOP).new_page()
    log_in(desk, live_server, mediator, step, f"{name}-mediator")
    case_link = desk.get_by_role("link", name=number)
    if not case_link.count():
        desk.get_by_role("link", name="我的办案").first.click()
    step(desk, case_link, f"{name}-caseload")
    case_link.click()
    accept = desk.get_by_role("button", name="受理案件")
    step(desk, accept, f"{name}-to-accept")
    accept.click()
    desk.locator(".flash").first.wait_for(timeout=WAIT)
    return desk
