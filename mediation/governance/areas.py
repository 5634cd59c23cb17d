"""Where a case is counted: ``Case.area_code``, the finest division known for it.

The intake asks a party only for the province (mediation/cases/regions.py); a township's or
district's mediation station knows where it sits. So the case gets the province's prefix when
it is submitted and its institution's area when that lies within it (a station in 320102001
given a Jiangsu case makes it 320102001). A case whose province differs from the
institution's keeps the province: the dispute arose there, not where it is mediated.
The existing ``region_code`` (six digits, the province) is left as it was for assignment.

The case is placed as soon as its institution is known, however it came to have one: an
applicant's or a court's choice (SPC online mediation rules art 11), the automatic pick, a
transfer or a decline; not only when a mediator accepts. Until then its region's staff
would neither count it nor be told of a warning resting on it (People's Mediation Law
art 5: the grassroots government guides the people's mediation committees of its area).
"""

from __future__ import annotations

from sqlalchemy import inspect

from mediation.accounts.models import Institution
from mediation.cases import signals
from mediation.cases.models import Case
from mediation.cases.states import CaseStatus
from mediation.core import divisions
from mediation.extensions import db


def _institution(case: Case) -> Institution | None:
    """The case's institution as the pending flush will write it: a bare change of
    ``institution_id`` leaves a relationship loaded before it pointing at the former one."""
    state = inspect(case)
    if (
        state.attrs.institution_id.history.has_changes()
        and not state.attrs.institution.history.has_changes()
    ):
        return db.session.get(Institution, case.institution_id) if case.institution_id else None
    return case.institution


def finest_area(case: Case) -> str | None:
    # From the province each time: a case declined and given to another institution leaves
    # the first one's street.
    area = divisions.prefix(case.region_code)[:2] or (case.area_code or "")[:2]
    institution = _institution(case)
    if institution is not None:
        own = institution.area_code or divisions.prefix(institution.region_code)
        if own and (not area or own.startswith(area)):
            area = own
    return area or None


def place(case: Case) -> None:
    """Set the case's area; the caller's flush writes it (and marks the monthly tallies)."""
    area = finest_area(case)
    if area != case.area_code:
        case.area_code = area


@signals.status_changed.connect
def _place_on_step(case: Case, **_details) -> None:
    """Submitting gives the case its province; a later step may bring an institution."""
    place(case)


@signals.place_changed.connect
def _place_on_change(case: Case, **_details) -> None:
    """Its institution or region changed, by whichever operation: placed in the same flush."""
    if case.status != CaseStatus.draft:  # a draft is counted nowhere until it is submitted
        place(case)
