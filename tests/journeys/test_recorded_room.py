"""Walk: into a recorded room on a phone. A recorder process (`mediation recorder`) runs;
the mediator (a 1366 px laptop) and both parties (375 px touch phones) log in from the home
page and enter the session's room by the case page's button; the parties are let in and
identified, acknowledge the art 17 warning and agree to recording; the mediator begins.
The parties' rooms say grey 待录制 while the recorder connects, then red 录制中 once
every stream has frames in a file (SPC online mediation rules art 22), and with either
badge the room's header shows the case number whole, nothing in it beyond the screen's
edge. The mediator ends the session and the parties are told."""

from __future__ import annotations

import re

import pytest

from mediation.booking.models import MediationSession
from mediation.extensions import db
from tests.browser.conftest import (
    WAIT_MS,
    listen_to_console,
    recorder,
    session_in_progress,
    wait_until_ready,
    write_minutes,
)

from .conftest import axe_violations, log_in
from .room_steps import (
    acknowledge_warning,
    admit,
    agree_to_recording,
    begin_session,
    confirm_identity,
    end_session,
    enter_room,
    open_case,
)

# The fixture of tests/browser: a session that began five minutes ago, nobody in it yet.
session_in_progress = session_in_progress

# The room's header as the person sees it now: the case number's visible text and whether
# it is whole (not cut off with "…"), the badge shown and its colour, and what in the
# header reaches beyond the screen's edge.
ROOM_HEADER = """() => {
  const bar = document.querySelector('.room-bar');
  const title = bar.querySelector('.room-title');
  const width = window.innerWidth;
  const beyond = [];
  for (const el of [bar, ...bar.querySelectorAll('*')]) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;  // not shown
    if (r.left < -0.5 || r.right > width + 0.5) beyond.push(el.id || el.className || el.tagName);
  }
  const badge = ['recording-soon', 'recording'].map((id) => document.getElementById(id))
    .find((b) => !b.hidden);
  return {
    number: title.innerText.trim(),
    whole: title.scrollWidth <= title.clientWidth,
    badge: badge ? badge.id : null,
    colour: badge ? getComputedStyle(badge).backgroundColor : null,
    badge_whole: badge ? badge.scrollWidth <= badge.clientWidth : null,
    beyond,
    bar_overflows: bar.scrollWidth > bar.clientWidth,
    page_overflows: document.documentElement.scrollWidth > width,
    width,
  };
}"""

# Run in a party's room before the session begins: each badge the header comes to show, in
# order, with the time and the header as it was at that moment (ROOM_HEADER), as
# window.badgesShown. The grey badge lasts only while the recorder connects (a second or a
# few, as busy as the machine is): the page's own record of it, not a race to catch it,
# is what is checked.
NOTE_BADGES = """() => {
  const measure = ROOM_HEADER;
  const soon = document.getElementById('recording-soon');
  const on = document.getElementById('recording');
  const seen = window.badgesShown = [];
  const note = () => {
    const badge = !on.hidden ? on.id : !soon.hidden ? soon.id : null;
    if (badge && (!seen.length || seen[seen.length - 1].badge !== badge)) {
      seen.push({badge, at: Date.now(), header: measure()});
    }
  };
  new MutationObserver(note).observe(document.querySelector('.room-bar'),
    {attributes: true, attributeFilter: ['hidden'], subtree: true});
  note();
}""".replace("ROOM_HEADER", ROOM_HEADER)


# What each badge means, by its colour: grey, not recorded yet; red, recorded.
COLOURS = {"recording-soon": "rgb(95, 99, 104)", "recording": "rgb(176, 0, 32)", None: None}


def header_shows(header: dict, number: str, badge: str | None) -> None:
    """The header shows the case number whole beside ``badge`` in its colour, and nothing
    beyond the screen's edge."""
    assert header["badge"] == badge and header["colour"] == COLOURS[badge], header
    # On a phone the number alone; on a laptop after the kind of meeting ("视频调解 · ").
    assert header["number"].endswith(number) and header["whole"], header
    assert header["badge_whole"] in (True, None), header
    assert not header["beyond"] and not header["bar_overflows"], header
    assert not header["page_overflows"], header


@pytest.fixture
def case_of_the_session(app, session_in_progress) -> dict:
    """The session on now, and what a person finds its case by: its number (a mediator's
    caseload) or its title (a party's cases)."""
    s = session_in_progress
    with app.app_context():
        case = db.session.get(MediationSession, s["session"]).case
        made = {**s, "number": case.number, "title": case.title}
        db.session.remove()
    made["case"] = re.compile(f"^({re.escape(made['number'])}|{re.escape(made['title'])})$")
    return made


@pytest.fixture
def recorder_running(app, live_server, tmp_path):
    """`mediation recorder` for the server, looking for rooms before anyone enters one."""
    with recorder(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, live_server) as worker:
        wait_until_ready(worker)  # on a loaded machine it takes seconds
        yield worker


def steps_while_grey(parties, snap, name: str) -> dict[str, bool]:
    """The step of the grey badge on each party's page, where it can be caught: screenshots
    and axe-core taken while it shows (every screenshot first: it does not last), each kept
    only if the page's record says that the red badge had not come by the end of both
    (what the room said meanwhile is asserted from that record, not from this). Returns
    whom it was caught for."""
    shots = {}
    for who, page in parties:
        page.wait_for_function("window.badgesShown.length > 0", timeout=WAIT_MS)
        if page.is_visible("#recording-soon"):
            shots[who] = snap(page, f"rec-{who}-{name}")
    caught = {who: False for who, _ in parties}
    for who, page in parties:
        if who not in shots:
            continue
        violations = axe_violations(page)
        if page.evaluate("window.badgesShown.length") > 1:  # red meanwhile: not grey's
            for file in shots[who]:
                file.unlink()
            continue
        assert not violations, f"axe-core on {page.url} (grey badge): {violations}"
        caught[who] = True
    return caught


def test_a_party_walks_into_a_recorded_room_on_a_phone(
    live_server,
    case_of_the_session,
    recorder_running,
    staff_page,
    phone_page,
    other_phone_page,
    step,
    snap,
):
    s = case_of_the_session
    ids, number = s["ids"], s["number"]
    mediator, a, b = staff_page, phone_page, other_phone_page
    parties = (("applicant", a), ("respondent", b))
    people = (  # name, page, whose phone number, the menu link to the case
        ("mediator", mediator, "mediator", "我的办案"),
        ("applicant", a, "a", "我的案件"),
        ("respondent", b, "b", "我的案件"),
    )

    # Each logs in from the home page, finds the case from the menu and enters its room by
    # the case page's button; each allows the camera and microphone when the room asks.
    for name, page, who, menu in people:
        listen_to_console(page)
        page.context.grant_permissions(["camera", "microphone"], origin=live_server)
        log_in(page, step, live_server, s["phones"][who], f"rec-{name}")
        open_case(page, step, menu, s["case"], f"rec-{name}")
        enter_room(page, step, f"rec-{name}")
    for name, page in parties:
        header_shows(page.evaluate(ROOM_HEADER), number, None)
        step(page, "#state", f"rec-{name}-06-lobby")

    # The mediator lets each in and confirms who they are on camera; each party reads the
    # warning against sham mediation (art 17) and agrees to recording (art 22).
    for who in ("a", "b"):
        admit(mediator, ids[who])
        confirm_identity(mediator, ids[who])
    for name, page in parties:
        step(page, "#acknowledge", f"rec-{name}-07-warning")
        acknowledge_warning(page)
        step(page, "#consent-yes", f"rec-{name}-08-recording-consent")
        agree_to_recording(page)
        page.evaluate(NOTE_BADGES)  # from here on, each badge the header shows

    # The mediator begins. First grey 待录制, while the recorder connects: the page's record
    # of the header at that moment is checked; its step is taken where it can be caught.
    begin_session(mediator)
    caught = steps_while_grey(parties, snap, "09-recording-soon")
    for _, page in parties:
        first = page.evaluate("window.badgesShown[0]")
        assert first["badge"] == "recording-soon", first  # never red before grey
        header_shows(first["header"], number, "recording-soon")

    # Then red 录制中, once every stream has frames in a file: as it came, and as it stays.
    for name, page in parties:
        page.wait_for_selector("#recording:not([hidden])", timeout=WAIT_MS)
        seen = page.evaluate("window.badgesShown")
        assert [x["badge"] for x in seen[:2]] == ["recording-soon", "recording"], seen
        header_shows(seen[1]["header"], number, "recording")
        step(page, "#recording", f"rec-{name}-10-recording")
        header_shows(page.evaluate(ROOM_HEADER), number, "recording")
        grey = (seen[1]["at"] - seen[0]["at"]) / 1000
        print(f"{name}: grey 待录制 for {grey:.1f} s, caught for its step: {caught[name]}")
    # A narrower phone (320 px) too; the laptop's header as it was.
    a.set_viewport_size({"width": 320, "height": 740})
    header_shows(a.evaluate(ROOM_HEADER), number, "recording")
    snap(a, "rec-applicant-11-recording-320")
    a.set_viewport_size({"width": 375, "height": 740})
    mediator.wait_for_selector("#recording:not([hidden])", timeout=WAIT_MS)
    header_shows(mediator.evaluate(ROOM_HEADER), number, "recording")
    step(mediator, "#end", "rec-mediator-10-recording-1366")

    # The mediator writes the minutes (the written record, whatever the recorder has), and
    # ends the session; the parties are told, on a header with no badge.
    write_minutes(mediator, {"attendees": "调解员、申请人、被申请人"})
    end_session(mediator)
    for name, page in parties:
        page.wait_for_selector("#minutes-next:not([hidden])", timeout=WAIT_MS)
        assert "调解员已结束本次调解" in page.inner_text("#state")
        header_shows(page.evaluate(ROOM_HEADER), number, None)
        step(page, "#minutes-next a[role=button]", f"rec-{name}-12-ended")
    mediator.wait_for_selector("#minutes-next:not([hidden])", timeout=WAIT_MS)
    step(mediator, "#minutes-next a[role=button]", "rec-mediator-12-ended-1366")
