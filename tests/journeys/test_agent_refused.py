"""Walk: the party refuses someone who said they act for them, while a session is under way.

A relative named themselves the respondent's agent; the session was booked with a seat for
them. Unconfirmed, they open the room from 我的调解 on their phone and are told they cannot
take part yet. The respondent, on their own phone, opens the text message the platform sent
them and presses 不，拒绝该代理人. The agent's page, opened again, says they no longer act in
the case, and 我的调解 no longer offers the session. (Before, the refusal let them in: the
check "not yet confirmed" no longer applied to someone who was no agent at all, and their
seat still opened the room.)"""

from __future__ import annotations

from mediation.booking.models import MediationSession, SessionParticipant
from mediation.cases import agency
from mediation.cases.models import CaseParty
from mediation.extensions import db
from tests.browser.conftest import WAIT_MS, listen_to_console
from tests.factories import make_mediating_case, make_user
from tests.signaling.conftest import open_session

from .conftest import log_in
from .room_steps import ROOM_URL
from .test_register_and_agency import last_text_to

NOT_YET = "尚未确认"
NO_LONGER = "您已不再代理本案"


def test_an_agent_refused_by_the_party_no_longer_reaches_the_room(
    app, live_server, browser_factory, other_phone_page, step
):
    with app.app_context(), app.test_request_context():
        case = make_mediating_case()
        session: MediationSession = open_session(case)
        respondent = case.party_users()[1]
        row = CaseParty(user=make_user(), side="respondent", is_agent=True, represents=respondent)
        case.parties.append(row)
        db.session.flush()
        session.participants.append(SessionParticipant(user_id=row.user_id, role="agent"))
        agency.ask_principal(case, row)  # the text message to the respondent's phone
        phones = {"agent": row.user.phone, "respondent": respondent.phone}
        db.session.commit()
    local = {k: v.removeprefix("+86") for k, v in phones.items()}

    # The agent, on a phone, from 我的调解 into the room: not yet.
    browser = browser_factory("--use-fake-ui-for-media-stream")
    agent = browser.new_context(viewport={"width": 375, "height": 740}, has_touch=True).new_page()
    listen_to_console(agent)
    log_in(agent, step, live_server, local["agent"], "agent")
    mine = agent.get_by_role("navigation", name="主导航").get_by_role("link", name="我的调解")
    mine.click()
    enter = agent.get_by_role("button", name="进入调解室")
    step(agent, enter, "agent-03-my-sessions")
    enter.click()
    agent.wait_for_url(ROOM_URL, timeout=WAIT_MS)
    agent.wait_for_function(
        "(words) => document.getElementById('notice').textContent.includes(words)",
        arg=NOT_YET,
        timeout=WAIT_MS,
    )
    step(agent, agent.locator("#notice"), "agent-04-room-not-yet")

    # The respondent, on theirs, from the text message: refuses.
    party = other_phone_page
    log_in(party, step, live_server, local["respondent"], "respondent")
    text = last_text_to(app, local["respondent"])
    # The link in the message, tapped (on this test's server, not BASE_URL's).
    party.goto(live_server + "/agency/" + text.split("/agency/", 1)[1].split()[0])
    refuse = party.get_by_role("button", name="不，拒绝该代理人")
    step(party, refuse, "respondent-03-agency")
    refuse.click()
    party.wait_for_url("**/cases/*")
    step(party, party.locator(".flash").first, "respondent-04-refused")

    # The agent's room page, opened again: told why, and led away; nothing to enter.
    agent.reload()
    agent.wait_for_load_state()
    assert not ROOM_URL.match(agent.url), agent.url
    flash = agent.locator(".flash").first
    step(agent, flash, "agent-05-no-longer")
    assert NO_LONGER in flash.inner_text()
    agent.get_by_role("navigation", name="主导航").get_by_role("link", name="我的调解").click()
    agent.wait_for_url("**/sessions/")
    step(agent, agent.locator("h1"), "agent-06-my-sessions-after")
    assert agent.get_by_role("button", name="进入调解室").count() == 0
