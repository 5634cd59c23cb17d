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

from .answering import MAX_ANSWER, AnsweredAlreadyError, answer, answered_in_person, take
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
from .lateness import escalate_late
from .routing import (
    ANSWERED_PER_PAGE,
    NotAllowedError,
    answered_by,
    can_view,
    holds,
    in_pool,
    make_expert,
    may_answer,
    moved_out,
    pool,
    queue,
    region_admins,
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
    "NotAllowedError",
    "answer",
    "answered_by",
    "answered_in_person",
    "ask",
    "can_view",
    "escalate_late",
    "figures",
    "has_questions",
    "holds",
    "in_pool",
    "known_province",
    "make_expert",
    "may_answer",
    "moved_out",
    "my_questions",
    "pool",
    "queue",
    "region_admins",
    "take",
    "to_case",
]
