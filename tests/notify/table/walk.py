"""The notification table walked (issue #16, item 3): every step in
``mediation/notify/table/`` is taken through the real operations, and the outbox must hold
exactly the messages the table lists, to exactly the people it lists: nobody missing,
nobody extra, nobody twice.

Each scenario sets up the world (everyone with a phone and an e-mail address, so that
"SMS" and "SMS + e-mail" are told apart), and returns the step to take and who is who. Only
what the step itself sends is compared: the outbox is read from before the step. The
scenarios live beside the part of the table they walk (test_before_a_case.py,
test_cases.py, test_sessions.py, test_agreement.py), each registered with that module's
:class:`Scenarios`; test_whole_table.py checks that together they walk every step."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable

from sqlalchemy import func, select

from mediation.extensions import db
from mediation.notify import table
from mediation.notify.models import OutboxMessage
from tests.factories import make_mediating_case

_mail = itertools.count(1)
Who = dict[str, list]
Scenario = Callable[[], tuple[Callable[[], object], Who]]


class Scenarios:
    """The scenarios of one part of the table, by the step each takes."""

    def __init__(self) -> None:
        self.by_event: dict[str, tuple[Scenario, tuple[str, ...]]] = {}

    def __call__(self, event: str, *also: str):
        """Register the scenario of ``event``; ``also``: other steps the same act takes
        (their rows are expected too)."""

        def register(fn: Scenario) -> Scenario:
            assert event in table.events(), f"not in the table: {event}"
            assert event not in self.by_event, f"walked twice: {event}"
            self.by_event[event] = (fn, also)
            return fn

        return register

    def events(self) -> list[str]:
        """The steps registered, in the table's order."""
        return [event for event in table.events() if event in self.by_event]

    def walk(self, event: str) -> None:
        """Take the step; the outbox must hold what the table lists, to whom it lists."""
        make, also = self.by_event[event]
        act, who = make()
        mark()
        act()
        sent = Counter((m.channel, m.recipient) for m in new_messages())
        want = expected([event, *also], who)
        assert sent == want, f"{event}: missing {dict(want - sent)}, extra {dict(sent - want)}"


def mailable(*users):
    """Everyone gets an e-mail address, so that an e-mail nobody listed is caught."""
    for user in users:
        if user is not None and not user.email:
            user.email = f"person{next(_mail)}@example.org"
    db.session.flush()
    return users


def everyone(case) -> list:
    return [case.mediator, *(p.user for p in case.parties)]


def mediating():
    case = make_mediating_case()
    mailable(*everyone(case))
    return case


def parties_of(case) -> list:
    return [p.user for p in case.parties]


# -- the outbox -----------------------------------------------------------------------------

_mark: list[int] = [0]


def mark() -> None:
    """From here on, a message in the outbox is new."""
    db.session.flush()
    _mark[0] = db.session.scalar(select(func.coalesce(func.max(OutboxMessage.id), 0)))


def new_messages() -> list[OutboxMessage]:
    db.session.flush()
    return list(
        db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.id > _mark[0]).order_by(OutboxMessage.id)
        )
    )


def expected(events: list[str], who: Who) -> Counter:
    wanted: Counter = Counter()
    for event in events:
        for row in table.rows_of(event):
            if row.channel == "none":
                continue
            assert row.audience in who, f"{event!r} does not say who {row.audience} is"
            for user in who[row.audience]:
                if row.channel in ("sms", "both") and user.phone:
                    wanted["sms", user.phone] += 1
                if row.channel in ("email", "both") and user.email:
                    wanted["email", user.email] += 1
    return wanted
