"""Delivery channels: SMTP or the console for e-mail, a pluggable gateway for SMS."""

from __future__ import annotations

import base64
import importlib
import inspect
import json
import logging
import smtplib
import urllib.error
import urllib.request
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any, Protocol

from .models import Channel, OutboxMessage

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """The message was not accepted; it stays queued and is tried again later."""


class GatewayUnavailableError(DeliveryError):
    """The provider could not be reached, timed out or answered 5xx: not this message's
    fault. Once the provider takes a message again, the messages that waited for it this
    way are due at once (worker.deliver_once); a message the provider refused for itself
    (a 4xx: a bad number, a rejected text) keeps backing off."""


# How the outbox's ``last_error`` marks a failure of the provider, not of the message.
UNAVAILABLE = "[unavailable] "


class SmsGateway(Protocol):
    def send_sms(self, phone: str, text: str, key: str) -> None:
        """Hand one text to the provider; raise ``DeliveryError`` if it was not accepted.

        ``key`` is the same on every attempt of one message: a provider that saw it already
        must not send the text again (an answer lost after the provider took the message
        makes the outbox try again)."""


class ConsoleSmsGateway:
    """Development: print the text; the admin outbox page shows it too."""

    def send_sms(self, phone: str, text: str, key: str = "") -> None:
        print(f"[sms to {phone}] {text}", flush=True)


class HttpSmsGateway:
    """POSTs ``{"phone", "text", "id"}`` as JSON with a bearer token to an HTTP endpoint,
    ``id`` also as the ``Idempotency-Key`` header.

    Most SMS providers, or a small adapter in front of one, accept such a request; any
    answer other than 2xx counts as not delivered. The key is the outbox message's, the
    same on every attempt: the outbox delivers at least once (an answer lost on the way
    back is tried again), the provider's de-duplication by key makes it exactly once (most
    providers take such a key: a caller's serial number or "out id").
    """

    def __init__(self, url: str, token: str | None = None, timeout: float = 10.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError("the SMS gateway URL must be http:// or https://")
        self.url = url
        self.token = token
        self.timeout = timeout

    def send_sms(self, phone: str, text: str, key: str = "") -> None:
        body = json.dumps({"phone": phone, "text": text, "id": key}, ensure_ascii=False)
        request = urllib.request.Request(self.url, data=body.encode(), method="POST")  # noqa: S310
        request.add_header("Content-Type", "application/json; charset=utf-8")
        if key:
            request.add_header("Idempotency-Key", key)
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                response.read()
        except urllib.error.HTTPError as error:
            if error.code >= 500:
                raise GatewayUnavailableError(f"SMS gateway: {error}") from error
            raise DeliveryError(f"SMS gateway: {error}") from error
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise GatewayUnavailableError(f"SMS gateway: {error}") from error


class EmailSender(Protocol):
    def send_email(self, message: EmailMessage) -> None: ...


class ConsoleEmailSender:
    def send_email(self, message: EmailMessage) -> None:
        print(f"[e-mail to {message['To']}] {message['Subject']}\n{message.get_body()}", flush=True)


class SmtpEmailSender:
    def __init__(
        self,
        host: str,
        port: int = 25,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 30.0,
    ) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.username, self.password, self.starttls = username, password, starttls

    def send_email(self, message: EmailMessage) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(message)
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, OSError) as error:
            raise GatewayUnavailableError(f"SMTP: {error}") from error
        except smtplib.SMTPException as error:  # this message refused (its recipient, size)
            raise DeliveryError(f"SMTP: {error}") from error


def delivery_key(message: OutboxMessage) -> str:
    """The same for every attempt of one message, different for every message (the id is
    the outbox's, and the creation time tells two databases' message 1 apart)."""
    return f"outbox-{message.id}-{message.created_at:%Y%m%d%H%M%S%f}"


class Gateways:
    """The configured e-mail sender and SMS gateway, chosen from the app config."""

    def __init__(self, email: EmailSender, sms: SmsGateway, mail_from: str) -> None:
        self.email = email
        self.sms = sms
        self.mail_from = mail_from

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Gateways:
        if config.get("SMTP_HOST"):
            email: EmailSender = SmtpEmailSender(
                config["SMTP_HOST"],
                config["SMTP_PORT"],
                config.get("SMTP_USERNAME"),
                config.get("SMTP_PASSWORD"),
                config.get("SMTP_STARTTLS", False),
            )
        else:
            email = ConsoleEmailSender()
        return cls(email, _sms_gateway(config), config["MAIL_FROM"])

    def send(self, message: OutboxMessage) -> None:
        if message.channel == Channel.sms:
            if _takes_key(self.sms):
                self.sms.send_sms(message.recipient, message.body, key=delivery_key(message))
            else:  # a gateway written before keys: it may send a retried message twice
                self.sms.send_sms(message.recipient, message.body)
            return
        mail = EmailMessage()
        mail["From"] = self.mail_from
        mail["To"] = message.recipient
        mail["Subject"] = message.subject
        # The same on every attempt: a mail server or program that has it already drops
        # the copy an attempt whose answer was lost sends again.
        domain = self.mail_from.rpartition("@")[2].strip("> ") or "mediation.invalid"
        mail["Message-ID"] = f"<{delivery_key(message)}@{domain}>"
        mail.set_content(message.body)
        for attachment in message.attachments or []:
            maintype, _, subtype = attachment["content_type"].partition("/")
            mail.add_attachment(
                base64.b64decode(attachment["data"]),
                maintype=maintype,
                subtype=subtype,
                filename=attachment["filename"],
                # e.g. text/calendar; method=REQUEST, which mail programs need for iTIP
                params=attachment.get("params") or None,
            )
        self.email.send_email(mail)


def _takes_key(gateway: SmsGateway) -> bool:
    """Only a gateway that names ``key`` gets it: one written before keys, with a catch-all
    ``**kwargs`` it hands on to its own client, would fail on it."""
    return "key" in inspect.signature(gateway.send_sms).parameters


def _sms_gateway(config: Mapping[str, Any]) -> SmsGateway:
    name = config.get("SMS_GATEWAY", "console")
    if name == "console":
        return ConsoleSmsGateway()
    if name == "http":
        if not config.get("SMS_URL"):
            raise ValueError("MEDIATION_SMS_GATEWAY=http needs MEDIATION_SMS_URL")
        return HttpSmsGateway(config["SMS_URL"], config.get("SMS_TOKEN"))
    module_name, _, class_name = name.partition(":")
    gateway_class = getattr(importlib.import_module(module_name), class_name)
    return gateway_class(config)
