"""Who is told what: every step of a case, a booking, the room, the minutes, the agreement
and the court application, and whom it tells by which channel (issue #16, item 3).

This is the one list of the platform's notices, :data:`TABLE`, its rows kept by the part of
a dispute's life they belong to: ``before_a_case.py`` (accounts, consultation, reception
days), ``cases.py`` (the case and its clocks; governance's early warnings), ``sessions.py``
(booking, the room, the minutes) and ``agreement.py`` (signing, the court, follow-up); what
a row says is in ``notice.py``. ``docs/notifications.md`` is made from it
(``python -m mediation.notify.table > docs/notifications.md``; a test checks they agree), and
``tests/notify/table/`` performs every step through the real operations and checks that the
outbox got exactly these messages to exactly these people. The messages themselves
are sent by the module named in ``where`` (a lower feature cannot import a higher one, so
each feature sends its own; the case's state changes are told from one receiver of
``cases.signals.status_changed``, ``mediation/cases/notices.py``).

Channels:
  sms   - a text message to the person's phone;
  both  - a text message, and an e-mail too when the person gave an address;
  email - an e-mail only;
  none  - nobody is told, and ``why`` says why.
"""

from __future__ import annotations

from . import agreement, before_a_case, cases, sessions
from .notice import AUDIENCES, CHANNELS, STAGES, Notice

__all__ = ["AUDIENCES", "CHANNELS", "STAGES", "TABLE", "Notice", "as_markdown", "events", "rows_of"]

TABLE: tuple[Notice, ...] = (*before_a_case.ROWS, *cases.ROWS, *sessions.ROWS, *agreement.ROWS)


def events() -> list[str]:
    """Each step once, in the table's order."""
    return list(dict.fromkeys(row.event for row in TABLE))


def rows_of(event: str) -> list[Notice]:
    return [row for row in TABLE if row.event == event]


LABELS = {"sms": "SMS", "both": "SMS + e-mail", "email": "e-mail", "none": "none"}


def as_markdown() -> str:
    lines = [
        "# Who is told what",
        "",
        "Made from `mediation/notify/table/` (`python -m mediation.notify.table > "
        "docs/notifications.md`); `tests/notify/table/` performs every step and checks "
        "the outbox got exactly these messages, to exactly these people.",
        "",
        "*SMS + e-mail*: a text message, and an e-mail too when the person gave an address "
        "(booking e-mails carry the calendar invitation). Codes are removed from the outbox "
        "once delivered.",
        "",
        "*art N*: the SPC's rules on online mediation (人民法院在线调解规则); *PML*: the "
        "People's Mediation Law; *CPL*: the Civil Procedure Law.",
    ]
    for stage in STAGES:
        lines += [
            "",
            f"## {stage.capitalize()}",
            "",
            "| Step | Who is told | Channel | Sent by | Why |",
            "|---|---|---|---|---|",
        ]
        for row in TABLE:
            if row.stage == stage:
                lines.append(
                    f"| {row.event} | {AUDIENCES[row.audience]} | {LABELS[row.channel]} "
                    f"| `{row.where}` | {row.why} |"
                )
    return "\n".join(lines) + "\n"
