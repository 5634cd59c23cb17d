"""Queue messages and deliver what is due. Queueing flushes; delivery is done by the worker."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from mediation.core.db import utcnow
from mediation.extensions import db

from .gateways import DeliveryError, Gateways
from .models import Channel, MessageStatus, OutboxMessage

CLAIM_SECONDS = 120  # longer than one SMTP or gateway call may take
MAX_BACKOFF = timedelta(hours=1)


def queue_sms(phone: str, text: str) -> OutboxMessage:
    message = OutboxMessage(channel=Channel.sms, recipient=phone, body=text)
    db.session.add(message)
    db.session.flush()
    return message


def queue_email(
    address: str, subject: str, body: str, attachments: list[dict] | None = None
) -> OutboxMessage:
    message = OutboxMessage(
        channel=Channel.email,
        recipient=address,
        subject=subject,
        body=body,
        attachments=attachments or [],
    )
    db.session.add(message)
    db.session.flush()
    return message


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at one hour: a message is never given up."""
    return min(timedelta(seconds=30 * 2 ** (attempts - 1)), MAX_BACKOFF)


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0


def _claim(now: datetime, limit: int) -> list[OutboxMessage]:
    """Take up to ``limit`` due messages for this worker and commit the claim.

    The claim is a conditional UPDATE, so two workers never take the same message;
    a claim that outlives its worker expires and the message becomes due again.
    """
    token = secrets.token_hex(8)
    due = db.session.scalars(
        select(OutboxMessage.id)
        .where(
            OutboxMessage.status == MessageStatus.queued,
            OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until <= now),
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    ).all()
    claimed = []
    for message_id in due:
        result = db.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == message_id,
                OutboxMessage.status == MessageStatus.queued,
                or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until <= now),
            )
            .values(claimed_until=now + timedelta(seconds=CLAIM_SECONDS), claim_token=token)
        )
        if result.rowcount == 1:
            claimed.append(message_id)
    db.session.commit()
    return [db.session.get(OutboxMessage, message_id) for message_id in claimed]


def deliver_due(
    gateways: Gateways, *, now: datetime | None = None, limit: int = 50
) -> DeliveryReport:
    """Send every due message once. This is an edge: it commits after each message."""
    now = now or utcnow()
    report = DeliveryReport()
    for message in _claim(now, limit):
        message.attempts += 1
        try:
            gateways.send(message)
        except DeliveryError as error:
            message.last_error = str(error)[:2000]
            message.next_attempt_at = now + backoff(message.attempts)
            report.failed += 1
        else:
            message.status = MessageStatus.sent
            message.sent_at = utcnow()
            message.last_error = ""
            report.sent += 1
        message.claimed_until = None
        message.claim_token = None
        db.session.commit()
    return report


def retry_now(message: OutboxMessage) -> None:
    """Make a queued message due at once (an administrator's 'retry')."""
    if message.status == MessageStatus.queued:
        message.next_attempt_at = utcnow()
        db.session.flush()
