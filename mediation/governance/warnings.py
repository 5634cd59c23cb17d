"""Early warnings (worker job ``governance_warnings``): trouble a region's staff should see
before it grows (issue #21 item 3).

- surge (群体性纠纷): more than GOVERNANCE_SURGE_CASES cases of one category in one street
  filed within the last GOVERNANCE_SURGE_DAYS days;
- respondent: one respondent (an employer, a developer) named in more than
  GOVERNANCE_RESPONDENT_CASES cases within GOVERNANCE_RESPONDENT_DAYS days, across
  institutions. The same respondent is recognised by its account, by the HMAC of its ID
  number, or — for an organisation only — by its normalised name within one city: two people
  called 张伟 are not one respondent, two filings against “某某建筑有限公司” and “某某建筑 有限公司”
  are; a name with nothing of its own (“物业公司”, “小区物业”) names no one in particular.

The window is (now - days, now] of filing time. A warning is raised once per subject until
its window has passed: a later run finds the stored warning whose window still overlaps and
raises nothing. Two workers never run the rules at once (:func:`_serialise`): each worker's
``now`` differs, so the unique (kind, key, window_start) alone would not catch the second.
The job runs at most every GOVERNANCE_WARNING_EVERY seconds per worker process (:func:`due`):
one run reads a province's month of cases.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import unicodedata
from collections import Counter
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, func, select

from mediation.accounts.models import Role, User, UserRole
from mediation.cases.models import Case, CaseParty, Side
from mediation.cases.states import CaseStatus
from mediation.core import divisions
from mediation.core.db import utcnow
from mediation.core.locks import one_at_a_time
from mediation.extensions import db

from . import notices
from .models import EarlyWarning, WarningCase, WarningKey

# Words that mark a name as an organisation's (企业, 单位): matching by name is safe only
# for those; people are matched by account or ID number.
ORGANISATION_WORDS = (
    "公司", "集团", "企业", "工厂", "厂", "合作社", "中心", "医院", "学校", "商行", "商店",
    "事务所", "物业", "银行", "酒店", "餐厅", "超市", "工作室", "协会", "委员会", "项目部",
)  # fmt: skip
# Words any organisation's name may hold: what is left without them must say which one.
GENERIC_WORDS = tuple(
    sorted(
        {*ORGANISATION_WORDS, "有限", "责任", "股份", "小区", "管理", "服务", "分公司", "总公司"},
        key=len,
        reverse=True,
    )
)
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


def normalised_name(name: str | None) -> str:
    """Full-width to half-width, case and spaces and punctuation gone: ``（某某）建筑 有限公司``
    and ``(某某)建筑有限公司`` are one name."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", name or "").casefold())


def is_organisation(name: str) -> bool:
    return len(name) >= 4 and any(word in name for word in ORGANISATION_WORDS)


def distinctive(name: str) -> bool:
    """An organisation's name with at least two characters of its own besides the generic
    words: only such a name may join filings by name."""
    if not is_organisation(name):
        return False
    for word in GENERIC_WORDS:
        name = name.replace(word, "")
    return len(name) >= 2


def _id_key(id_number: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(secret, id_number.strip().upper().encode(), hashlib.sha256)
    return "id:" + digest.hexdigest()[:32]


def _window(now: datetime, days: int):
    since = now - timedelta(days=days)
    return since, and_(
        Case.created_at > since, Case.created_at <= now, Case.status != CaseStatus.draft
    )


def _already(kind: str, keys: set[str], since: datetime) -> bool:
    """A warning on this subject, under any of its keys, whose window still overlaps the one
    looked at now (a respondent's chosen key changes as new cases join its group)."""
    return (
        db.session.scalar(
            select(EarlyWarning.id)
            .join(WarningKey)
            .where(
                EarlyWarning.kind == kind,
                WarningKey.key.in_(sorted({k[:128] for k in keys})),
                EarlyWarning.window_end > since,
            )
            .limit(1)
        )
        is not None
    )


def _store(kind, keys, area, since, now, case_ids, category=None, label="") -> EarlyWarning:
    warning = EarlyWarning(
        kind=kind,
        key=_subject_key(keys),
        area_code=area,
        category=category,
        label=label,
        window_start=since,
        window_end=now,
        case_count=len(case_ids),
        raised_at=now,
        cases=[WarningCase(case_id=i) for i in sorted(case_ids)],
        keys=[WarningKey(key=k) for k in sorted({k[:128] for k in keys})],
    )
    db.session.add(warning)
    return warning


def surges(now: datetime, limit: int, days: int) -> list[EarlyWarning]:
    since, window = _window(now, days)
    street = func.length(Case.area_code) == 9
    found = db.session.execute(
        select(Case.area_code, Case.category)
        .where(window, street)
        .group_by(Case.area_code, Case.category)
        .having(func.count() > limit)
    ).all()
    raised = []
    for area, category in found:
        keys = {f"{area}:{category}"}
        if _already("surge", keys, since):
            continue
        ids = db.session.scalars(
            select(Case.id).where(window, Case.area_code == area, Case.category == category)
        ).all()
        raised.append(_store("surge", keys, area, since, now, ids, category=category))
    return raised


class _Groups:
    """Union-find over the keys a respondent is known by."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, key: str) -> str:
        self.parent.setdefault(key, key)
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def join(self, keys: list[str]) -> str:
        roots = sorted({self.find(k) for k in keys})
        for root in roots[1:]:
            self.parent[root] = roots[0]
        return roots[0]


def _subject_key(keys: set[str]) -> str:
    """The warning's stable name for a respondent: the ID number's HMAC, else the
    organisation's name, else the account."""
    for prefix in ("id:", "name:", "user:"):
        chosen = sorted(k for k in keys if k.startswith(prefix))
        if chosen:
            return chosen[0][:128]
    return sorted(keys)[0][:128]


def _common_area(areas: list[str]) -> str:
    shared = areas[0] if areas else ""
    for area in areas[1:]:
        while not area.startswith(shared):
            shared = shared[:-1]
    for length in (9, 6, 4, 2):
        if len(shared) >= length:
            return shared[:length]
    return ""


def respondents(now: datetime, limit: int, days: int) -> list[EarlyWarning]:
    since, window = _window(now, days)
    rows = db.session.execute(
        select(Case.id, Case.area_code, CaseParty.user_id, CaseParty.named_name)
        .add_columns(User.real_name, User.id_number)
        .join(CaseParty, CaseParty.case_id == Case.id)
        .join(User, User.id == CaseParty.user_id)
        .where(window, CaseParty.side == Side.respondent, CaseParty.is_agent.is_(False))
    ).all()
    groups = _Groups()
    per_row = []
    for case_id, area, user_id, named, real_name, id_number in rows:
        keys = [f"user:{user_id}"]
        if id_number:
            keys.append(_id_key(id_number))
        for name in {normalised_name(named), normalised_name(real_name)}:
            if distinctive(name):  # one city's: a chain's branches elsewhere are others
                keys.append(f"name:{(area or '')[:4]}:{name}")
        groups.join(keys)
        per_row.append((keys, case_id, area or "", named or real_name))
    members: dict[str, dict] = {}
    for keys, case_id, area, shown in per_row:
        entry = members.setdefault(
            groups.find(keys[0]), {"keys": set(), "cases": {}, "names": Counter()}
        )
        entry["keys"].update(keys)
        entry["cases"][case_id] = area
        entry["names"][shown] += 1
    raised = []
    for entry in members.values():
        if len(entry["cases"]) <= limit:
            continue
        if _already("respondent", entry["keys"], since):
            continue
        area = _common_area(sorted(entry["cases"].values()))
        # An organisation's name is what staff act on; a person's is not theirs to read.
        named = [
            n for n, _count in entry["names"].most_common() if is_organisation(normalised_name(n))
        ]
        label = named[0] if named else ""
        raised.append(
            _store("respondent", entry["keys"], area, since, now, entry["cases"], label=label[:200])
        )
    return raised


def staff_for(warning: EarlyWarning) -> list[tuple[User, int]]:
    """Region staff whose region holds at least one of the warning's cases, each with the
    number of those cases in their region (another region's cases are not theirs to know)."""
    areas = db.session.scalars(
        select(Case.area_code).where(
            Case.id.in_([c.case_id for c in warning.cases]), Case.area_code.is_not(None)
        )
    ).all()
    staff = db.session.scalars(
        select(User)
        .join(UserRole)
        .where(UserRole.role == Role.governance, User.active.is_(True), User.area_code != "")
        .order_by(User.id)
    ).all()
    told = [(u, sum(divisions.within(a, u.area_code or "") for a in areas)) for u in staff]
    return [(u, count) for u, count in told if count]


# Any constant of this platform's own: the advisory lock the warning job holds on PostgreSQL.
_JOB_LOCK = 0x676F7677  # "govw"

# When each app last ran the job in this process (time.monotonic()).
_last_run: dict[int, float] = {}


def due(app) -> bool:
    """Whether GOVERNANCE_WARNING_EVERY seconds have passed since this process last ran the
    rules (the worker's round comes every OUTBOX_POLL_SECONDS, a run costs seconds)."""
    last = _last_run.get(id(app))
    return last is None or time.monotonic() - last >= app.config["GOVERNANCE_WARNING_EVERY"]


def ran(app) -> None:
    _last_run[id(app)] = time.monotonic()


def _serialise() -> None:
    """One run at a time across workers, held until the job's transaction ends, taken before
    anything is read."""
    one_at_a_time(_JOB_LOCK, 0, on_sqlite=EarlyWarning.id)


def raise_due(now: datetime | None = None) -> int:
    """Run both rules; each new warning is stored and told to its regions' staff. The
    caller commits (which ends the lock)."""
    _serialise()
    now = now or utcnow()
    config = current_app.config
    raised = surges(now, config["GOVERNANCE_SURGE_CASES"], config["GOVERNANCE_SURGE_DAYS"])
    raised += respondents(
        now, config["GOVERNANCE_RESPONDENT_CASES"], config["GOVERNANCE_RESPONDENT_DAYS"]
    )
    db.session.flush()
    for warning in raised:
        notices.raised(warning, staff_for(warning))
    return len(raised)
