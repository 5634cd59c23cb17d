"""The confirmability check flags every ground a court would refuse on (SPC judicial
confirmation provisions arts 4, 7; CPL interpretation arts 355, 358; People's Mediation
Law art 29), and nothing in a draft that a court could confirm."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mediation.agreements.checks import check
from mediation.core.db import utcnow

from .conftest import agreeing_case, complete_draft


def codes(case, content) -> set[str]:
    return {concern.code for concern in check(case, content)}


def with_obligation(case, **changes) -> dict:
    content = complete_draft(case)
    content["obligations"][0].update(changes)
    return content


def test_a_complete_draft_raises_nothing(app_ctx):
    case, _admin = agreeing_case()
    assert codes(case, complete_draft(case)) == set()


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"amount": None}, "no_amount"),  # a payment of no stated sum: content unclear
        ({"obligor": None}, "no_obligor"),  # nobody bound
        ({"due": None}, "no_deadline"),
        ({"action": ""}, "no_action"),
    ],
)
def test_an_unclear_obligation_is_flagged(app_ctx, changes, expected):
    case, _admin = agreeing_case()
    assert codes(case, with_obligation(case, **changes)) == {expected}


def test_a_deadline_already_past_is_flagged(app_ctx):
    case, _admin = agreeing_case()
    past = (utcnow() - timedelta(days=1)).date().isoformat()
    assert codes(case, with_obligation(case, due=past)) == {"deadline_past"}


def test_an_act_needs_no_amount_but_no_obligation_at_all_is_unclear(app_ctx):
    case, _admin = agreeing_case()
    assert codes(case, with_obligation(case, kind="act", amount=None)) == set()
    assert codes(case, {**complete_draft(case), "obligations": []}) == {"no_obligations"}


def test_identity_relations_and_ownership_cannot_be_confirmed(app_ctx):
    case, _admin = agreeing_case()
    assert codes(case, {**complete_draft(case), "ownership": True}) == {"ownership"}
    case.category = "identity_relations"
    assert codes(case, complete_draft(case)) == {"category"}


def test_a_missing_or_incomplete_party_is_flagged(app_ctx):
    case, _admin = agreeing_case()
    respondent = next(p for p in case.parties if p.side == "respondent")
    respondent.service_address = ""
    assert codes(case, complete_draft(case)) == {"party_incomplete"}
    content = complete_draft(case)
    case.parties.remove(respondent)
    assert "party_missing" in codes(case, content)


def test_the_warnings_are_kept_with_the_version_and_in_the_journal(app_ctx):
    from mediation.agreements import operations as agreements
    from mediation.journal.models import JournalEntry

    case, _admin = agreeing_case()
    agreement = agreements.start(case, by=case.mediator)
    agreements.save(agreement, with_obligation(case, amount=None), by=case.mediator)
    assert [w["code"] for w in agreement.current.warnings] == ["no_amount"]
    assert agreement.current.warnings[0]["where"] == "obligations.1.amount"
    last = (
        JournalEntry.query.filter_by(case_id=case.id, action="agreement.saved")
        .order_by(JournalEntry.seq.desc())
        .first()
    )
    assert last.payload["warnings"] == ["no_amount"]
