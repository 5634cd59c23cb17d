"""Benchmark: the caseload query of a mediator with 2,000 cases (target: under 100 ms).

Builds a fresh database per backend with the migrations, seeds one mediator with 2,000
cases among 12,000 (other mediators have the rest), then times each caseload variant the
page offers and prints the medians as a table.

    .venv/bin/python bench/caseload.py                    # SQLite and PostgreSQL
    .venv/bin/python bench/caseload.py --backends sqlite --runs 50
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import fresh_app, percentile
from sqlalchemy import insert, select

from mediation.accounts.models import Institution, MediatorProfile, User, UserRole
from mediation.cases.caseload import CaseloadFilter, caseload_for
from mediation.cases.models import Case, CaseParty
from mediation.cases.states import ACTIVE_STATUSES, CaseStatus
from mediation.core.db import utcnow
from mediation.extensions import db

TARGET_MS = 100
MINE, OTHERS, OTHER_MEDIATORS = 2_000, 10_000, 20

VARIANTS = {
    "active, by deadline": CaseloadFilter(),
    "active, newest filed": CaseloadFilter(sort="filed"),
    "one status": CaseloadFilter(status=CaseStatus.in_mediation),
    "overdue only": CaseloadFilter(due_within_days=0),
    "party name search": CaseloadFilter(party="张"),
    "category + page 5": CaseloadFilter(category="neighbourhood", page=5),
}


def seed(rng: random.Random) -> User:
    """Insert the data in bulk (operations would write a journal entry per row)."""
    now = utcnow()
    institution = Institution(name="基准调解委员会", region_code="320102", address="南京")
    db.session.add(institution)
    db.session.flush()
    mediators = []
    for n in range(OTHER_MEDIATORS + 1):
        user = User(real_name=f"调解员{n}", phone=f"+86137{n:08d}", institution_id=institution.id)
        user.role_rows = [UserRole(role="mediator")]
        user.mediator_profile = MediatorProfile(categories=["neighbourhood"])
        mediators.append(user)
    db.session.add_all(mediators)
    db.session.flush()
    surnames = "张王李赵陈刘杨黄周吴"
    party_rows = [
        {"real_name": f"{rng.choice(surnames)}某{n}", "phone": f"+86139{n:08d}"}
        for n in range((MINE + OTHERS) * 2)
    ]
    db.session.execute(insert(User), party_rows)
    party_ids = db.session.scalars(select(User.id).where(User.phone.like("+86139%"))).all()
    statuses = sorted(ACTIVE_STATUSES | {CaseStatus.terminated, CaseStatus.confirmed})
    categories = ["neighbourhood", "labour", "tenancy", "private_lending", "property_services"]
    case_rows = []
    for n in range(MINE + OTHERS):
        owner = mediators[0] if n < MINE else mediators[1 + n % OTHER_MEDIATORS]
        submitted = now - timedelta(days=rng.randint(0, 60), hours=rng.randint(0, 23))
        due = submitted + timedelta(days=rng.choice([3, 5, 30]))
        case_rows.append(
            {
                "number": f"2026-{n + 1:06d}",
                "category": rng.choice(categories),
                "title": f"纠纷{n}",
                "facts": "",
                "status": rng.choice(statuses),
                "mediator_id": owner.id,
                "institution_id": institution.id,
                "created_at": submitted,
                "submitted_at": submitted,
                "mediation_due_at": due,
            }
        )
    db.session.execute(insert(Case), case_rows)
    case_ids = db.session.scalars(select(Case.id).order_by(Case.id)).all()
    db.session.execute(
        insert(CaseParty),
        [
            {"case_id": case_id, "user_id": party_ids[2 * i + side], "side": name}
            for i, case_id in enumerate(case_ids)
            for side, name in ((0, "applicant"), (1, "respondent"))
        ],
    )
    db.session.commit()
    return mediators[0]


def measure(backend: str, runs: int) -> list[tuple[str, float, float, int]]:
    with fresh_app(backend):
        mediator_id = seed(random.Random(2026)).id
        rows = []
        for name, flt in VARIANTS.items():
            timings = []
            for _ in range(runs):
                db.session.expunge_all()  # every run loads its rows afresh
                mediator = db.session.get(User, mediator_id)
                start = time.perf_counter()
                result = caseload_for(mediator, flt)
                timings.append((time.perf_counter() - start) * 1000)
            timings.sort()
            rows.append((name, statistics.median(timings), percentile(timings, 0.95), result.total))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    print(
        f"caseload of one mediator with {MINE:,} cases among {MINE + OTHERS:,}; "
        f"{args.runs} runs each; target {TARGET_MS} ms\n"
    )
    print(f"{'backend':<11} {'query':<22} {'median ms':>10} {'p95 ms':>8} {'rows':>6}  target")
    failed = False
    for backend in args.backends.split(","):
        rows = measure(backend, args.runs)
        for name, median, p95, total in rows:
            ok = median < TARGET_MS
            failed |= not ok
            print(
                f"{backend:<11} {name:<22} {median:>10.1f} {p95:>8.1f} {total:>6}  "
                f"{'met' if ok else 'MISSED'}"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
