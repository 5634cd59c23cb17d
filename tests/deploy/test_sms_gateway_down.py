"""A fault a production installation meets (issue 19, item 5), with what it must not lose:
the SMS gateway down for an hour. A real HTTP server on the loopback first refuses
connections, then answers 503, then loses one answer after taking the message; the
outbox's clock is pinned and moved on through the hour. Every message waits, goes once the
gateway is back, and reaches its phone exactly once (docs/deployment.md, "Faults"; the
other faults: test_recorder_disk_full.py, test_faults.py).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import func, select

from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.notify import operations as outbox
from mediation.notify.gateways import HttpSmsGateway, delivery_key
from mediation.notify.models import MessageStatus, OutboxMessage
from mediation.notify.worker import deliver_due


class SmsProvider:
    """An SMS provider on the loopback, as a real one behaves: it de-duplicates by the
    caller's key (what reaches phones is ``handed``), and it can be down (nothing listens:
    connections refused), busy (503), or lose its answer after taking a message."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.handed: list[dict] = []  # what went to phones
        self.busy = False
        self.lose_answer_of: int | None = None  # the request (counted from 1) whose answer is lost
        self.refused: set[str] = set()  # numbers it answers 400 (a bad number, say)
        self.server: ThreadingHTTPServer | None = None
        self.port = 0
        self.up()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/send"

    def up(self) -> None:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                key = self.headers.get("Idempotency-Key")
                provider.requests.append({**body, "key": key})
                if provider.busy or body["phone"] in provider.refused:
                    self.send_response(400 if body["phone"] in provider.refused else 503)
                    self.end_headers()
                    return
                if key not in {m["key"] for m in provider.handed}:
                    provider.handed.append({**body, "key": key})
                if len(provider.requests) == provider.lose_answer_of:
                    self.close_connection = True  # taken, but no answer comes back
                    return
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            def log_message(self, *args):
                pass

        # The same port again after a stop (HTTPServer sets SO_REUSEADDR).
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self) -> None:
        self.server.shutdown()
        self.server.server_close()  # nothing listens: connections are refused


def test_the_sms_gateway_down_for_an_hour_loses_no_message_and_sends_none_twice(app_ctx):
    provider = SmsProvider()
    gateways = gateways_with(app_ctx, provider.url)
    start = utcnow()
    queued = [
        outbox.queue_sms("+8613800138001", "【在线调解】验证码 481516", sensitive=True),
        outbox.queue_sms("+8613800138002", "【在线调解】您的案件已受理"),
        outbox.queue_sms("+8613800138003", "【在线调解】调解会议明天上午九时开始"),
    ]
    db.session.commit()
    before = db.session.scalar(select(func.count()).select_from(OutboxMessage))
    texts = {delivery_key(m): (m.recipient, m.body) for m in queued}

    # The first half hour nothing listens; the second it answers 503. The worker polls
    # every minute of the pinned clock; a message is queued in the middle of the outage.
    provider.down()
    for minute in range(60):
        if minute == 30:
            provider.up()
            provider.busy = True
        if minute == 20:
            late = outbox.queue_sms("+8613800138004", "【在线调解】对方已同意调解")
            db.session.commit()
            queued.append(late)
            texts[delivery_key(late)] = (late.recipient, late.body)
        report = deliver_due(gateways, now=start + timedelta(minutes=minute))
        assert report.sent == 0
    statuses = db.session.execute(select(OutboxMessage.status, OutboxMessage.attempts)).all()
    assert {status for status, _ in statuses} == {MessageStatus.queued}  # none given up
    assert all(attempts >= 5 for _, attempts in statuses), statuses
    assert provider.handed == []

    # Back at the hour, and the second answer after it is lost. A party asks for a code: it
    # goes at once, and what waited goes with it, not an hour of back-off later.
    provider.busy = False
    provider.lose_answer_of = len(provider.requests) + 2
    fresh = outbox.queue_sms("+8613800138005", "【在线调解】验证码 230842", sensitive=True)
    db.session.commit()
    queued.append(fresh)
    texts[delivery_key(fresh)] = (fresh.recipient, fresh.body)
    recovered = start + timedelta(minutes=60)
    mark = len(provider.requests)
    report = deliver_due(gateways, now=recovered)
    assert (report.sent, report.failed) == (len(queued) - 1, 1)
    # The message whose answer was lost goes again after its back-off, with its key.
    deliver_due(gateways, now=recovered + timedelta(hours=1, minutes=1))
    provider.down()

    # Nothing lost, nothing twice: every message sent once in the outbox, every key handed
    # to a phone once, with its text; the one retried after the lost answer reached the
    # provider twice with the same key and the phone once.
    after = db.session.execute(select(OutboxMessage)).scalars().all()
    assert len(after) == before + 2 == len(queued)
    assert {m.status for m in after} == {MessageStatus.sent}
    assert Counter(m["key"] for m in provider.handed) == Counter(dict.fromkeys(texts, 1))
    assert {m["key"]: (m["phone"], m["text"]) for m in provider.handed} == texts
    tried = Counter(r["key"] for r in provider.requests[mark:])
    assert sorted(tried.values()) == [1] * (len(queued) - 1) + [2], tried
    assert all(m.body == outbox.REDACTED for m in after if m.sensitive)


def test_a_message_the_provider_refuses_keeps_backing_off_when_it_is_back(app_ctx):
    """Once the provider takes a message again, what waited for it goes at once; a message
    it refused for itself (400) is not sent again every few seconds."""
    provider = SmsProvider()
    gateways = gateways_with(app_ctx, provider.url)
    provider.busy, provider.refused = True, {"+8613800138009"}
    start = utcnow()
    waiting = outbox.queue_sms("+8613800138001", "【在线调解】您的案件已受理")
    refused = outbox.queue_sms("+8613800138009", "【在线调解】您的案件已受理")
    db.session.commit()
    for minute in (0, 1, 3, 7):  # both fail four times: the next tries are 4 minutes off
        deliver_due(gateways, now=start + timedelta(minutes=minute))
    db.session.refresh(refused)
    refused_at = refused.next_attempt_at
    tries = [r["phone"] for r in provider.requests].count("+8613800138009")
    provider.busy = False
    outbox.queue_sms("+8613800138002", "【在线调解】对方已同意调解")
    db.session.commit()
    deliver_due(gateways, now=start + timedelta(minutes=8))  # the new one goes: it is back
    db.session.refresh(waiting)
    db.session.refresh(refused)
    assert waiting.status == MessageStatus.sent  # waited for the provider: sent with it
    assert refused.status == MessageStatus.queued and refused.next_attempt_at == refused_at
    assert [r["phone"] for r in provider.requests].count("+8613800138009") == tries
    provider.down()


def gateways_with(app, url: str):
    from mediation.notify.gateways import Gateways

    gateways = Gateways.from_config({**app.config, "SMS_GATEWAY": "http", "SMS_URL": url})
    assert isinstance(gateways.sms, HttpSmsGateway)
    return gateways
