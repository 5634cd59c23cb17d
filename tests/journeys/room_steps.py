"""What the walks through the video room share: finding a case from the menu and entering
its room by the case page's button, and the room's controls.

The room is being restyled (issue #16, phone-first room): its controls are found by the
stable ids and roster attributes only, through the small helpers below, so that a new
layout needs changes here and nowhere else."""

from __future__ import annotations

import re

from tests.browser.conftest import WAIT_MS

ROOM_URL = re.compile(r".*/sessions/\d+/room$")

# The list each menu link opens, as a step's name.
LISTS = {"我的办案": "caseload", "我的案件": "my-cases"}


def open_case(page, step, menu: str, case, name: str) -> None:
    """Logged in: the main menu's ``menu`` link (我的办案 for a mediator, 我的案件 for a
    party), then the case's link in that list (``case``: its accessible name)."""
    link = page.get_by_role("navigation", name="主导航").get_by_role("link", name=menu)
    step(page, link, f"{name}-03-menu")
    link.click()
    case_link = page.get_by_role("link", name=case)
    step(page, case_link, f"{name}-04-{LISTS[menu]}")
    case_link.click()


def enter_room(page, step, name: str) -> None:
    """On the case page of a session on now: 进入调解室, into the room."""
    button = page.get_by_role("button", name="进入调解室")
    step(page, button, f"{name}-05-case")
    button.click()
    page.wait_for_url(ROOM_URL, timeout=WAIT_MS)


# -- the room's controls (adapt here when the room's page changes) -----------------------


def roster_line(mediator, participant_id: int):
    return mediator.locator(f"#roster li[data-participant='{participant_id}']")


def admit_button(mediator, participant_id: int):
    return roster_line(mediator, participant_id).locator("button.admit")


def confirm_identity_button(mediator, participant_id: int):
    return roster_line(mediator, participant_id).locator("button.confirm-identity")


def admit(mediator, participant_id: int) -> None:
    admit_button(mediator, participant_id).click(timeout=WAIT_MS)


def confirm_identity(mediator, participant_id: int) -> None:
    button = confirm_identity_button(mediator, participant_id)
    button.click(timeout=WAIT_MS)
    # The roster is drawn again when the server answers, and the lines below move.
    button.wait_for(state="detached", timeout=WAIT_MS)


def acknowledge_warning(page) -> None:
    page.click("#acknowledge", timeout=WAIT_MS)
    page.wait_for_selector("#warning", state="hidden", timeout=WAIT_MS)  # buttons move up


def agree_to_recording(page) -> None:
    page.click("#consent-yes", timeout=WAIT_MS)
    page.wait_for_selector("#consent", state="hidden", timeout=WAIT_MS)


def begin_button(mediator):
    return mediator.locator("#start")


def begin_session(mediator) -> None:
    """Everyone identified and warned: the proceedings (and recording, where everyone
    agreed) begin."""
    begin_button(mediator).click(timeout=WAIT_MS)
    # The room says whether caucuses are recorded once the session has begun.
    mediator.wait_for_function(
        "() => !document.getElementById('caucus-recording').hidden", timeout=WAIT_MS
    )


def caucus_button(mediator, side: str):
    return mediator.locator(f"#caucus-{side}")


def back_to_everyone_button(mediator):
    return mediator.locator("#joint")


def group_is(page, group: str) -> None:
    """Wait until the page shows the room's layout ``group`` (e.g. "waiting:respondent")."""
    page.wait_for_function("(g) => document.body.dataset.group === g", arg=group, timeout=WAIT_MS)


def end_session(mediator) -> None:
    mediator.once("dialog", lambda dialog: dialog.accept())  # "end the session?"
    mediator.click("#end", timeout=WAIT_MS)
