"""What the governance pages list: labels for the figures, the divisions one level down, and
the warnings of a region with their cases (number, category, date, institution: never what
a case says)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import exists, func, select

from mediation.accounts.models import Institution
from mediation.cases.categories import category_name
from mediation.cases.labels import STATUS_NAMES
from mediation.cases.models import Case
from mediation.extensions import db

from .figures import RegionFigures, in_region
from .models import EarlyWarning, WarningCase

NEXT_LEVEL = {2: 4, 4: 6, 6: 9}


def section_titles() -> dict[str, str]:
    return {
        "category": _("Cases by category"),
        "status": _("Cases by status"),
        "institution": _("Cases by institution"),
        "month": _("Cases by month of filing"),
    }


def category_rows(rows: list[tuple[str, int]]) -> list[tuple[str, int]]:
    return [(category_name(code), n) for code, n in rows]


def status_rows(rows: list[tuple[str, int]]) -> list[tuple[str, int]]:
    return [(str(STATUS_NAMES.get(code, code)), n) for code, n in rows]


def rates(data: RegionFigures) -> list[tuple[float | None, str]]:
    return [
        (data.resolution_rate, _("Resolution rate (per cent)")),
        (data.confirmation_rate, _("Judicial confirmation rate (per cent)")),
        (data.performance_rate, _("Performance rate (per cent)")),
    ]


def child_areas(area: str, since: datetime, until: datetime) -> list[tuple[str, int]]:
    """The divisions one level down that have cases, with their counts (one GROUP BY)."""
    length = NEXT_LEVEL.get(len(area))
    if length is None:
        return []
    child = func.substr(Case.area_code, 1, length)
    rows = db.session.execute(
        select(child, func.count())
        .where(in_region(area, since, until), func.length(Case.area_code) >= length)
        .group_by(child)
        .order_by(child)
    ).all()
    return [(code, n) for code, n in rows]


@dataclass
class ListedCase:
    number: str
    category: str
    filed_at: datetime
    institution: str


@dataclass
class ListedWarning:
    warning: EarlyWarning
    cases: list[ListedCase]


def warnings_in(area: str, limit: int = 100) -> list[ListedWarning]:
    """The newest warnings with a case in ``area``; each with its cases in ``area``."""
    in_area = Case.area_code.like(f"{area}%")
    found = db.session.scalars(
        select(EarlyWarning)
        .where(
            exists()
            .where(WarningCase.warning_id == EarlyWarning.id, WarningCase.case_id == Case.id)
            .where(in_area)
        )
        .order_by(EarlyWarning.raised_at.desc(), EarlyWarning.id.desc())
        .limit(limit)
    ).all()
    rows = db.session.execute(
        select(WarningCase.warning_id, Case.number, Case.category, Case.created_at)
        .add_columns(Institution.name)
        .join(Case, Case.id == WarningCase.case_id)
        .outerjoin(Institution, Institution.id == Case.institution_id)
        .where(WarningCase.warning_id.in_([w.id for w in found]), in_area)
        .order_by(Case.created_at, Case.number)
    ).all()
    per_warning: dict[int, list[ListedCase]] = {}
    for warning_id, number, category, filed_at, institution in rows:
        per_warning.setdefault(warning_id, []).append(
            ListedCase(number, category_name(category), filed_at, institution or "")
        )
    return [ListedWarning(w, per_warning.get(w.id, [])) for w in found]
