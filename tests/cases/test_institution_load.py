"""The institution administrator sees every mediator's load and reassigns cases."""

from sqlalchemy import select

from mediation.accounts.models import Role
from mediation.cases.models import Case, CaseAssignment
from mediation.cases.states import CaseStatus
from mediation.extensions import db
from mediation.journal.models import JournalEntry
from tests.conftest import login, post_form
from tests.factories import PASSWORD, make_case, make_institution, make_mediator, make_user


def setup_world(app):
    with app.app_context():
        institution = make_institution()
        busy, free = make_mediator(institution), make_mediator(institution)
        accepted = make_case(make_user(), make_user(), mediator=busy)
        waiting = make_case(make_user(), make_user())
        from mediation.cases import assignment

        assignment.assign(waiting, institution=institution, mediator=busy, how="chosen", by=None)
        admin = make_user(Role.institution_admin, institution_id=institution.id)
        outsider = make_user(Role.institution_admin, institution_id=make_institution().id)
        db.session.commit()
        return {
            "admin": admin.phone,
            "outsider": outsider.phone,
            "free": free.id,
            "busy": busy.id,
            "accepted": accepted.id,
            "waiting": waiting.id,
        }


def test_load_is_shown_and_cases_are_reassigned(app):
    w = setup_world(app)
    client = app.test_client()
    login(client, w["admin"], PASSWORD)
    page = client.get("/institution/").get_data(as_text=True)
    assert page.count("本机构在办案件") == 1  # in the page, once, not in its <title>
    path = f"/institution/cases/{w['waiting']}/reassign"
    assert (
        post_form(client, path, {"mediator_id": w["free"]}, form_page="/institution/").status_code
        == 302
    )
    path = f"/institution/cases/{w['accepted']}/reassign"
    assert (
        post_form(client, path, {"mediator_id": w["free"]}, form_page="/institution/").status_code
        == 302
    )
    with app.app_context():
        waiting, accepted = db.session.get(Case, w["waiting"]), db.session.get(Case, w["accepted"])
        assert waiting.mediator_id == accepted.mediator_id == w["free"]
        assert waiting.status == CaseStatus.submitted
        assert accepted.status == CaseStatus.awaiting_respondent
        outcomes = db.session.scalars(
            select(CaseAssignment.outcome)
            .where(CaseAssignment.case_id == waiting.id)
            .order_by(CaseAssignment.id)
        ).all()
        assert outcomes == ["withdrawn", "pending"]
        actions = db.session.scalars(
            select(JournalEntry.action).where(JournalEntry.case_id == accepted.id)
        ).all()
        assert "case.mediator_changed" in actions


def test_another_institution_cannot_touch_the_case(app):
    w = setup_world(app)
    client = app.test_client()
    login(client, w["outsider"], PASSWORD)
    path = f"/institution/cases/{w['waiting']}/reassign"
    assert (
        post_form(client, path, {"mediator_id": w["free"]}, form_page="/institution/").status_code
        == 404
    )
    with app.app_context():
        assert db.session.get(Case, w["waiting"]).mediator_id == w["busy"]
