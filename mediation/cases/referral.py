"""The referral record of a failed online mediation (SPC online mediation rules art 21): the
basic situation, why no agreement was reached, conduct that raised another party's costs, and
what the court should know, as a PDF a party takes to online case filing."""

from __future__ import annotations

import hashlib

from agreements.render import render_pdf
from mediation.accounts.models import User
from mediation.core.db import utcnow
from mediation.core.i18n import format_when
from mediation.extensions import db
from mediation.journal import operations as journal

from . import workflow
from .labels import SIDE_NAMES, TERMINATION_REASONS
from .models import Case, FailureRecord


def referral_pdf(case: Case, *, by: User | None, court_id: int | None = None) -> bytes | None:
    """The record as a PDF, for a party or the mediator, or (``by`` None) for the court that
    delegated the dispute; None when none was recorded."""
    record = db.session.get(FailureRecord, case.id)
    if record is None:
        return None
    pdf = render_pdf(
        "referral.html",
        case=case,
        record=record,
        parties=[p for p in case.parties if not p.is_agent],
        side_names=SIDE_NAMES,
        reason=TERMINATION_REASONS.get(case.termination_reason or ""),
        made_at=format_when(utcnow(), workflow.zone()),
    )
    journal.append(
        case.id,
        "failure.referral_issued",
        {"sha256": hashlib.sha256(pdf).hexdigest(), "court_id": court_id},
        actor_id=by.id if by else None,
    )
    return pdf
