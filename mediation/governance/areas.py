"""Where a case is counted: ``Case.area_code``, the finest division known for it.

The intake asks a party only for the province (mediation/cases/regions.py); a township's or
district's mediation station knows where it sits. So the case gets the province's prefix when
it is submitted and the accepting institution's area when that lies within it (a station in
320102001 accepting a Jiangsu case makes it 320102001). A case whose province differs from
the institution's keeps the province: the dispute arose there, not where it is mediated.
The existing ``region_code`` (six digits, the province) is left as it was for assignment.
"""

from __future__ import annotations

from mediation.cases import signals
from mediation.cases.models import Case
from mediation.core import divisions


def finest_area(case: Case) -> str | None:
    # From the province each time: a case declined and given to another institution leaves
    # the first one's street.
    area = divisions.prefix(case.region_code)[:2] or (case.area_code or "")[:2]
    institution = case.institution
    if institution is not None:
        own = institution.area_code or divisions.prefix(institution.region_code)
        if own and (not area or own.startswith(area)):
            area = own
    return area or None


@signals.status_changed.connect
def _place_case(case: Case, **_details) -> None:
    """Every step may bring an institution (submitted to one, accepted by one)."""
    area = finest_area(case)
    if area != case.area_code:
        case.area_code = area
