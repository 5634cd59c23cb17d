"""The outbox keeps every message until a gateway accepts it."""

import json
import socket
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from mediation.accounts.models import Role
from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.notify import operations as outbox
from mediation.notify.gateways import Gateways, HttpSmsGateway, SmtpEmailSender
from mediation.notify.models import MessageStatus, OutboxMessage
from mediation.notify.worker import deliver_due
from tests.conftest import login, post_form
from tests.factories import PASSWORD, make_user


class SmsProvider:
    """A real HTTP server on the loopback that refuses the first ``fail`` requests."""

    def __init__(self, fail: int) -> None:
        self.fail = fail
        self.received: list[dict] = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                provider.received.append({**body, "auth": self.headers.get("Authorization")})
                ok = len(provider.received) > provider.fail
                self.send_response(200 if ok else 503)
                self.end_headers()
                self.wfile.write(b'{"ok": true}' if ok else b"busy")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/send"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def provider():
    provider = SmsProvider(fail=1)
    yield provider
    provider.close()


class Mailbox:
    def __init__(self) -> None:
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_server():
    mailbox = Mailbox()
    with socket.socket() as probe:  # aiosmtpd needs a concrete port: take a free one
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield controller, mailbox
    controller.stop()


def gateways_for(app, provider_url: str, smtp_port: int = 1) -> Gateways:
    config = {**app.config, "SMS_GATEWAY": "http", "SMS_URL": provider_url, "SMS_TOKEN": "t0k"}
    config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_port)
    return Gateways.from_config(config)


def test_a_failed_sms_stays_queued_and_goes_on_the_next_attempt(app_ctx, provider):
    gateways = gateways_for(app_ctx, provider.url)
    assert isinstance(gateways.sms, HttpSmsGateway)
    message = outbox.queue_sms("+8613800138000", "【在线调解】验证码123456")
    db.session.commit()
    now = utcnow()

    report = deliver_due(gateways, now=now)
    assert (report.sent, report.failed) == (0, 1)
    db.session.refresh(message)
    assert message.status == MessageStatus.queued
    assert message.attempts == 1
    assert "503" in message.last_error
    assert message.next_attempt_at == now + timedelta(seconds=30)

    # Not due yet: nothing is sent before the back-off has passed.
    assert deliver_due(gateways, now=now + timedelta(seconds=10)).sent == 0
    report = deliver_due(gateways, now=now + timedelta(seconds=31))
    assert report.sent == 1
    db.session.refresh(message)
    assert message.status == MessageStatus.sent and message.sent_at is not None
    assert message.last_error == ""
    assert [r["text"] for r in provider.received] == ["【在线调解】验证码123456"] * 2
    assert provider.received[-1]["auth"] == "Bearer t0k"


def test_an_unreachable_gateway_keeps_the_message(app_ctx):
    # Port 1 on the loopback refuses connections at once.
    gateways = gateways_for(app_ctx, "http://127.0.0.1:1/send")
    message = outbox.queue_sms("+8613800138000", "text")
    db.session.commit()
    for attempt in range(1, 4):
        deliver_due(gateways, now=utcnow() + timedelta(hours=attempt))
        db.session.refresh(message)
        assert message.status == MessageStatus.queued and message.attempts == attempt


def test_email_goes_through_smtp_with_attachments(app_ctx, provider, smtp_server):
    controller, mailbox = smtp_server
    gateways = gateways_for(app_ctx, provider.url, smtp_port=controller.port)
    assert isinstance(gateways.email, SmtpEmailSender)
    ics = {
        "filename": "session.ics",
        "content_type": "text/calendar",
        "data": "QkVHSU46VkNBTEVOREFS",
    }
    outbox.queue_email("party@example.cn", "调解会议通知", "请按时参加。", attachments=[ics])
    db.session.commit()
    assert deliver_due(gateways).sent == 1
    assert len(mailbox.messages) == 1
    raw = mailbox.messages[0].content.decode()
    assert "party@example.cn" in mailbox.messages[0].rcpt_tos
    assert "session.ics" in raw and "text/calendar" in raw


def test_an_smtp_failure_keeps_the_email(app_ctx, provider):
    gateways = gateways_for(app_ctx, provider.url, smtp_port=1)
    message = outbox.queue_email("party@example.cn", "subject", "body")
    db.session.commit()
    assert deliver_due(gateways).failed == 1
    db.session.refresh(message)
    assert message.status == MessageStatus.queued and "SMTP" in message.last_error


def test_two_workers_never_send_the_same_message(app, provider):
    provider.fail = 0
    with app.app_context():
        for n in range(20):
            outbox.queue_sms("+8613800138000", f"message {n}")
        db.session.commit()
    gateways = gateways_for(app, provider.url)
    barrier = threading.Barrier(2)
    errors = []

    def work():
        try:
            with app.app_context():
                barrier.wait()
                for _ in range(5):
                    deliver_due(gateways, limit=4)
                db.session.remove()
        except Exception as error:  # reported below: a thread's exception is otherwise lost
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    texts = sorted(r["text"] for r in provider.received)
    assert texts == sorted(f"message {n}" for n in range(20))  # each exactly once
    with app.app_context():
        statuses = db.session.scalars(select(OutboxMessage.status)).all()
        assert set(statuses) == {MessageStatus.sent}


def test_a_claim_left_by_a_dead_worker_expires(app_ctx, provider):
    provider.fail = 0
    gateways = gateways_for(app_ctx, provider.url)
    message = outbox.queue_sms("+8613800138000", "text")
    message.claimed_until = utcnow() + timedelta(seconds=outbox.CLAIM_SECONDS)
    message.claim_token = "dead-worker"
    db.session.commit()
    assert deliver_due(gateways).sent == 0
    later = utcnow() + timedelta(seconds=outbox.CLAIM_SECONDS + 1)
    assert deliver_due(gateways, now=later).sent == 1


def test_the_admin_outbox_page_lists_messages_and_retries(app, client):
    with app.app_context():
        admin = make_user(Role.platform_admin).phone
        message = outbox.queue_sms("+8613800138000", "【在线调解】请于明日参加调解")
        message.next_attempt_at = utcnow() + timedelta(hours=1)
        outbox.queue_sms("+8613800138001", "【在线调解】验证码 654321", sensitive=True)
        db.session.commit()
        message_id = message.id
    login(client, admin, PASSWORD)
    page = client.get("/admin/outbox/").get_data(as_text=True)
    assert "【在线调解】请于明日参加调解" in page and "待发送" in page
    assert "654321" not in page  # codes are never shown, not even to administrators
    response = post_form(
        client, f"/admin/outbox/{message_id}/retry", {}, form_page="/admin/outbox/"
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(OutboxMessage, message_id).next_attempt_at <= utcnow()


def test_a_code_is_removed_from_the_outbox_once_delivered(app_ctx, provider):
    provider.fail = 0
    message = outbox.queue_sms("+8613800138000", "验证码 654321", sensitive=True)
    db.session.commit()
    assert deliver_due(gateways_for(app_ctx, provider.url)).sent == 1
    db.session.refresh(message)
    assert "654321" not in message.body
    assert provider.received[0]["text"] == "验证码 654321"


def test_a_message_that_breaks_the_sender_does_not_block_the_others(app_ctx, provider):
    provider.fail = 0
    bad_attachment = {"filename": "x", "content_type": "bad", "data": "!"}
    broken = outbox.queue_email("a@example.cn", "s", "b", [bad_attachment])
    fine = outbox.queue_sms("+8613800138000", "text")
    db.session.commit()
    gateways = gateways_for(app_ctx, provider.url)
    for minutes in (0, 5, 60):
        deliver_due(gateways, now=utcnow() + timedelta(minutes=minutes))
    db.session.refresh(broken)
    db.session.refresh(fine)
    assert fine.status == MessageStatus.sent
    assert broken.status == MessageStatus.queued and broken.attempts >= 2
    assert broken.last_error


def test_a_worker_whose_claim_expired_does_not_overwrite_the_new_holder(app_ctx):
    message = outbox.queue_sms("+8613800138000", "text")
    db.session.commit()
    now = utcnow()
    assert outbox.claim_next(now, "slow-worker").id == message.id
    later = now + timedelta(seconds=outbox.CLAIM_SECONDS + 1)
    assert outbox.claim_next(later, "second-worker").id == message.id
    assert outbox.record_attempt(message, "second-worker", error=None, now=later)
    db.session.commit()
    # The stalled worker wakes up with a failure: its stale claim changes nothing.
    assert not outbox.record_attempt(message, "slow-worker", error="timeout", now=later)
    db.session.refresh(message)
    assert message.status == MessageStatus.sent and message.attempts == 1
