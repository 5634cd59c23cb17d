"""Outbox delivery: the edge that sends due messages and commits (run by ``mediation.worker``)."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime

from flask import Flask

from mediation.core.db import utcnow
from mediation.extensions import db

from . import operations as ops
from .gateways import UNAVAILABLE, DeliveryError, Gateways, GatewayUnavailableError

log = logging.getLogger(__name__)


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0


def deliver_due(
    gateways: Gateways, *, now: datetime | None = None, limit: int = 50
) -> DeliveryReport:
    """Send up to ``limit`` due messages, one claim at a time, committing after each step.

    ``now`` pins the clock (tests); otherwise each claim and result uses the current time.
    """
    token = secrets.token_hex(8)
    report = DeliveryReport()
    back: set[str] = set()  # channels whose gateway took a message in this round
    for _ in range(limit):
        message = ops.claim_next(now or utcnow(), token)
        db.session.commit()  # the claim is visible to other workers before sending
        if message is None:
            break
        try:
            gateways.send(message)
            error = None
        except GatewayUnavailableError as failure:
            error = f"{UNAVAILABLE}{failure}"
        except DeliveryError as failure:
            error = str(failure)
        except Exception as failure:  # a bug in one message must not stall the queue
            log.exception("outbox message %s could not be sent", message.id)
            error = f"{type(failure).__name__}: {failure}"
        if not ops.record_attempt(message, token, error=error, now=now or utcnow()):
            log.warning("outbox message %s: claim expired while sending", message.id)
        if error is None and message.channel not in back:
            back.add(message.channel)  # once a round: what waited for the gateway goes now
            ops.due_again(message.channel, now or utcnow())
        db.session.commit()
        if error is None:
            report.sent += 1
        else:
            report.failed += 1
    return report


def deliver_once(app: Flask) -> DeliveryReport:
    with app.app_context():
        try:
            return deliver_due(Gateways.from_config(app.config), limit=app.config["OUTBOX_BATCH"])
        finally:
            db.session.remove()
