"""The notification table as a whole (``mediation/notify/table/``): every step of it is
walked by one scenario (tests/notify/table/test_*.py, each beside its part of the table),
the documentation is made from it, and every module that sends a message is named in it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from mediation.notify import table

from . import test_agreement, test_before_a_case, test_cases, test_sessions


def test_every_step_of_the_table_is_walked():
    parts = (test_before_a_case, test_cases, test_sessions, test_agreement)
    walked = Counter(event for part in parts for event in part.scenario.by_event)
    assert walked == Counter(table.events())


def test_the_documentation_is_the_table():
    docs = Path(__file__).resolve().parents[3] / "docs" / "notifications.md"
    assert docs.read_text(encoding="utf-8") == table.as_markdown(), (
        "run: python -m mediation.notify.table > docs/notifications.md"
    )


SENDING = ("notify.tell(", "notify.queue_sms(", "notify.queue_email(", "send_note(")


def test_every_message_of_the_code_has_a_row():
    """Every module that queues a message is named in the table (a new notice somewhere
    else must be added to it)."""
    root = Path(__file__).resolve().parents[3] / "mediation"
    senders = {
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if "notify" not in path.parts
        and any(call in path.read_text(encoding="utf-8") for call in SENDING)
    }
    named = {row.where for row in table.TABLE}
    assert senders - named - {"booking/notices.py", "booking/blueprint.py"} == set()
