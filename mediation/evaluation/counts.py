"""Counting evaluations for the statistics page (issue #20 item 4: each of consultation,
evaluation and delegation shows in the statistics). Flushes; the request edge commits.

The page is answered by GET (a result can be bookmarked and shared), so the figure must not
be "results shown": a reload, the back button or a bookmark opened again would each count,
and anyone could raise the platform's figure, a database write each, by asking again. An
evaluation is counted once per browser, day and answer (``asked``), and an address without
cookies (a script, a crawler) has a daily budget; the page answers either way."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import current_app, session
from flask_limiter.util import get_remote_address
from limits import parse
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from mediation.accounts.models import Institution
from mediation.cases import regions
from mediation.cases import signals as case_signals
from mediation.core.db import utcnow
from mediation.extensions import db, limiter

from .models import EvaluationCount

# The answers this browser was counted for today, in its own session: the day, then a short
# digest of each answer (the cookie is signed, not encrypted; the amount is not written in
# it), at most SESSION_MOST of them so that the cookie stays small. A browser that asks for
# more answers in a day than that is trying amounts, not evaluating its dispute.
SESSION_KEY = "evaluations_counted"
SESSION_MOST = 20


def asked(category: str, region_code: str | None, amount: Decimal) -> bool:
    """Count the evaluation just answered, unless this browser was counted for the same
    answer (category, province, amount) today or has had SESSION_MOST answers counted, or
    its address has used up EVALUATION_COUNT_LIMIT (a client that drops its cookies). True
    when it was counted (then the caller commits); the session is changed only then."""
    day = _day(utcnow()).isoformat()
    answer = f"{category}|{regions.province_code(region_code)}|{amount:.2f}"
    # Keyed: a plain hash of so few possible answers would give the amount back at once.
    key = current_app.secret_key.encode()
    digest = hmac.new(key, b"evaluation|" + answer.encode(), hashlib.sha256).hexdigest()[:16]
    counted = session.get(SESSION_KEY)
    if not isinstance(counted, list) or counted[:1] != [day]:
        counted = [day]  # another day: every answer counts again
    if digest in counted[1:] or len(counted) > SESSION_MOST:
        return False
    budget = parse(current_app.config["EVALUATION_COUNT_LIMIT"])
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX") or ""
    keys = [*filter(None, [prefix]), "evaluation-count", get_remote_address()]
    if not limiter.limiter.hit(budget, *keys):
        return False
    session[SESSION_KEY] = [*counted, digest]
    count(category, region_code)
    return True


def _day(now: datetime) -> date:
    """The day in Beijing time (the platform's zone), as the statistics count days."""
    return now.astimezone(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).date()


def count(category: str, region_code: str | None, *, now: datetime | None = None) -> None:
    """One more evaluation of ``category`` in the province of ``region_code``: one row per
    day, category and province, incremented in place (two requests at once both count)."""
    day = _day(now or utcnow())
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
