"""Queue messages, claim them for delivery, record each attempt. Everything here flushes;
the worker (``worker.py``) is the edge that sends and commits."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel.speaklater import LazyString
from sqlalchemy import delete, or_, select, update

from mediation.core.db import utcnow
from mediation.core.i18n import format_day, user_zone
from mediation.extensions import db

from .gateways import UNAVAILABLE
from .models import Channel, MessageStatus, OutboxMessage

CLAIM_SECONDS = 120  # longer than one SMTP or gateway call may take
MAX_BACKOFF = timedelta(hours=1)


def queue_sms(
    phone: str, text: str, *, sensitive: bool = False, not_before: datetime | None = None
) -> OutboxMessage:
    """Queue a text message; ``sensitive`` ones (codes) are hidden and redacted once sent.
    ``not_before``: it waits until then (paced to its number: ``withdraw_waiting``)."""
    message = OutboxMessage(
        channel=Channel.sms,
        recipient=phone,
        body=text,
        sensitive=sensitive,
        next_attempt_at=not_before or utcnow(),
    )
    db.session.add(message)
    db.session.flush()
    return message


def tell(
    user: Any, message: LazyString, *, subject: LazyString | None = None, **params: Any
) -> None:
    """Queue ``message % params`` to ``user`` in their own language: by text message, and
    by e-mail too when a ``subject`` is given and they have an address. Datetimes among the
    params are written as days the one way (core.i18n.format_day), in the recipient's
    time zone."""
    with force_locale(user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        values = {
            key: format_day(value, user_zone(user))
            if isinstance(value, datetime)
            else str(value)
            if isinstance(value, LazyString)
            else value
            for key, value in params.items()
        }
        text = str(message) % values
        if user.phone:
            queue_sms(user.phone, text)
        if subject is not None and user.email:
            queue_email(user.email, str(subject) % values, text)


def queue_email(
    address: str,
    subject: str,
    body: str,
    attachments: list[dict] | None = None,
    *,
    sensitive: bool = False,
    not_before: datetime | None = None,
) -> OutboxMessage:
    message = OutboxMessage(
        channel=Channel.email,
        recipient=address,
        subject=subject,
        body=body,
        attachments=attachments or [],
        sensitive=sensitive,
        next_attempt_at=not_before or utcnow(),
    )
    db.session.add(message)
    db.session.flush()
    return message


def withdraw_waiting(recipients: list[str], carrying: str, now: datetime) -> datetime | None:
    """Messages to ``recipients`` that are waiting (due later: paced, or put off after a
    failed attempt) and whose text carries ``carrying`` (a link that just died) are taken
    back before they go; returns when the first of them would have gone, for the message
    that replaces them, or None if none was waiting. One being sent right now (a worker's
    claim on it) is left to go: the conditional DELETE does not touch it."""
    waiting = (
        delete(OutboxMessage)
        .where(
            OutboxMessage.recipient.in_(recipients),
            OutboxMessage.status == MessageStatus.queued,
            OutboxMessage.next_attempt_at > now,
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until <= now),
            OutboxMessage.body.contains(carrying, autoescape=True),
        )
        .returning(OutboxMessage.next_attempt_at)
        .execution_options(synchronize_session=False)
    )
    return min(db.session.scalars(waiting).all(), default=None)


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at one hour: a message is never given up."""
    return min(timedelta(seconds=30 * 2 ** (attempts - 1)), MAX_BACKOFF)


REDACTED = "(one-time code removed after delivery)"


def claim_next(now: datetime, token: str) -> OutboxMessage | None:
    """Claim the oldest due message for the worker holding ``token`` (flushes).

    The claim is a conditional UPDATE, so two workers never hold the same message. Each
    message gets a fresh lease just before it is sent, longer than any gateway's timeout;
    a lease left by a dead worker expires and the message becomes due again.
    """
    due = or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until <= now)
    for _ in range(10):  # another worker may take the candidate between select and update
        candidate = db.session.scalar(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.status == MessageStatus.queued,
                OutboxMessage.next_attempt_at <= now,
                due,
            )
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(1)
        )
        if candidate is None:
            return None
        taken = db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == candidate, OutboxMessage.status == MessageStatus.queued, due)
            .values(claimed_until=now + timedelta(seconds=CLAIM_SECONDS), claim_token=token)
        )
        if taken.rowcount == 1:
            return db.session.get(OutboxMessage, candidate, populate_existing=True)
    return None


def record_attempt(message: OutboxMessage, token: str, *, error: str | None, now: datetime) -> bool:
    """Store the outcome of one attempt, if the claim is still this worker's (flushes)."""
    attempts = message.attempts + 1
    if error is None:
        values = {"status": MessageStatus.sent, "sent_at": now, "last_error": ""}
        if message.sensitive:
            values["body"] = REDACTED  # the code has done its work; do not keep it
    else:
        values = {"last_error": error[:2000], "next_attempt_at": now + backoff(attempts)}
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id, OutboxMessage.claim_token == token)
        .values(attempts=attempts, claimed_until=None, claim_token=None, **values)
    )
    return result.rowcount == 1


def due_again(channel: str, now: datetime) -> int:
    """A gateway took a message: it is back. Messages of its channel that were put off
    because it was away are due now, not up to an hour later (backoff); those it refused
    for themselves keep backing off. Returns how many (flushes)."""
    result = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.channel == channel,
            OutboxMessage.status == MessageStatus.queued,
            OutboxMessage.attempts > 0,
            OutboxMessage.next_attempt_at > now,
            OutboxMessage.last_error.startswith(UNAVAILABLE, autoescape=True),
        )
        .values(next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def retry_now(message: OutboxMessage) -> None:
    """Make a queued message due at once (an administrator's 'retry')."""
    if message.status == MessageStatus.queued:
        message.next_attempt_at = utcnow()
        db.session.flush()
