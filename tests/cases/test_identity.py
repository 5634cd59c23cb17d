"""A party's identity in a case: the respondent gives it with his answer, the party on the
account page while unconfirmed, the case's mediator enters and confirms it; nobody else
(issue #16, SPC online mediation rules arts 8 and 17)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mediation.accounts import operations as accounts
from mediation.accounts.models import User
from mediation.cases import identity, respondent
from mediation.cases.states import CaseStatus
from mediation.cases.workflow import NotPermittedError
from mediation.core.forms import FieldError
from mediation.extensions import db
from mediation.journal.models import JournalEntry
from tests.conftest import login, post_form
from tests.factories import (
    PASSWORD,
    make_case,
    make_institution,
    make_mediator,
    make_user,
    valid_id_number,
)


def invited_case():
    """A case awaiting a respondent named by phone only: no ID number, no password."""
    mediator = make_mediator(make_institution())
    named = accounts.party_with_phone("+8613711112222", real_name="李四")
    return make_case(make_user(), named, mediator=mediator)


def answer(case, user, **identity_fields):
    respondent.answer(
        case,
        by=user,
        agree=True,
        consent=True,
        service_address="南京市玄武区",
        service_confirmed=True,
        **identity_fields,
    )


def test_the_invited_respondent_gives_his_identity_with_his_answer(app_ctx):
    case = invited_case()
    other = case.party_users()[1]
    with pytest.raises(FieldError) as refused:
        answer(case, other)  # no number on record and none given (art 8)
    assert refused.value.field == "id_number"
    db.session.rollback()
    case = invited_case()
    other = case.party_users()[1]
    answer(case, other, id_number=valid_id_number(321), ethnicity="03")
    assert case.status == CaseStatus.in_mediation
    assert (other.id_number, other.ethnicity) == (valid_id_number(321), "03")
    assert other.id_confirmed_at is None  # a claim until the mediator sees the card
    entry = db.session.scalars(
        select(JournalEntry).where(
            JournalEntry.case_id == case.id, JournalEntry.action == "party.identity_recorded"
        )
    ).one()
    # The journal, which every party reads, keeps the number masked.
    assert entry.payload["id_number"] == other.id_number_masked
    assert valid_id_number(321) not in str(entry.payload)


def test_only_the_cases_mediator_enters_and_confirms_a_partys_identity(app_ctx):
    case = invited_case()
    applicant, other = case.party_users()
    stranger_mediator = make_mediator(case.institution)
    for intruder in (applicant, other, stranger_mediator):
        with pytest.raises(NotPermittedError):
            identity.record_by_mediator(
                case,
                other,
                by=intruder,
                id_number=valid_id_number(5),
                ethnicity="01",
                confirm=True,
            )
    outsider = make_user()
    with pytest.raises(NotPermittedError):  # someone not in the case
        identity.record_by_mediator(
            case, outsider, by=case.mediator, id_number=None, ethnicity="01", confirm=True
        )
    assert identity.record_by_mediator(
        case, other, by=case.mediator, id_number=valid_id_number(6), ethnicity="01", confirm=True
    )
    assert other.id_confirmed_by_id == case.mediator_id
    with pytest.raises(FieldError):  # confirmed: not even the mediator changes it
        identity.record_by_mediator(
            case,
            other,
            by=case.mediator,
            id_number=valid_id_number(7),
            ethnicity=None,
            confirm=False,
        )


def test_a_finished_cases_identities_are_not_confirmed_from_it(app_ctx):
    from mediation.cases.states import CaseStatus

    case = invited_case()
    _applicant, other = case.party_users()
    case.status = CaseStatus.terminated  # ended: nobody is seen on camera for it any more
    with pytest.raises(NotPermittedError):
        identity.record_by_mediator(
            case,
            other,
            by=case.mediator,
            id_number=valid_id_number(8),
            ethnicity="01",
            confirm=True,
        )
    assert other.id_confirmed_at is None


def test_a_number_held_confirmed_by_another_account_is_not_confirmed_twice(app_ctx):
    case = invited_case()
    other = case.party_users()[1]
    holder = make_user(id_number=valid_id_number(77))
    accounts.confirm_id_number(holder, by=case.mediator)
    with pytest.raises(FieldError) as refused:
        identity.record_by_mediator(
            case,
            other,
            by=case.mediator,
            id_number=valid_id_number(77),
            ethnicity=None,
            confirm=True,
        )
    assert refused.value.field == "id_number"
    assert other.id_confirmed_at is None and holder.id_confirmed_at is not None


# -- over HTTP -------------------------------------------------------------------------------


@pytest.fixture
def world(app):
    with app.app_context():
        case = invited_case()
        applicant, other = case.party_users()
        other_case = make_case(make_user(), make_user(), mediator=make_mediator(case.institution))
        db.session.commit()
        return {
            "case": case.id,
            "respondent_party": next(p.id for p in case.parties if p.side == "respondent"),
            "applicant": applicant.phone,
            "mediator": case.mediator.phone,
            "other_mediator": other_case.mediator.phone,
            "respondent_id": other.id,
        }


def user(app, user_id):
    with app.app_context():
        return db.session.get(User, user_id)


def test_the_account_page_takes_ones_own_identity_until_confirmed(app, client, world):
    with app.app_context():
        person = make_user(id_number=None)
        db.session.commit()
        phone, person_id = person.phone, person.id
    login(client, phone, PASSWORD)
    page = client.get("/account").get_data(as_text=True)
    assert "身份证号码" in page and "民族" in page
    bad = post_form(
        client, "/account/identity", {"id_number": "110105194912310021"}, form_page="/account"
    )
    assert bad.status_code == 422 and "校验位" in bad.get_data(as_text=True)
    good = post_form(
        client,
        "/account/identity",
        {"id_number": "11010519491231002x", "ethnicity": "01"},
        form_page="/account",
    )
    assert good.status_code == 302
    saved = user(app, person_id)
    assert (saved.id_number, saved.ethnicity) == ("11010519491231002X", "01")
    page = client.get("/account").get_data(as_text=True)
    assert "女" in page and "1949年12月31日" in page and "汉族" in page
    with app.app_context():
        accounts.confirm_id_number(db.session.get(User, person_id), by=make_user())
        db.session.commit()
    page = client.get("/account").get_data(as_text=True)
    assert 'action="/account/identity"' not in page  # no form once confirmed
    token_page = client.get("/cases/")  # any page with a token will do for the attempt
    assert token_page.status_code in (200, 302)
    import re

    token = re.search(
        r'name="csrf_token"[^>]*?value="([^"]+)"', client.get("/account").get_data(as_text=True)
    ).group(1)
    refused = client.post(
        "/account/identity", data={"csrf_token": token, "id_number": valid_id_number(8)}
    )
    assert refused.status_code == 422
    assert user(app, person_id).id_number == "11010519491231002X"


def test_the_case_page_form_is_the_cases_mediators_only(app, client, world):
    path = f"/cases/{world['case']}/parties/{world['respondent_party']}/identity"
    data = {"id_number": valid_id_number(41), "ethnicity": "08", "confirm": "y"}
    case_page = f"/cases/{world['case']}"
    login(client, world["applicant"], PASSWORD)
    assert post_form(client, path, data, form_page=case_page).status_code == 403
    client.get("/logout")
    client.post("/logout")
    other = client.application.test_client()
    login(other, world["other_mediator"], PASSWORD)
    assert other.post(path, data=data).status_code in (400, 404)  # not his case: not there
    mediator = client.application.test_client()
    login(mediator, world["mediator"], PASSWORD)
    page = mediator.get(case_page).get_data(as_text=True)
    assert path in page  # the mediator is offered the identity step
    bad = post_form(mediator, path, {**data, "id_number": "123"}, form_page=case_page)
    assert bad.status_code == 422
    assert user(app, world["respondent_id"]).id_number is None
    done = post_form(mediator, path, data, form_page=case_page)
    assert done.status_code == 302
    saved = user(app, world["respondent_id"])
    assert saved.id_number == valid_id_number(41) and saved.ethnicity == "08"
    assert saved.id_confirmed_at is not None
    page = mediator.get(case_page).get_data(as_text=True)
    assert "已经视频核实" in page
