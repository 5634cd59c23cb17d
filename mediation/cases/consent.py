"""A party's consent to online mediation and confirmed service address, given by the
applicant when filing and by the respondent when agreeing."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _

from mediation.accounts.models import User
from mediation.core.forms import FieldError
from mediation.journal import operations as journal

from . import workflow
from .models import Case, Side


def record_consent(
    case: Case,
    *,
    by: User,
    side: Side,
    consent: bool,
    service_address: str,
    service_confirmed: bool,
    now: datetime,
) -> None:
    """A party's consent to online mediation (SPC online mediation rules art 4) and their
    confirmed address for documents (arts 8 and 17, 送达地址确认书)."""
    if not consent:
        raise FieldError("consent", _("Online mediation needs your consent."))
    if not service_address.strip() or not service_confirmed:
        raise FieldError("service_address", _("Give and confirm the address for documents."))
    row = next((p for p in case.parties if p.user_id == by.id and p.side == side), None)
    if row is None:
        raise workflow.NotPermittedError(_("You may not take this step in this case."))
    row.consented_at = now
    row.service_address = service_address.strip()
    row.service_confirmed_at = now
    journal.append(
        case.id,
        "party.consented",
        {"user_id": by.id, "service_address": row.service_address},
        actor_id=by.id,
    )
