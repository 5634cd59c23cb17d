"""The outbox worker: a loop for ``mediation worker`` and a thread for the embedded run."""

from __future__ import annotations

import logging
import threading

from flask import Flask

from mediation.extensions import db

from .gateways import Gateways
from .operations import DeliveryReport, deliver_due

log = logging.getLogger(__name__)


def deliver_once(app: Flask) -> DeliveryReport:
    with app.app_context():
        try:
            return deliver_due(Gateways.from_config(app.config), limit=app.config["OUTBOX_BATCH"])
        finally:
            db.session.remove()


def run_loop(app: Flask, stop: threading.Event) -> None:
    """Deliver due messages every ``OUTBOX_POLL_SECONDS`` until ``stop`` is set."""
    interval = app.config["OUTBOX_POLL_SECONDS"]
    while not stop.is_set():
        try:
            report = deliver_once(app)
            if report.sent or report.failed:
                log.info("outbox: %d sent, %d failed", report.sent, report.failed)
        except Exception:  # a broken database must not kill the worker; it tries again
            log.exception("outbox delivery failed")
        stop.wait(interval)


def start_thread(app: Flask) -> threading.Event:
    """Run the loop in a daemon thread of this process; set the returned event to stop it."""
    stop = threading.Event()
    threading.Thread(target=run_loop, args=(app, stop), name="outbox", daemon=True).start()
    return stop
