"""An agent in the room whom the party then refuses (cases/agency.refuse, from a page of
the link opened before the mediator confirmed them): the agent's page stops as at the end
and says why, leading only to their sessions; the others' media with them closes."""

from __future__ import annotations

from mediation.accounts import personal_links
from mediation.booking.models import MediationSession, SessionParticipant
from mediation.cases import agency
from mediation.cases.models import Case, CaseParty
from mediation.extensions import db
from tests.browser.conftest import WAIT_MS, enter, peers_of, receiving
from tests.factories import PASSWORD, make_user


def test_an_agent_refused_in_the_room_is_told_and_leaves_it(
    app, live_server, browser_factory, session_in_progress
):
    s = session_in_progress
    with app.app_context():
        session = db.session.get(MediationSession, s["session"])
        case: Case = session.case
        respondent = case.party_users()[1]
        row = CaseParty(user=make_user(), side="respondent", is_agent=True, represents=respondent)
        case.parties.append(row)
        db.session.flush()
        seat = SessionParticipant(user_id=row.user_id, role="agent")
        session.participants.append(seat)
        db.session.flush()
        agent_id, agent_phone = seat.id, row.user.phone
        refuse = "/agency/" + personal_links.token(agency.SALT, case.id, row.id)
        row_id = row.id
        db.session.commit()

    # The respondent opens the link of the text message while the agent is unconfirmed...
    party = browser_factory().new_context().new_page()
    party.goto(f"{live_server}/login")
    party.fill("input[name=identifier]", s["phones"]["b"])
    party.fill("input[name=password]", PASSWORD)
    party.click("main form button[type=submit]")
    party.wait_for_url(lambda url: "/login" not in url)
    party.goto(live_server + refuse)
    # ...and the mediator then checks the agent's power of attorney on camera.
    with app.app_context():
        row = db.session.get(CaseParty, row_id)
        agency.confirm(row, by=row.case.mediator)
        db.session.commit()

    mediator = enter(browser_factory, live_server, s["phones"]["mediator"], s["session"])
    phone = {"viewport": {"width": 375, "height": 667}, "has_touch": True}
    agent = enter(browser_factory, live_server, agent_phone, s["session"], context_options=phone)
    mediator.click(f"#roster li[data-participant='{agent_id}'] button.admit", timeout=WAIT_MS)
    receiving(mediator, [agent_id])

    # The respondent's page of the link, still open: they refuse.
    party.get_by_role("button", name="不，拒绝该代理人").click()
    party.wait_for_url("**/cases/*")

    agent.wait_for_function(
        "(words) => document.getElementById('state').textContent.includes(words)",
        arg="您已不再代理本案",
        timeout=WAIT_MS,
    )
    assert agent.is_hidden("#controls")
    assert agent.is_visible("#minutes-next a:has-text('我的调解')")
    assert agent.locator("#minutes-next a:visible").count() == 1  # not the minutes
    assert agent.evaluate("Room.over") is True
    mediator.wait_for_function(
        f"() => !document.getElementById('tile-{agent_id}')", timeout=WAIT_MS
    )
    assert agent_id not in peers_of(mediator)
