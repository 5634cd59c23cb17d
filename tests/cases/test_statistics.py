"""Statistics for institutions and the platform, as a page with SVG charts and as CSV."""

from datetime import timedelta

from mediation.accounts.models import Role
from mediation.cases import respondent, workflow
from mediation.cases.states import Action, TerminationReason
from mediation.extensions import db
from tests.conftest import login
from tests.factories import PASSWORD, make_case, make_institution, make_mediator, make_user


def settle(case, days):
    respondent.answer(
        case,
        by=case.party_users()[1],
        agree=True,
        consent=True,
        service_address="南京",
        service_confirmed=True,
    )
    workflow.transition(case, Action.draft_agreement, by=case.mediator)
    workflow.transition(
        case, Action.all_signed, by=None, now=case.accepted_at + timedelta(days=days)
    )


def build(app):
    with app.app_context():
        institution, elsewhere = make_institution(), make_institution()
        wang = make_mediator(institution, real_name="王调解")
        other = make_mediator(elsewhere, real_name="外机构调解员")
        for days in (4, 10):
            settle(make_case(make_user(), make_user(), mediator=wang), days)
        ended = make_case(make_user(), make_user(), mediator=wang)
        workflow.transition(
            ended, Action.terminate, by=wang, reason=TerminationReason.too_far_apart
        )
        make_case(make_user(), make_user(), mediator=other)
        admin = make_user(Role.institution_admin, institution_id=institution.id).phone
        platform = make_user(Role.platform_admin).phone
        db.session.commit()
        return admin, platform


def test_the_institution_sees_its_own_figures(app):
    admin, _ = build(app)
    client = app.test_client()
    login(client, admin, PASSWORD)
    page = client.get("/statistics").get_data(as_text=True)
    assert "<svg" in page and "邻里纠纷" in page
    assert "王调解" in page and "外机构调解员" not in page
    assert "67%" in page  # two agreements out of three finished cases
    csv_text = client.get("/statistics.csv").get_data(as_text=True)
    lines = csv_text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("调解员,")
    assert lines[1] == "王调解,3,2,1,66.7%,7.0"  # median of 4 and 10 days


def test_the_platform_sees_every_institution(app):
    _, platform = build(app)
    client = app.test_client()
    login(client, platform, PASSWORD)
    page = client.get("/statistics").get_data(as_text=True)
    assert "王调解" in page and "外机构调解员" in page
