"""A court's step on an application whose state moved on meanwhile (a page left open, a
court's system retrying): withdrawn by the parties, already ruled, refused or accepted.
The portal says what happened and when, in Chinese; the API answers 409 with the code of
the reason (docs/court-api.md); nothing changes: not the application, not the case, not
the journal, no message to anyone."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from mediation.accounts.models import User
from mediation.core.i18n import format_when
from mediation.court import api as court_api
from mediation.court import application as applying
from mediation.court import examination, grounds, ruling
from mediation.court.models import Application, Ruling
from mediation.extensions import db
from mediation.journal.models import JournalEntry
from mediation.notify.models import OutboxMessage
from tests.conftest import csrf_token, login, post_form
from tests.factories import PASSWORD

from .conftest import apply_jointly, in_force
from .test_api import bearer

REFUSAL = next(iter(grounds.REFUSAL))
REJECTION = next(iter(grounds.REJECTION))
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
FLASH = re.compile(r'<p class="flash flash-error" role="alert">(.*?)</p>', re.S)

# Where each application is brought before the steps, and the API's code for it.
STATES = {
    "withdrawn": "withdrawn",  # withdrawn while waiting for acceptance
    "withdrawn_after_acceptance": "withdrawn",
    "confirmed": "already_ruled",
    "rejected": "already_ruled",
    "refused": "already_refused",
    "accepted": "already_accepted",  # only acceptance and refusal no longer apply
}

# The portal's steps: the form, who presses it, what it sends.
PORTAL_STEPS = {
    "accept": ("clerk", {}),
    "refuse": ("clerk", {"ground": REFUSAL, "reasons": "不属于受理范围"}),
    "materials": ("clerk", {"text": "请提供身份证复印件", "days": "5"}),
    "extend": ("judge", {"reasons": "案情复杂，经院长批准"}),
    "rule": ("judge", {"result": "confirmed", "reasons": "予以确认"}),
    # A page left open with a form half filled: what happened comes first.
    "rule without a result": ("judge", {}),
    "signed": ("judge", None),  # the signed decision, uploaded
}

# The API's operations: method, path under the application, body.
API_STEPS = {
    "accept": ("POST", "acceptance", {"accept": True}),
    "refuse": ("POST", "acceptance", {"accept": False, "ground": REFUSAL, "reasons": ""}),
    "materials": ("POST", "material-requests", {"text": "请提供身份证复印件", "days": 5}),
    "extend": ("POST", "extension", {"reasons": "案情复杂，经院长批准"}),
    "rule": ("POST", "ruling", {"confirmed": True}),
    "reject": ("POST", "ruling", {"confirmed": False, "ground": REJECTION}),
    "signed": ("PDF", "ruling/signed-decision", PDF),
    "unsigned": ("GET", "ruling/unsigned-decision", None),
    "package": ("GET", "package", None),
}

# The steps that still apply to an accepted application are not tried on it.
ACCEPTED_PORTAL = ("accept", "refuse")
# A state made by the same person's own step, which they press again: what it says.
OWN_STEP_AGAIN = {
    ("accepted", "accept"): "该申请已经受理",
    ("refused", "refuse"): "已经决定不予受理",
    ("confirmed", "rule"): "裁定已经作出",  # the judge's own ruling, confirmed, again
}
ACCEPTED_API = ("accept", "refuse")


def _brought_to(app, state: str) -> dict:
    with app.app_context():
        world = in_force()
        application = apply_jointly(world)
        party = world.case.party_users()[0]
        if state in ("accepted", "withdrawn_after_acceptance", "confirmed", "rejected"):
            examination.accept(application, by=world.clerk)
        if state == "confirmed":
            ruling.rule(application, True, None, "予以确认", by=world.judge)
        if state == "rejected":
            ruling.rule(application, False, REJECTION, "协议内容违法", by=world.judge)
        if state == "refused":
            examination.refuse(application, REFUSAL, "不属于受理范围", by=world.clerk)
        if state.startswith("withdrawn"):
            applying.withdraw(application, by=party)
        ids = {
            "application": application.id,
            "case": world.case.id,
            "clerk": world.clerk.phone,
            "judge": world.judge.phone,
            "token": court_api.new_token(world.court, "test"),
        }
        db.session.commit()
    return ids


def _said(app, ids: dict, state: str) -> str:
    """What the court is told, in the platform's language and time zone, from the
    application's own times (never today's date)."""
    with app.test_request_context():
        a = db.session.get(Application, ids["application"])
        if state.startswith("withdrawn"):
            return f"当事人已于{format_when(a.withdrawn_at)}撤回申请。本次操作未作任何更改。"
        if state == "confirmed":
            return f"法院已于{format_when(a.decided_at)}裁定调解协议有效。本次操作未作任何更改。"
        if state == "rejected":
            return (
                f"法院已于{format_when(a.decided_at)}裁定驳回申请，调解协议未获确认。"
                "本次操作未作任何更改。"
            )
        if state == "refused":
            return (
                f"法院已于{format_when(a.decided_at)}决定对本申请不予受理。本次操作未作任何更改。"
            )
        return (
            f"本申请已于{format_when(a.accepted_at)}受理，案号{a.court_case_number}。"
            "本次操作未作任何更改。"
        )


def _snapshot(app, ids: dict) -> tuple:
    """Everything a step could have changed."""
    with app.app_context():
        a = db.session.get(Application, ids["application"])
        return (
            a.status,
            a.case.status,
            a.accepted_at,
            a.court_case_number,
            a.ruling_due_at,
            a.extended_at,
            a.decided_at,
            a.ground,
            a.reasons,
            a.decision_sha256,
            len(a.requests),
            db.session.scalar(select(func.count()).where(Ruling.application_id == a.id)),
            db.session.scalar(select(func.count()).where(JournalEntry.case_id == ids["case"])),
            db.session.scalar(select(func.count()).select_from(OutboxMessage)),
        )


def _press(client, detail: str, step: str, data: dict | None):
    path = f"{detail}/{step.split()[0]}"
    if data is None:
        token = csrf_token(client, detail)
        return client.post(
            path,
            data={"csrf_token": token, "decision": (io.BytesIO(PDF), "signed.pdf")},
            content_type="multipart/form-data",
        )
    return post_form(client, path, data, form_page=detail)


@pytest.mark.parametrize("state", list(STATES))
def test_a_step_on_an_application_that_moved_on_says_what_happened(app, state):
    ids = _brought_to(app, state)
    said, code = _said(app, ids, state), STATES[state]
    before = _snapshot(app, ids)
    detail = f"/court/applications/{ids['application']}"
    staff = {}
    for who in ("clerk", "judge"):
        staff[who] = app.test_client()
        login(staff[who], ids[who], PASSWORD)

    for step, (who, data) in PORTAL_STEPS.items():
        if state == "accepted" and step not in ACCEPTED_PORTAL:
            continue
        client = staff[who]
        pressed = _press(client, detail, step, data)
        assert pressed.status_code == 302, (step, pressed.status_code)
        assert pressed.location.endswith(detail)
        page = client.get(detail).get_data(as_text=True)
        flashed = FLASH.findall(page)
        if (state, step) in OWN_STEP_AGAIN:
            # The person's own step pressed again (a double tap): answered as done, not as
            # a refusal (tests/court/test_portal.py); nothing changes either way.
            assert flashed == [] and OWN_STEP_AGAIN[state, step] in page, (step, flashed)
            continue
        assert flashed == [said], (step, flashed)
        assert not re.search(r"[A-Za-z]", flashed[0]), flashed  # no English in a Chinese page

    base = f"/api/court/v1/applications/{ids['application']}"
    api = app.test_client()
    for step, (method, path, body) in API_STEPS.items():
        if state == "accepted" and step not in ACCEPTED_API:
            continue
        if step == "package" and not state.startswith("withdrawn"):
            continue  # the court has the file: the package is served
        headers = bearer(ids["token"])
        if method == "POST":
            answer = api.post(f"{base}/{path}", json=body, headers=headers)
        elif method == "PDF":
            answer = api.post(
                f"{base}/{path}",
                data=body,
                headers={**headers, "Content-Type": "application/pdf"},
            )
        else:
            answer = api.get(f"{base}/{path}", headers=headers)
        assert answer.status_code == 409, (step, answer.status_code, answer.get_data()[:300])
        got = answer.get_json()
        assert got["error"] == code, (step, got)
        if step != "package":
            assert got["message"] == said, (step, got)

    assert _snapshot(app, ids) == before
    read = api.get(base, headers=bearer(ids["token"])).get_json()
    assert read["status"] == before[0]
    assert (read["withdrawn_at"] is not None) == state.startswith("withdrawn")


def test_a_withdrawn_application_s_documents_lead_to_its_page(app):
    """A link on the page left open (the package, the signed application) leads to the
    application's page, which says when the parties withdrew it; the API's package is 409
    withdrawn, not "no such application"."""
    ids = _brought_to(app, "withdrawn")
    with app.test_request_context():
        when = format_when(db.session.get(Application, ids["application"]).withdrawn_at)
    said = f"当事人已于{when}撤回申请，法院已不能再查阅其材料。"
    detail = f"/court/applications/{ids['application']}"
    client = app.test_client()
    login(client, ids["clerk"], PASSWORD)
    for link in ("package.zip", "application.pdf"):
        followed = client.get(f"{detail}/{link}")
        assert followed.status_code == 303 and followed.location.endswith(detail), link
        assert FLASH.findall(client.get(detail).get_data(as_text=True)) == [said], link
    package = client.get(
        f"/api/court/v1/applications/{ids['application']}/package", headers=bearer(ids["token"])
    )
    assert package.status_code == 409
    assert package.get_json() == {"error": "withdrawn", "message": said}


def test_a_decision_signed_after_the_parties_withdrew_makes_no_ruling(app, client):
    """The judge prepared the decision, the court signed it on its own system, and the
    parties withdrew meanwhile: the upload (portal or API) says so and the draft stays
    unsigned; the case stays where the withdrawal put it."""
    from .own_key import accepted_in_db, court_signs

    ids = accepted_in_db(app)
    with app.app_context():
        application = db.session.get(Application, ids["application"])
        judge = db.session.scalar(select(User).where(User.phone == ids["judge"]))
        ruling.rule(application, True, None, "予以确认", by=judge)
        signed = court_signs(ids["made"], ruling.prepared_file(application).read_bytes())
        applying.withdraw(application, by=application.case.party_users()[1])
        db.session.commit()
    said = _said(app, ids, "withdrawn")
    before = _snapshot(app, ids)
    detail = f"/court/applications/{ids['application']}"
    login(client, ids["judge"], PASSWORD)
    page = client.get(detail).get_data(as_text=True)
    assert 'name="decision"' not in page  # the page as it is now offers no upload
    token = csrf_token(client, detail)
    uploaded = client.post(
        f"{detail}/signed",
        data={"csrf_token": token, "decision": (io.BytesIO(signed), "signed.pdf")},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 302
    assert FLASH.findall(client.get(detail).get_data(as_text=True)) == [said]
    base = f"/api/court/v1/applications/{ids['application']}/ruling"
    pdf = {**bearer(ids["token"]), "Content-Type": "application/pdf"}
    posted = client.post(f"{base}/signed-decision", data=signed, headers=pdf)
    assert posted.status_code == 409 and posted.get_json() == {
        "error": "withdrawn",
        "message": said,
    }
    unsigned = client.get(f"{base}/unsigned-decision", headers=bearer(ids["token"]))
    assert unsigned.status_code == 409 and unsigned.get_json()["error"] == "withdrawn"
    assert _snapshot(app, ids) == before
    with app.app_context():
        application = db.session.get(Application, ids["application"])
        assert application.decision_path is None
        assert all(r.signed_at is None for r in db.session.scalars(select(Ruling)))


def test_every_code_a_step_answers_is_in_the_openapi_document(app, client):
    """The 409 codes are listed per operation (an enum), as docs/court-api.md says."""
    document = client.get("/api/court/v1/openapi.json").get_json()

    def codes(path: str, method: str) -> set[str]:
        answer = document["paths"][path][method]["responses"]["409"]
        schema = answer["content"]["application/json"]["schema"]
        return set(schema["allOf"][1]["properties"]["error"]["enum"])

    moved_on = {"withdrawn", "already_ruled", "already_refused"}
    one = "/applications/{application_id}"
    assert codes(f"{one}/acceptance", "post") == moved_on | {"already_accepted", "conflict"}
    assert codes(f"{one}/ruling", "post") >= moved_on | {"not_accepted", "no_court_root"}
    assert codes(f"{one}/ruling/signed-decision", "post") >= moved_on | {"not_prepared"}
    assert codes(f"{one}/ruling/unsigned-decision", "get") == moved_on
    assert codes(f"{one}/material-requests", "post") == moved_on
    assert codes(f"{one}/extension", "post") >= moved_on | {"already_extended", "time_ran_out"}
    assert codes(f"{one}/package", "get") == {"withdrawn"}
    assert document["info"]["version"] == "1.3.0"
    detail = document["components"]["schemas"]["Application"]["allOf"][1]["properties"]
    assert "withdrawn_at" in detail
