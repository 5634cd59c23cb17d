"""Asking, routing, answering, handing over, escalating and filing a question: the
consultation feature's operations, one module each, named here for the edges (views, the
worker, reception) and the tests.

A question goes to the expert pool of its region (routing.py). It is answered in writing
within ``ANSWER_WORKING_DAYS`` working days (asking.py; State Council calendar,
cases.clocks); the worker tells the region's administrators and the pool when it is late
(lateness.py). The expert who took it answers it (answering.py), or gives it back, or
loses it once it is late (handover.py). One action makes it a draft case (conversion.py);
figures.py counts for the statistics page. Everything flushes; the request edge (or the
worker) commits.

The modules import downward only: routing, then asking, answering, handover and lateness,
conversion; figures needs only routing.
"""

from __future__ import annotations

from .answering import (
    MAX_ANSWER,
    AnsweredAlreadyError,
    FreedError,
    answer,
    answered_in_person,
    take,
)
from .asking import (
    ANSWER_WORKING_DAYS,
    MAX_FILES,
    MAX_SUBJECT,
    MAX_TEXT,
    AskedAlreadyError,
    ask,
    has_questions,
    known_province,
    my_questions,
)
from .conversion import to_case
from .figures import Figures, figures
from .handover import (
    HandedOverAlreadyError,
    freed_notice,
    give_back,
    handed_over_in_region,
    may_put_back,
    may_take_over,
    put_back,
    take_over,
    waiting_in_region,
)
from .lateness import escalate_late, escalate_one, late
from .routing import (
    ANSWERED_PER_PAGE,
    NotAllowedError,
    answered_by,
    can_view,
    freed_from,
    holds,
    in_pool,
    make_expert,
    may_answer,
    may_take,
    moved_out,
    pool,
    queue,
    recused,
    region_admins,
    relievable_at,
)

__all__ = [
    "ANSWERED_PER_PAGE",
    "ANSWER_WORKING_DAYS",
    "MAX_ANSWER",
    "MAX_FILES",
    "MAX_SUBJECT",
    "MAX_TEXT",
    "AnsweredAlreadyError",
    "AskedAlreadyError",
    "Figures",
    "FreedError",
    "HandedOverAlreadyError",
    "NotAllowedError",
    "answer",
    "answered_by",
    "answered_in_person",
    "ask",
    "can_view",
    "escalate_late",
    "escalate_one",
    "figures",
    "freed_from",
    "freed_notice",
    "give_back",
    "handed_over_in_region",
    "has_questions",
    "holds",
    "in_pool",
    "known_province",
    "late",
    "make_expert",
    "may_answer",
    "may_put_back",
    "may_take",
    "may_take_over",
    "moved_out",
    "my_questions",
    "pool",
    "put_back",
    "queue",
    "recused",
    "region_admins",
    "relievable_at",
    "take",
    "take_over",
    "to_case",
    "waiting_in_region",
]
