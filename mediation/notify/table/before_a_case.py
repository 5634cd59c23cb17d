"""Rows of the notification table (:mod:`mediation.notify.table`) for what comes before a
case: an account's codes, a question to the region's experts (consultation) and a talk
booked on a reception day."""

from __future__ import annotations

from .notice import Notice

N = Notice
ROWS: tuple[Notice, ...] = (
    # Accounts: codes prove a number; a note instead of a code protects who has an account.
    N(
        "account",
        "one-time code asked for",
        "the person",
        "sms",
        "accounts/codes.py",
        "sent to the number (or address) being proven; removed from the outbox once delivered",
    ),
    N(
        "account",
        "registration on a number that has an account",
        "owner",
        "sms",
        "accounts/registration.py",
        "paced like a code, so it cannot flood the number",
    ),
    # Consultation: a question to the region's experts, answered in writing in a stated time.
    N(
        "consultation",
        "question asked",
        "experts",
        "sms",
        "consultation/notices.py",
        "with the time the answer is due and a link to the question",
    ),
    N(
        "consultation",
        "question answered",
        "asker",
        "sms",
        "consultation/notices.py",
        "the answer itself is read behind the asker's personal link",
    ),
    N(
        "consultation",
        "question not answered in time",
        "region admins",
        "sms",
        "consultation/notices.py",
        "once, by the worker, when the stated time has passed",
    ),
    N(
        "consultation",
        "question not answered in time",
        "experts",
        "sms",
        "consultation/notices.py",
        "the other experts of the pool may answer it",
    ),
    N(
        "consultation",
        "question given back by its expert",
        "experts",
        "sms",
        "consultation/notices.py",
        "as when it was asked; not the expert who gave it back, nor one it was taken from",
    ),
    N(
        "consultation",
        "late question taken over by another expert",
        "withdrawn expert",
        "sms",
        "consultation/notices.py",
        "they no longer answer it; its page says so if they open it",
    ),
    N(
        "consultation",
        "late question put back in the pool",
        "withdrawn expert",
        "sms",
        "consultation/notices.py",
        "by the region's administrator; they no longer answer it",
    ),
    N(
        "consultation",
        "late question put back in the pool",
        "experts",
        "sms",
        "consultation/notices.py",
        "as when it was asked, with the time stated, now passed",
    ),
    N(
        "consultation",
        "question turned into a case",
        "nobody",
        "none",
        "consultation/operations.py",
        "the asker took the step; the draft is theirs until they submit it",
    ),
    # Reception days: a talk booked in a host's public reception hours (reception/).
    N(
        "reception",
        "reception talk booked",
        "booker",
        "sms",
        "reception/notices.py",
        "with the day, time and place",
    ),
    N(
        "reception",
        "reception talk cancelled",
        "nobody",
        "none",
        "reception/operations.py",
        "the booker took the step; the host's reception list shows it",
    ),
    N(
        "reception",
        "reception talk turned into a case",
        "booker",
        "sms",
        "reception/notices.py",
        "the draft is the party's to check and submit (PML art 17: the party applies)",
    ),
    N(
        "reception",
        "reception talk kept as a consultation answer",
        "booker",
        "sms",
        "consultation/notices.py",
        "as a written answer: read behind the asker's personal link",
    ),
)
del N
