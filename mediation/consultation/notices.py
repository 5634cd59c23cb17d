"""Who is told what about a question (rows of mediation/notify/table/before_a_case.py,
stage "consultation"): the pool when it is asked, the asker when it is answered, the region's
administrators and the pool when it is late; the pool again when it is freed from the expert
who took it, and that expert when it is taken from them (handover.py)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from mediation.accounts.models import User
from mediation.core.db import utcnow
from mediation.notify import operations as notify

from .links import answer_link, expert_link
from .models import Handover, HandoverKind, Question

ASKED = _l(
    "A new question is waiting for an expert of your region on the mediation platform: "
    "\u201c%(what)s\u201d. Please answer by %(due)s: %(link)s"
)
ANSWERED = _l("Your question \u201c%(what)s\u201d has been answered. Read it here: %(link)s")
LATE = _l(
    "The question \u201c%(what)s\u201d asked on the mediation platform was not answered by "
    "%(due)s. Please see that an expert answers it: %(link)s"
)
# Freed from the expert who took it (handover.py): told as when it was asked, with the
# time stated to the asker, or that it has passed.
WAITING_AGAIN = _l(
    "A question is waiting again for an expert of your region on the mediation platform: "
    "\u201c%(what)s\u201d. Please answer by %(due)s: %(link)s"
)
WAITING_AGAIN_LATE = _l(
    "A question is waiting again for an expert of your region on the mediation platform: "
    "\u201c%(what)s\u201d. The time stated to the person who asked, %(due)s, has passed: "
    "please answer it soon: %(link)s"
)
# To the expert it was taken from: they no longer answer it.
TAKEN_OVER = _l(
    "The question \u201c%(what)s\u201d you took on the mediation platform was not answered by "
    "%(due)s. Another expert of your region now answers it; you no longer need to."
)
PUT_BACK = _l(
    "The question \u201c%(what)s\u201d you took on the mediation platform was not answered by "
    "%(due)s. The region's administrators put it back for the experts of your region; you "
    "no longer answer it."
)


def _short(subject: str) -> str:
    return subject if len(subject) <= 30 else subject[:29] + "\u2026"


def asked(question: Question, experts: list[User]) -> None:
    for expert in experts:
        notify.tell(
            expert,
            ASKED,
            what=_short(question.subject),
            due=question.due_at,
            link=expert_link(question),
        )


def answered(question: Question) -> None:
    # Only the subject the asker wrote: the answer itself is read behind the personal link
    # (a code to the asker's phone, or their password).
    notify.tell(question.asker, ANSWERED, what=_short(question.subject), link=answer_link(question))


def late(question: Question, admins: list[User], experts: list[User]) -> None:
    for person in [*admins, *experts]:
        notify.tell(
            person,
            LATE,
            what=_short(question.subject),
            due=question.due_at,
            link=expert_link(question),
        )


def waiting_again(question: Question, experts: list[User]) -> None:
    message = WAITING_AGAIN if question.due_at > utcnow() else WAITING_AGAIN_LATE
    for expert in experts:
        notify.tell(
            expert,
            message,
            what=_short(question.subject),
            due=question.due_at,
            link=expert_link(question),
        )


def taken_from(question: Question, expert: User, handover: Handover) -> None:
    message = TAKEN_OVER if handover.kind == HandoverKind.taken_over else PUT_BACK
    notify.tell(expert, message, what=_short(question.subject), due=question.due_at)
