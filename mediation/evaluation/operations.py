"""A draft case from an evaluation (issue #20 item 4: the evaluation shows in the case's
journal like any step). Flushes; the request edge commits."""

from __future__ import annotations

from decimal import Decimal

from mediation.accounts.models import User
from mediation.cases import categories, regions
from mediation.cases.models import Case, Claim
from mediation.cases.operations import open_case
from mediation.journal import operations as journal

from . import fees


def to_case(by: User, *, category: str, amount: Decimal, region_code: str | None) -> Case:
    """A draft case of ``by`` carrying what was evaluated: the kind of dispute, the province
    and the amount as the first claim (its text is theirs to write). The fees the page showed
    go into the journal, so that the case records what the party knew when filing; the
    party completes and submits the draft (People's Mediation Law art 17: they apply)."""
    estimate = fees.estimate(amount, category)
    case = open_case(
        title=categories.category_name(category),
        category=category,
        applicants=[by],
        respondents=[],
        by=by,
    )
    case.region_code = regions.province_code(region_code) or None
    case.claims = [Claim(text="", amount=estimate.amount, position=0)]
    journal.append(
        case.id,
        "evaluation.made",
        {
            "amount": str(estimate.amount),
            "labour": estimate.labour,
            # 诉讼费用交纳办法 arts 13-16: what a suit would have cost instead.
            "ordinary": str(estimate.ordinary),
            "summary": str(estimate.summary),
            "settled_in_court": str(estimate.settled_in_court),
            "enforcement": str(estimate.enforcement),
            "mediation": str(estimate.mediation),
            "judicial_confirmation": str(estimate.judicial_confirmation),
        },
        actor_id=by.id,
    )
    return case
