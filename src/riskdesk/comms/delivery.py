"""The senders: a notification over a signed webhook (httpx) or as an e-mail over SMTP (smtplib).

A sender returns when the receiver took the notification and raises ``DeliveryFailed`` with a reason a person can
act on otherwise; it never touches the database (``deliverer.deliver_due`` records the outcome).
"""

from __future__ import annotations

import json
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any, Protocol
from urllib.parse import urlsplit

import riskdesk
from riskdesk.comms import messages, signing
from riskdesk.config import Settings


class DeliveryFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Outgoing:
    """One notification as a sender sees it; ``secret`` is the webhook's signing secret, opened."""

    delivery_id: int
    event: str
    target: str
    payload: dict[str, Any]
    secret: str | None = field(default=None, repr=False)


class Sender(Protocol):
    def send(self, message: Outgoing, *, now: datetime) -> None: ...


def webhook_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes that are signed and sent: compact JSON, keys sorted, Chinese as UTF-8."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


@dataclass(frozen=True)
class WebhookSender:
    """POST the payload as JSON; a 2xx answer is a delivery, anything else (redirects included) a failed attempt."""

    timeout_seconds: float = 10.0

    def send(self, message: Outgoing, *, now: datetime) -> None:
        import httpx  # only the deliverer needs it

        if not message.secret:
            raise DeliveryFailed("the subscription has no signing secret")
        body = webhook_body(message.payload)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": f"riskdesk/{riskdesk.__version__}",
            "X-Riskdesk-Event": message.event,
            "X-Riskdesk-Delivery": str(message.delivery_id),
            "X-Riskdesk-Signature": signing.signature_header(message.secret, body, int(now.timestamp())),
        }
        where = urlsplit(message.target).netloc
        try:
            response = httpx.post(
                message.target, content=body, headers=headers, timeout=self.timeout_seconds, follow_redirects=False
            )
        except httpx.TimeoutException:
            raise DeliveryFailed(f"{where} did not answer within {self.timeout_seconds:g} s") from None
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"cannot reach {where}: {exc.__class__.__name__}: {exc}") from None
        if not 200 <= response.status_code < 300:
            text = " ".join(response.text.split())[:300]
            raise DeliveryFailed(f"{where} answered HTTP {response.status_code}" + (f": {text}" if text else ""))


@dataclass(frozen=True)
class EmailSender:
    """A plain-text e-mail in Chinese and English, over SMTP (STARTTLS and AUTH when configured)."""

    host: str
    port: int = 587
    sender: str = "riskdesk@localhost"
    username: str = ""
    password: str = field(default="", repr=False)
    starttls: bool = True
    timeout_seconds: float = 30.0
    public_url: str = ""

    def compose(self, message: Outgoing, *, now: datetime) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.target
        mail["Subject"] = messages.alert_subject(message.payload)
        mail["Date"] = format_datetime(now)
        mail["Message-ID"] = make_msgid(idstring=f"riskdesk.{message.delivery_id}")
        mail["X-Riskdesk-Event"] = message.event
        mail["X-Riskdesk-Delivery"] = str(message.delivery_id)
        mail.set_content(messages.alert_text(message.payload, public_url=self.public_url))
        return mail

    def send(self, message: Outgoing, *, now: datetime) -> None:
        if not self.host:
            raise DeliveryFailed(
                "e-mail is not configured: set RISKDESK_SMTP_HOST (and RISKDESK_SMTP_FROM) to send e-mail"
                " notifications, then retry"
            )
        mail = self.compose(message, now=now)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_seconds) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reason = next(iter(exc.recipients.values()))
            raise DeliveryFailed(
                f"{self.host} refused {message.target}: {code} {reason.decode(errors='replace')}"
            ) from None
        except (smtplib.SMTPException, OSError) as exc:  # refused, timed out, TLS or AUTH failed: all retried
            raise DeliveryFailed(f"SMTP {self.host}:{self.port}: {exc.__class__.__name__}: {exc}") from None


def senders_from(settings: Settings) -> Mapping[str, Sender]:
    """The sender of each channel, configured by the settings (``RISKDESK_SMTP_*``, ``RISKDESK_WEBHOOK_*``)."""
    return {
        "webhook": WebhookSender(timeout_seconds=settings.webhook_timeout_seconds),
        "email": EmailSender(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value(),
            starttls=settings.smtp_starttls,
            timeout_seconds=settings.smtp_timeout_seconds,
            public_url=settings.public_url,
        ),
    }
