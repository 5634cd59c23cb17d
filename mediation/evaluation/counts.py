"""Counting evaluations for the statistics page (issue #20 item 4: each of consultation,
evaluation and delegation shows in the statistics). Flushes; the request edge commits."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from mediation.accounts.models import Institution
from mediation.cases import regions
from mediation.cases import signals as case_signals
from mediation.core.db import utcnow
from mediation.extensions import db

from .models import EvaluationCount


def count(category: str, region_code: str | None, *, now: datetime | None = None) -> None:
    """One more evaluation of ``category`` in the province of ``region_code``: one row per
    day, category and province, incremented in place (two requests at once both count)."""
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    day = (now or utcnow()).astimezone(zone).date()
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(EvaluationCount).values(
        day=day, category=category, region_code=regions.province_code(region_code), evaluations=1
    )
    db.session.execute(
        statement.on_conflict_do_update(
            index_elements=["day", "category", "region_code"],
            set_={"evaluations": EvaluationCount.evaluations + 1},
        )
    )
    db.session.flush()


def total(institution_id: int | None = None) -> int:
    """Evaluations on the whole platform, or in the institution's province."""
    query = select(func.coalesce(func.sum(EvaluationCount.evaluations), 0))
    if institution_id is not None:
        institution = db.session.get(Institution, institution_id)
        query = query.where(
            EvaluationCount.region_code == regions.province_code(institution.region_code)
        )
    return int(db.session.scalar(query))


@case_signals.figures_asked.connect
def _counts(institution_id: int | None) -> dict[str, int]:
    """The statistics page's evaluation figure (cases.statistics asks by signal)."""
    return {"evaluations": total(institution_id)}
