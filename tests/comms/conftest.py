"""What the notification tests share: a webhook receiver and an SMTP server started by the test, on free ports,
customers, alerts raised through the events API, and subscriptions made through the API."""

from __future__ import annotations

import email
import email.policy
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage, Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient

from riskdesk.security.permissions import Role
from tests.conftest import company_payload, free_port

Headers = Callable[[Role], dict[str, str]]
# The deliverers' clock in these tests: later than any row the run queues (rows are due when queued, by the real
# clock), so every round is at a time the test states; nothing sleeps.
T0 = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=6)


@dataclass
class Received:
    path: str
    headers: Message
    body: bytes


@dataclass
class WebhookReceiver:
    """A receiver's HTTP server: records each POST and answers with the next status of ``answers`` (then 200)."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)


@contextmanager
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """A receiver's HTTP server on a free port, in a thread, for as long as the block runs."""
    found = WebhookReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            found.requests.append(Received(self.path, self.headers, body))
            status = found.answers.pop(0) if found.answers else 200
            answer = b"ok" if status < 300 else b"database is down"
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            del format, args

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    found.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/riskdesk"
    try:
        yield found
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as found:
        yield found


@dataclass
class Mailbox:
    """What an SMTP server the test started (aiosmtpd) was given."""

    host: str = "127.0.0.1"
    port: int = 0
    envelopes: list[Any] = field(default_factory=list)

    def messages(self) -> list[EmailMessage]:
        return [email.message_from_bytes(e.original_content, policy=email.policy.default) for e in self.envelopes]


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    from aiosmtpd.controller import Controller

    box = Mailbox(port=free_port())

    class Collect:
        async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
            if address.endswith("@refused.example"):
                return "550 5.1.1 no such mailbox"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            box.envelopes.append(envelope)
            return "250 Message accepted for delivery"

    controller = Controller(Collect(), hostname=box.host, port=box.port)
    controller.start()
    yield box
    controller.stop()


@pytest.fixture
def officer(token_for: Headers) -> dict[str, str]:
    return token_for(Role.credit_officer)


@pytest.fixture
def admin(token_for: Headers) -> dict[str, str]:
    return token_for(Role.admin)


@pytest.fixture
def customer(client: TestClient, officer: dict[str, str]) -> int:
    made = client.post("/api/v1/customers", json=company_payload(name="杭州预警通知测试有限公司"), headers=officer)
    assert made.status_code == 201, made.text
    customer_id: int = made.json()["id"]
    return customer_id


def listing(customer_id: int, event_id: str = "dd-1") -> dict[str, Any]:
    """Raises ``dishonest_debtor``: critical, default candidate."""
    return {
        "event_id": event_id,
        "type": "dishonest_debtor_listed",
        "customer_id": customer_id,
        "occurred_at": "2026-03-01T09:00:00+08:00",
    }


def lawsuit(customer_id: int, event_id: str = "ls-1") -> dict[str, Any]:
    """Raises ``lawsuit_or_enforcement``: high, early warning."""
    return {
        "event_id": event_id,
        "type": "lawsuit",
        "customer_id": customer_id,
        "occurred_at": "2026-03-02T10:00:00+08:00",
        "amount": "1200.50",
        "currency": "CNY",
        "role": "defendant",
    }


def send_events(client: TestClient, headers: dict[str, str], *events: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/v1/events", json={"events": list(events)}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def subscribe(client: TestClient, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    made = client.post("/api/v1/notification-subscriptions", json={"name": "test", **fields}, headers=headers)
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


def outbox(client: TestClient, headers: dict[str, str], query: str = "") -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/notifications{query}", headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items
