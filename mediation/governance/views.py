"""The region overview for region staff (Role.governance): figures, charts, exports and the
early warnings of their division. Nothing here opens a case: staff see counts, and for a
warning the case numbers, categories, dates and institutions, never what a case says
(issue #21 item 4; People's Mediation Law art 15 (4): mediators keep the parties' privacy)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Response, abort, flash, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from mediation.accounts.models import Role
from mediation.core import divisions
from mediation.core.access import role_required
from mediation.core.db import utcnow
from mediation.core.i18n import format_month

from . import (
    areas,  # noqa: F401 - places cases as they move (status_changed, place_changed)
    exports,
    listing,
)
from .charts import bar_chart
from .figures import RegionFigures
from .summary import region_overview

BEIJING = ZoneInfo("Asia/Shanghai")
YEARS_BACK = 5


def _own_area() -> str:
    own = current_user.area_code or ""
    if not divisions.level(own):
        abort(403)
    return own


def _scope() -> tuple[str, datetime, datetime, int | None]:
    """The division asked for (the staff's own, or one within it) and the period: a
    calendar year in Beijing time, or the last twelve months."""
    own = _own_area()
    area = request.args.get("area", "").strip() or own
    if not (area.isascii() and area.isdigit() and divisions.level(area) and area.startswith(own)):
        flash(_("You can only see your own region and the divisions within it."), "error")
        area = own
    now = utcnow()
    this_year = now.astimezone(BEIJING).year
    year = request.args.get("year", type=int)
    if year is not None and not this_year - YEARS_BACK < year <= this_year:
        flash(_("Choose one of the years offered."), "error")
        year = None
    if year is None:
        since = now - timedelta(days=365)
        return area, since, now, None
    since = datetime(year, 1, 1, tzinfo=BEIJING).astimezone(UTC)
    until = datetime(year + 1, 1, 1, tzinfo=BEIJING).astimezone(UTC)
    return area, since, until, year


def _labelled(data: RegionFigures) -> dict[str, list[tuple[str, int]]]:
    return {
        "category": listing.category_rows(data.by_category),
        "status": listing.status_rows(data.by_status),
        "institution": [(name or _("Not yet accepted"), n) for name, n in data.by_institution],
        "month": [(format_month(month), n) for month, n in data.by_month],
    }


@role_required(Role.governance)
def dashboard():
    area, since, until, year = _scope()
    data = region_overview(area, since, until)
    rows = _labelled(data)
    titles = listing.section_titles()
    charts = {key: bar_chart(titles[key], rows[key], chart_id=f"chart-{key}") for key in rows}
    this_year = utcnow().astimezone(BEIJING).year
    return render_template(
        "governance/dashboard.html",
        data=data,
        rows=rows,
        titles=titles,
        charts=charts,
        area=area,
        own=_own_area(),
        year=year,
        years=list(range(this_year, this_year - YEARS_BACK, -1)),
        children=data.children,
        level=divisions.level(area),
        full_code=divisions.full_code,
        division_name=divisions.name,
    )


def _export_rows(data: RegionFigures) -> list[list]:
    rows = _labelled(data)
    titles = listing.section_titles()
    out: list[list] = [
        [_("Region"), divisions.name(data.area, full=True)],
        [_("Division code"), divisions.full_code(data.area)],
        [_("Cases"), data.total],
    ]
    for key, label in listing.rates(data):
        out.append([label, "" if key is None else round(key * 100, 1)])
    for key, section in rows.items():
        out.append([])
        out.append([titles[key], _("Cases")])
        out.extend([[label, n] for label, n in section])
    return out


@role_required(Role.governance)
def export_csv():
    area, since, until, _year = _scope()
    body = exports.to_csv(_export_rows(region_overview(area, since, until)))
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=region-{area}.csv"},
    )


@role_required(Role.governance)
def export_xlsx():
    area, since, until, _year = _scope()
    body = exports.to_xlsx(_export_rows(region_overview(area, since, until)), area)
    return Response(
        body,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename=region-{area}.xlsx"},
    )


@role_required(Role.governance)
def warnings():
    own = _own_area()
    return render_template(
        "governance/warnings.html",
        warnings=listing.warnings_in(own),
        full_code=divisions.full_code,
        division_name=divisions.name,
    )
