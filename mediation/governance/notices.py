"""Who is told of an early warning (rows of mediation/notify/table/cases.py, stage "governance"):
the staff of every region holding one of its cases. The message names no party: the list
is read after logging in."""

from __future__ import annotations

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from mediation.accounts.models import User
from mediation.core import divisions
from mediation.notify import operations as notify

from .models import EarlyWarning

SURGE = _l(
    "Early warning on the mediation platform: %(count)s cases of one kind in %(area)s "
    "since %(since)s. Log in to see the list."
)
RESPONDENT = _l(
    "Early warning on the mediation platform: one respondent is named in %(count)s cases "
    "since %(since)s. Log in to see the list."
)


def raised(warning: EarlyWarning, staff: list[tuple[User, int]]) -> None:
    """Each person with the number of the warning's cases in their own region."""
    message = SURGE if warning.kind == "surge" else RESPONDENT
    for person, count in staff:
        notify.tell(
            person,
            message,
            count=count,
            # Named in each person's language: 江苏省南京市玄武区, not 320102.
            area=LazyString(divisions.name, warning.area_code, full=True),
            since=warning.window_start,
        )
