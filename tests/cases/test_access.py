"""A case is visible to its parties, its mediator and its institution's administrators only."""

import pytest

from mediation.accounts.models import Role
from mediation.extensions import db
from tests.conftest import login
from tests.factories import PASSWORD, make_case, make_institution, make_mediator, make_user


@pytest.fixture
def world(app):
    with app.app_context():
        institution = make_institution()
        mediator = make_mediator(institution)
        applicant, respondent, stranger = make_user(), make_user(), make_user()
        case = make_case(applicant, respondent, mediator=mediator)
        people = {
            "applicant": applicant.phone,
            "respondent": respondent.phone,
            "mediator": mediator.phone,
            "stranger": stranger.phone,
            "other_mediator": make_mediator(make_institution()).phone,
            "institution_admin": make_user(
                Role.institution_admin, institution_id=institution.id
            ).phone,
            "other_admin": make_user(
                Role.institution_admin, institution_id=make_institution().id
            ).phone,
        }
        db.session.commit()
        return case.id, people


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("applicant", True),
        ("respondent", True),
        ("mediator", True),
        ("institution_admin", True),
        ("stranger", False),
        ("other_mediator", False),
        ("other_admin", False),
    ],
)
def test_case_pages_are_checked(app, world, who, allowed):
    case_id, people = world
    client = app.test_client()
    login(client, people[who], PASSWORD)
    for path in (
        f"/cases/{case_id}",
        f"/cases/{case_id}/journal",
        f"/cases/{case_id}/journal.json",
    ):
        assert client.get(path).status_code == (200 if allowed else 404), (who, path)


def test_lists_show_only_ones_own_cases(app, world):
    case_id, people = world
    mine, theirs = app.test_client(), app.test_client()
    login(mine, people["applicant"], PASSWORD)
    login(theirs, people["stranger"], PASSWORD)
    assert f"/cases/{case_id}" in mine.get("/cases/").get_data(as_text=True)
    assert f"/cases/{case_id}" not in theirs.get("/cases/").get_data(as_text=True)
    mediator = app.test_client()
    login(mediator, people["mediator"], PASSWORD)
    assert f"/cases/{case_id}" in mediator.get("/cases/caseload").get_data(as_text=True)
