"""Where a case is counted: ``Case.area_code``, the finest division known for it.

The intake asks a party only for the province (mediation/cases/regions.py); a township's or
district's mediation station knows where it sits. So the case gets the province's prefix when
it is submitted and its institution's area when that lies within it (a station in 320102001
given a Jiangsu case makes it 320102001). A case whose province differs from the
institution's keeps the province: the dispute arose there, not where it is mediated.
The existing ``region_code`` (six digits, the province) is left as it was for assignment.

The case is placed as soon as its institution is known, however it came to have one: an
applicant's or a court's choice (SPC online mediation rules art 10), the automatic pick, a
transfer or a decline; not only when a mediator accepts. Until then its region's staff
would neither count it nor be told of a warning resting on it (People's Mediation Law
art 5: the judicial administration of each government at county level and above guides the
people's mediation of its area).
"""

from __future__ import annotations

from sqlalchemy import inspect, select

from mediation.accounts.models import Institution
from mediation.cases import signals
from mediation.cases.models import Case
from mediation.cases.states import CaseStatus
from mediation.core import divisions
from mediation.extensions import db


def _institution(case: Case) -> Institution | None:
    """The case's institution as the database will have it: an institution set as an
    object is written by the pending flush; otherwise the one ``institution_id`` names,
    looked up by it (a relationship loaded before a bare change of the id would still point
    at the former institution, even after that change was flushed)."""
    state = inspect(case)
    if state.attrs.institution.history.has_changes():
        return case.institution
    if case.institution_id is None:
        return None
    return (state.session or db.session).get(Institution, case.institution_id)


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


def place(case: Case) -> bool:
    """Set the case's area; the caller's flush writes it (and marks the monthly tallies).
    True when it moved."""
    area = finest_area(case)
    if area != case.area_code:
        case.area_code = area
        return True
    return False


def place_all(batch: int = 500) -> int:
    """Place every submitted case with an institution again (``mediation governance-rebuild``):
    cases stored before they were placed as soon as they had one (6 December 2026) stayed at
    their province until their next change. Flushes each batch; returns how many moved."""
    moved = 0
    query = (
        select(Case)
        .where(Case.institution_id.is_not(None), Case.status != CaseStatus.draft)
        .order_by(Case.id)
        .execution_options(yield_per=batch)
    )
    for number, case in enumerate(db.session.scalars(query), start=1):
        moved += place(case)
        if number % batch == 0:
            db.session.flush()
    db.session.flush()
    return moved


@signals.status_changed.connect
def _place_on_step(case: Case, **_details) -> None:
    """Submitting gives the case its province; a later step may bring an institution."""
    place(case)


@signals.place_changed.connect
def _place_on_change(case: Case, **_details) -> None:
    """Its institution or region changed, by whichever operation: placed in the same flush."""
    if case.status != CaseStatus.draft:  # a draft is counted nowhere until it is submitted
        place(case)
