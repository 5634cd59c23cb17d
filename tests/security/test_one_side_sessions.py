"""Issue 15, item 2, end to end: a session the mediator holds with the applicant alone
(SPC online mediation rules art 16) is booked, held, recorded, minuted and reviewed as the
platform does it; then the respondent walks every page, file and JSON of the case over
HTTP and finds nothing said or written in it — while the applicant and the mediator do."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from mediation.booking.models import MediationSession
from mediation.core.db import utcnow
from mediation.extensions import db, socketio
from mediation.journal import operations as journal
from mediation.recording import operations as recording
from tests.booking.conftest import ahead
from tests.conftest import login, post_form
from tests.factories import PASSWORD, add_weekly_hours, make_mediating_case
from tests.minutes.conftest import last_code_to
from tests.minutes.test_views import review_link
from tests.one_side import SECRET_CHAT, SECRET_MINUTES, body_of, leaks
from tests.recording.test_views import CONTENT

NS = "/room"
DISPUTE = "我从未说过可接受三万二千元"


def _people(app) -> dict:
    with app.app_context():
        case = make_mediating_case()
        add_weekly_hours(case.mediator)
        db.session.commit()
        applicant, respondent = case.party_users()
        made = {
            "case": case.id,
            "mediator": case.mediator.phone,
            "applicant": applicant.phone,
            "respondent": respondent.phone,
        }
        db.session.remove()
    return made


def _client(app, phone: str):
    client = app.test_client()
    login(client, phone, PASSWORD)
    return client


def _book_over_http(app, people: dict, clients: dict) -> tuple[int, dict]:
    case_page = f"/cases/{people['case']}"
    for who in ("applicant", "respondent"):  # art 16: every party consents
        agreed = post_form(
            clients[who], f"{case_page}/separate-sessions", {"consent": "1"}, form_page=case_page
        )
        assert agreed.status_code == 302
    form = clients["mediator"].get(f"{case_page}/sessions/new").get_data(as_text=True)
    wanted = ahead(1, "09:00").isoformat()
    times = re.findall(r'name="times" value="([^"]+)"', form)
    # That time if the page offers it (a holiday week can put it past the page's two weeks).
    chosen = next((t for t in times if t.startswith(wanted[:13])), None)
    booked = post_form(
        clients["mediator"],
        f"{case_page}/sessions/new",
        {"times": chosen or times[0], "side": "applicant"},
    )
    assert booked.status_code == 302
    with app.app_context():
        session = db.session.scalar(
            select(MediationSession).where(MediationSession.case_id == people["case"])
        )
        assert session.side == "applicant"
        # Its time comes (the room opens by the real clock).
        length = session.end_at - session.start_at
        session.start_at = utcnow() - timedelta(minutes=5)
        session.end_at = session.busy_until = session.start_at + length
        db.session.commit()
        ids = {p.role: p.id for p in session.participants}
        session_id = session.id
        db.session.remove()
    return session_id, ids


def _hold_the_session(app, clients: dict, session_id: int, ids: dict) -> None:
    def connect(who):
        return socketio.test_client(
            app, namespace=NS, auth={"session": session_id}, flask_test_client=clients[who]
        )

    mediator, applicant = connect("mediator"), connect("applicant")
    respondent = connect("respondent")
    assert mediator.is_connected(NS) and applicant.is_connected(NS)
    assert not respondent.is_connected(NS)  # not invited: cannot enter
    mediator.emit("admit", {"participant": ids["party"]}, namespace=NS)
    mediator.emit("confirm_identity", {"participant": ids["party"]}, namespace=NS)
    applicant.emit("acknowledge_warning", {}, namespace=NS)
    applicant.emit("recording_consent", {"consent": True}, namespace=NS)
    mediator.emit("start", {}, namespace=NS)
    applicant.emit("chat", {"text": SECRET_CHAT}, namespace=NS)
    heard = [p for p in mediator.get_received(NS) if p["name"] == "chat"]
    assert heard and heard[-1]["args"][0]["text"] == SECRET_CHAT
    mediator.emit("minutes", SECRET_MINUTES, namespace=NS)
    with app.app_context():
        # What the recorder writes: it names the room's main group "joint", as told.
        file = recording.open_file(session_id, ids["party"], "worker", "joint")
        recording.absolute(file).write_bytes(CONTENT)
        recording.finish_file(file, duration=3.0)
        db.session.commit()
        db.session.remove()
    mediator.emit("end", {}, namespace=NS)
    errors = [p for p in mediator.get_received(NS) if p["name"] == "error"]
    assert not errors, errors
    for sock in (mediator, applicant):
        sock.disconnect(NS)


def _review_over_http(app, people: dict, clients: dict, session_id: int) -> None:
    applicant = clients["applicant"]
    with app.app_context():
        link = review_link(people["applicant"])
    assert applicant.get(link).status_code == 302  # logged in: on to the minutes
    page = f"/sessions/{session_id}/minutes"
    shown = applicant.get(page).get_data(as_text=True)
    version = re.search(r'name="version"[^>]*value="(\d+)"', shown).group(1)
    typed = {"dispute-2.1": "1", "note-2.1": DISPUTE, "version": version}
    post_form(applicant, f"{page}/review", {**typed, "action": "code"}, form_page=page)
    with app.app_context():
        code = last_code_to(people["applicant"])
    done = post_form(
        applicant, f"{page}/review", {**typed, "action": "confirm", "code": code}, form_page=page
    )
    assert done.status_code == 302  # the only reviewer confirmed, disputing a passage
    # A disputed passage is the mediator's to decide (art 22): they make the minutes final.
    closed = post_form(clients["mediator"], f"{page}/close", {}, form_page=page)
    assert closed.status_code == 302


def test_the_other_side_finds_nothing_of_a_session_held_with_one_side(app):
    people = _people(app)
    clients = {who: _client(app, people[who]) for who in ("mediator", "applicant", "respondent")}
    session_id, ids = _book_over_http(app, people, clients)
    _hold_the_session(app, clients, session_id, ids)
    _review_over_http(app, people, clients, session_id)
    with app.app_context():
        (file,) = recording.of_case(people["case"])
        file_id, file_scope = file.id, file.scope
        db.session.remove()

    case = people["case"]
    session_urls = [
        f"/sessions/{session_id}/minutes",
        f"/sessions/{session_id}/minutes.pdf",
        f"/sessions/{session_id}/review.mp4",
        f"/sessions/{session_id}.ics",
        f"/recordings/{file_id}.webm",
    ]
    case_urls = [
        f"/cases/{case}",
        f"/cases/{case}/journal",
        f"/cases/{case}/journal.json",
        f"/cases/{case}/recordings",
        "/sessions/",
    ]
    other = clients["respondent"]
    for url in session_urls:
        answer = other.get(url)
        assert answer.status_code == 404, url
        assert not leaks(body_of(answer)) and DISPUTE not in body_of(answer)
    review = other.post(f"/sessions/{session_id}/minutes/review", data={"action": "code"})
    assert review.status_code in (400, 404)
    for url in case_urls:
        answer = other.get(url)
        assert answer.status_code == 200, url
        body = body_of(answer)
        assert not leaks(body) and DISPUTE not in body, url
        assert f"/sessions/{session_id}/minutes" not in body
        assert f"/recordings/{file_id}.webm" not in body
    with app.app_context():
        link = review_link(people["applicant"])  # the applicant's link, in other hands
    # Not theirs: a page that only offers to log out on this device (people who sign
    # together pass one tablet round), naming nothing of the link's case or person.
    refused = other.get(link)
    assert refused.status_code == 403
    assert not leaks(body_of(refused)) and f"/sessions/{session_id}" not in body_of(refused)

    # The file is labelled as that side's, and the journal still proves everything.
    assert file_scope == "separate:applicant"
    with app.app_context():
        assert journal.verify_chain(people["case"]).ok
        assert journal.sealed_problems(people["case"]) == []
        db.session.remove()

    # That side and the mediator find all of it.
    for who in ("applicant", "mediator"):
        own = clients[who]
        journal_json = body_of(own.get(f"/cases/{case}/journal.json"))
        assert SECRET_CHAT in journal_json and "三万二千" in journal_json
        assert DISPUTE in journal_json
        assert "不愿让对方知道" in own.get(f"/sessions/{session_id}/minutes").get_data(as_text=True)
        assert own.get(f"/sessions/{session_id}/minutes.pdf").status_code == 200
        assert own.get(f"/recordings/{file_id}.webm").status_code == 200
