"""The court designates another institution (SPC online mediation rules art 12 para 2) for a
delegated dispute whose state moved on meanwhile: a page left open, a second clerk, the
court's system retrying. Every state a delegation can be in when "designate" is pressed
is answered with what happened and when: on the portal in Chinese, through the API with a
409 and the code of the reason (docs/court-api.md). Nothing changes: not the delegation,
not the case, not the journal, no message to anyone. On both databases (``app``)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from mediation.accounts.models import Role, User
from mediation.cases import assignment, workflow
from mediation.cases.models import Side
from mediation.cases.states import Action, TerminationReason
from mediation.core.i18n import format_day, format_when
from mediation.court import api as court_api
from mediation.court import delegation
from mediation.court.models import Delegation
from mediation.extensions import db
from mediation.journal.models import JournalEntry
from mediation.notify.models import OutboxMessage
from tests.conftest import at_once, login, post_form
from tests.factories import PASSWORD, make_court, make_institution, make_mediator, make_user

from .test_delegation import _accept_and_mediate, dispute

FLASH = re.compile(r'<p class="flash flash-(\w+)" role="\w+">(.*?)</p>', re.S)
NOTHING = "本次操作未作任何更改。"

# Each state a delegation can be in, and the API's code for it.
STATES = {
    "waiting": "not_lapsed",  # the institution chosen still has its 3 working days
    "designated": "already_designated",  # another clerk designated meanwhile
    "released": "already_designated",  # ... or left the choice to the platform
    "taken_on": "taken_on",  # after the lapse, the institution took it on after all
    "failed": "mediation_failed",  # the applicant withdrew (art 25 (2))
    "agreement": "agreement_reached",
    "returned": "returned",  # the court's period ran out (art 25 (6))
}


def _brought_to(app, state: str) -> dict:
    with app.app_context():
        court = make_court(name="南京市玄武区人民法院")
        clerk = make_user(Role.court_clerk, court_id=court.id, real_name="陈书记员")
        other_clerk = make_user(Role.court_clerk, court_id=court.id, real_name="林书记员")
        first = make_institution(name="玄武区人民调解委员会")
        mediator = make_mediator(first, real_name="周调解")
        admin = make_user(Role.institution_admin, institution_id=first.id)
        second = make_institution(name="梁溪区人民调解委员会")
        third = make_institution(name="鼓楼区人民调解委员会")
        made = delegation.delegate(court, dispute(days=10, institution_id=first.id))
        case = made.case
        if state in ("designated", "released", "failed"):
            assignment.decline(case, by=admin, reason="不属于本会调解范围")
        if state == "designated":
            delegation.designate_again(made, second.id, by=other_clerk)
        if state == "released":
            delegation.designate_again(made, None, by=None)  # the court's system
        if state == "taken_on":
            # Three working days pass: a lapse the court is told of; the institution's
            # mediator, given it by the platform, accepts it afterwards.
            assignment.reassign_overdue(now=case.acceptance_due_at + timedelta(minutes=1))
            assert made.choice_lapsed_at is not None and case.mediator == mediator
            assignment.accept(case, by=mediator)
        if state == "failed":
            workflow.transition(
                case,
                Action.terminate,
                by=case.party_users(Side.applicant)[0],
                reason=TerminationReason.withdrawn,
            )
        if state == "agreement":
            _accept_and_mediate(case, mediator)
            workflow.transition(case, Action.draft_agreement, by=mediator)
            workflow.transition(case, Action.all_signed, by=None)
        if state == "returned":
            delegation.return_expired(made.deadline_at + timedelta(seconds=1))
        ids = {
            "delegation": made.id,
            "case": case.id,
            "clerk": clerk.phone,
            "clerk_id": clerk.id,
            "other_clerk": other_clerk.phone,
            "third": third.id,
            "token": court_api.new_token(court, "test"),
        }
        db.session.commit()
    return ids


def _said(app, ids: dict, state: str) -> str:
    """What the court is told, in the platform's language and time zone, from the
    delegation's and the case's own times (never today's date)."""
    with app.test_request_context():
        made = db.session.get(Delegation, ids["delegation"])
        case = made.case
        if state == "waiting":
            return (
                f"玄武区人民调解委员会可在{format_day(case.acceptance_due_at)}前决定是否受理该"
                "纠纷。只有在其不予受理或者逾期未受理后，才能另行指定调解组织（《人民法院在线"
                "调解规则》第十二条）。" + NOTHING
            )
        if state == "designated":
            chosen = db.session.scalar(
                select(JournalEntry.created_at).where(
                    JournalEntry.case_id == case.id, JournalEntry.action == "case.chosen_again"
                )
            )
            return (
                f"林书记员已于{format_when(chosen)}另行指定梁溪区人民调解委员会，该组织可在"
                f"{format_day(case.acceptance_due_at)}前决定是否受理。" + NOTHING
            )
        if state == "released":
            released = db.session.scalar(
                select(JournalEntry.created_at).where(
                    JournalEntry.case_id == case.id,
                    JournalEntry.action == "case.choice_released",
                )
            )
            return f"本院业务系统已于{format_when(released)}将调解组织交由平台选定。" + NOTHING
        if state == "taken_on":
            return (
                f"玄武区人民调解委员会已于{format_when(case.accepted_at)}受理该纠纷（案件"
                f"{case.number}），调解正在进行。" + NOTHING
            )
        if state == "failed":
            return (
                f"该纠纷的调解已于{format_when(made.ended_at)}终止，未达成协议：当事人自行和解，"
                "撤回调解申请。" + NOTHING
            )
        if state == "agreement":
            return (
                f"当事人已达成调解协议，自{format_when(made.ended_at)}起生效，该纠纷的调解已经"
                "结束，当事人可以向本院申请司法确认。" + NOTHING
            )
        return (
            f"本院确定的调解期限已于{format_day(made.deadline_at)}届满，未达成生效的调解协议，"
            f"该纠纷已于{format_when(made.ended_at)}退回本院。" + NOTHING
        )


def _snapshot(app, ids: dict) -> tuple:
    """Everything a designation could have changed."""
    with app.app_context():
        made = db.session.get(Delegation, ids["delegation"])
        case = made.case
        return (
            made.status,
            made.ended_at,
            made.choice_lapsed_at,
            case.status,
            case.institution_id,
            case.mediator_id,
            case.acceptance_due_at,
            db.session.scalar(select(func.count()).where(JournalEntry.case_id == ids["case"])),
            db.session.scalar(select(func.count()).select_from(OutboxMessage)),
        )


@pytest.mark.parametrize("state", list(STATES))
def test_designating_again_after_the_dispute_moved_on_says_what_happened(app, state):
    ids = _brought_to(app, state)
    said, code = _said(app, ids, state), STATES[state]
    before = _snapshot(app, ids)

    # The portal: the clerk's page was left open with the form; a choice is pressed.
    client = app.test_client()
    login(client, ids["clerk"], PASSWORD)
    url = f"/court/delegations/{ids['delegation']}/designate"
    for chosen in (str(ids["third"]), "0"):  # an institution, or the platform's choice
        pressed = post_form(client, url, {"institution_id": chosen}, form_page="/court/delegations")
        assert pressed.status_code == 302, pressed.status_code
        page = client.get(pressed.location).get_data(as_text=True)
        flashed = FLASH.findall(page)
        assert flashed == [("error", said)], (chosen, flashed)
        assert not re.search(r"[A-Za-z]", flashed[0][1]), flashed  # no English in Chinese

    # The API: 409 with the reason's code, the same words.
    api = app.test_client()
    headers = {"Authorization": f"Bearer {ids['token']}"}
    for body in ({"institution_id": ids["third"]}, {"institution_id": None}):
        answer = api.post(
            f"/api/court/v1/delegations/{ids['delegation']}/designation", json=body, headers=headers
        )
        assert answer.status_code == 409, (body, answer.status_code)
        assert answer.get_json() == {"error": code, "message": said}, body

    assert _snapshot(app, ids) == before


def _lapsed(app, ids: dict, reference: str) -> int:
    """Another delegation of the court, which the institution chosen declined."""
    with app.app_context():
        clerk = db.session.get(User, ids["clerk_id"])
        first = db.session.get(Delegation, ids["delegation"]).case.institution_id
        admin = make_user(Role.institution_admin, institution_id=first)
        made = delegation.delegate(clerk.court, dispute(reference=reference, institution_id=first))
        assignment.decline(made.case, by=admin, reason="不属于本会调解范围")
        db.session.commit()
        return made.id


def test_the_same_clerk_pressing_designate_twice_is_told_it_is_done(app):
    """A double tap on the portal: the second press is the clerk's own designation, said
    as done (not as an error); another choice pressed afterwards is refused, naming who
    designated which institution."""
    ids = _brought_to(app, "waiting")
    url = f"/court/delegations/{_lapsed(app, ids, '（2026）苏0102民诉前调2号')}/designate"
    client = app.test_client()
    login(client, ids["clerk"], PASSWORD)

    def press(chosen: str) -> list[tuple[str, str]]:
        pressed = post_form(client, url, {"institution_id": chosen}, form_page="/court/delegations")
        return FLASH.findall(client.get(pressed.location).get_data(as_text=True))

    assert press(str(ids["third"]))[0][0] == "success"
    ((kind, words),) = press(str(ids["third"]))
    assert kind == "info" and words.startswith("陈书记员已于"), words
    assert "另行指定鼓楼区人民调解委员会" in words and words.endswith(NOTHING), words
    ((kind, words),) = press("0")
    assert kind == "error" and words.startswith("陈书记员已于"), words


def test_two_designations_at_once_one_wins_the_other_is_told_which(app):
    """The court's system designates twice at the same moment (two requests): one
    designation is made; the other is answered with it (409 already_designated), never
    not_lapsed nor an error of the database."""
    ids = _brought_to(app, "waiting")
    delegation_id = _lapsed(app, ids, "（2026）苏0102民诉前调3号")
    with app.app_context():
        others = [make_institution().id, make_institution().id]
        db.session.commit()
    url = f"/api/court/v1/delegations/{delegation_id}/designation"
    headers = {"Authorization": f"Bearer {ids['token']}"}
    clients = [app.test_client(), app.test_client()]
    answers = at_once(
        *(
            lambda c=c, i=i: c.post(url, json={"institution_id": i}, headers=headers)
            for c, i in zip(clients, others, strict=True)
        )
    )
    assert not [a for a in answers if isinstance(a, Exception)], answers
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200, 409], statuses
    lost = next(a for a in answers if a.status_code == 409).get_json()
    assert lost["error"] == "already_designated", lost
    with app.app_context():
        chosen = db.session.scalars(
            select(JournalEntry).where(
                JournalEntry.case_id == db.session.get(Delegation, delegation_id).case_id,
                JournalEntry.action == "case.chosen_again",
            )
        ).all()
        assert len(chosen) == 1


def test_the_designation_codes_are_in_the_openapi_document(app, client):
    document = client.get("/api/court/v1/openapi.json").get_json()
    answer = document["paths"]["/delegations/{delegation_id}/designation"]["post"]["responses"]
    schema = answer["409"]["content"]["application/json"]["schema"]
    codes = set(schema["allOf"][1]["properties"]["error"]["enum"])
    assert codes >= set(STATES.values()) | {"unknown_institution", "same_institution"}
    assert document["info"]["version"] == "1.3.0"
