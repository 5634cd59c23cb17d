"""Each role logs in and reaches its own pages, and only those."""

import pytest

from mediation.accounts.models import Role
from mediation.extensions import db
from tests.conftest import login
from tests.factories import PASSWORD, make_court, make_institution, make_user

PAGES = {
    "/cases/": {Role.party},
    "/cases/caseload": {Role.mediator},
    "/institution/": {Role.institution_admin},
    "/institution/mediators/new": {Role.institution_admin},
    "/court/": {Role.court_clerk, Role.judge},
    "/admin/": {Role.platform_admin},
    "/admin/outbox/": {Role.platform_admin},
    "/admin/institutions/new": {Role.platform_admin},
    "/admin/courts/new": {Role.platform_admin},
    "/admin/accounts/new": {Role.platform_admin},
    "/admin/categories/": {Role.platform_admin},
    "/statistics": {Role.platform_admin, Role.institution_admin},
    "/statistics.csv": {Role.platform_admin, Role.institution_admin},
    "/admin/categories/new": {Role.platform_admin},
    "/consultation/queue": {Role.expert},
    "/consultation/experts": {Role.platform_admin, Role.institution_admin},
    "/consultation/questions": {Role.platform_admin, Role.institution_admin},
    "/governance/": {Role.governance},
    "/governance/warnings": {Role.governance},
    "/governance/export.csv": {Role.governance},
}
HOME = {
    Role.party: "/cases/",
    Role.mediator: "/cases/caseload",
    Role.institution_admin: "/institution/",
    Role.court_clerk: "/court/",
    Role.judge: "/court/",
    Role.platform_admin: "/admin/",
    Role.expert: "/consultation/queue",
    Role.governance: "/governance/",
}


@pytest.fixture
def people(app):
    with app.app_context():
        return _people()


def _people():
    institution = make_institution()
    court = make_court()
    users = {}
    for role in Role:
        extra = {}
        if role in (Role.mediator, Role.institution_admin):
            extra["institution_id"] = institution.id
        if role in (Role.court_clerk, Role.judge):
            extra["court_id"] = court.id
        user = make_user(role, **extra)
        if role == Role.governance:
            user.area_code = "32"  # region staff watch a division (mediation/governance)
        users[role] = user.phone
    db.session.commit()
    return users


@pytest.mark.parametrize("role", list(Role))
def test_role_reaches_only_its_pages(client, people, role):
    response = login(client, people[role], PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(HOME[role])
    for path, allowed in PAGES.items():
        status = client.get(path).status_code
        assert status == (200 if role in allowed else 403), (role, path, status)


def test_anonymous_is_sent_to_login(client, people):
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


def test_wrong_password_is_refused_with_a_message(client, people):
    response = login(client, people[Role.party], "not the password")
    assert response.status_code == 200
    assert "手机号、电子邮箱或密码不正确" in response.get_data(as_text=True)
    assert client.get("/cases/").status_code == 302
