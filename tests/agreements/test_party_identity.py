"""The check's concerns about the parties are read afresh: an identity entered and
confirmed after a version was saved, even after the agreement took effect, ends the
warning and opens the way to the court; the agreement states each party's sex, ethnicity,
date of birth and ID number (People's Mediation Law art 29 (1); issue #16)."""

from __future__ import annotations

import pytest

from agreements.render import render_html
from mediation.agreements import operations as agreements
from mediation.agreements import signing
from mediation.cases import identity
from mediation.cases.workflow import NotPermittedError
from mediation.court import application as applying
from tests.court.conftest import in_force
from tests.factories import valid_id_number

from .conftest import agreeing_case, complete_draft


def codes(agreement) -> set[str]:
    return {c["code"] for c in agreements.concerns(agreement)}


def test_the_warning_ends_once_the_identity_is_entered_and_confirmed(app_ctx):
    case, _admin = agreeing_case()
    other = case.party_users()[1]
    other.id_number, other.id_confirmed_at, other.id_confirmed_by_id = None, None, None
    agreement = agreements.start(case, by=case.mediator)
    agreements.save(agreement, complete_draft(case), by=case.mediator)
    saved = [w["code"] for w in agreement.current.warnings]
    assert saved == ["party_incomplete"] and codes(agreement) == {"party_incomplete"}
    assert not agreements.confirmable(agreement)
    # The respondent gives a number: a claim, not yet what a court relies on.
    identity.record_own(case, by=other, id_number=valid_id_number(808), ethnicity="01")
    assert codes(agreement) == {"identity_unconfirmed"}
    # The mediator sees the card on camera and confirms it: nothing is left.
    identity.record_by_mediator(
        case, other, by=case.mediator, id_number=None, ethnicity=None, confirm=True
    )
    assert codes(agreement) == set() and agreements.confirmable(agreement)
    # The version's own record stays as it was saved (the journal holds it too).
    assert [w["code"] for w in agreement.current.warnings] == saved


def test_an_agreement_in_force_reaches_the_court_once_the_identity_is_confirmed(app_ctx):
    world = in_force()
    case = world.case
    other = case.party_users()[1]
    other.id_confirmed_at = other.id_confirmed_by_id = None  # never seen on camera
    applicant = case.party_users()[0]
    with pytest.raises(NotPermittedError):
        applying.start(case, world.court, by=applicant)
    identity.record_by_mediator(
        case, other, by=case.mediator, id_number=None, ethnicity="02", confirm=True
    )
    application = applying.start(case, world.court, by=applicant)
    assert application.id is not None


def test_the_agreement_states_sex_ethnicity_birth_date_and_id_number(app_ctx):
    case, _admin = agreeing_case()
    other = case.party_users()[1]
    other.ethnicity = "10"
    agreement = agreements.start(case, by=case.mediator)
    content = complete_draft(case)
    html = render_html(
        "agreement.html",
        **signing.document_context(
            agreement, content, list(range(1, len(signing.signers_of(case)) + 1))
        ),
    )
    born = other.birth_date
    sex = "男" if other.sex == "male" else "女"
    assert f"{other.real_name}，{sex}，朝鲜族，{born.year}年{born.month}月{born.day}日出生" in html
    assert other.id_number in html
