"""The outbox, on SQLite and PostgreSQL: an alert queues one notification per subscription that wants it, in the
alert's own transaction (a redelivered event queues none, a rolled-back batch leaves none), subscriptions checked
and managed by admins only, the page in both languages, and the ``riskdesk notifications`` commands."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from riskdesk import events
from riskdesk.audit.models import AuditEntry
from riskdesk.audit.service import Actor
from riskdesk.bootstrap import Container
from riskdesk.cli.main import app
from riskdesk.comms import service
from riskdesk.comms.models import Notification, NotificationSubscription
from riskdesk.monitoring import intake
from riskdesk.monitoring.models import Alert
from riskdesk.security.crypto import KeyRing, generate_key
from riskdesk.security.permissions import Role
from riskdesk.web import i18n, templating
from tests.comms.conftest import (
    Headers,
    WebhookReceiver,
    lawsuit,
    listing,
    outbox,
    send_events,
    subscribe,
)
from tests.conftest import csrf_of, individual_payload


def test_an_alert_queues_one_notification_per_subscription_that_wants_it_and_a_redelivery_none(
    client: TestClient, admin: dict[str, str], officer: dict[str, str], customer: int
) -> None:
    critical_hook = subscribe(
        client, admin, channel="webhook", target="https://erp.example/hooks/a", min_severity="critical"
    )
    early_mail = subscribe(
        client, admin, channel="email", target="early@example.com", min_severity="high", tiers=["early_warning"]
    )
    idle = subscribe(client, admin, channel="webhook", target="https://erp.example/hooks/idle", min_severity="low")
    every_mail = subscribe(client, admin, channel="email", target="all@example.com", min_severity="low")
    off = client.patch(f"/api/v1/notification-subscriptions/{idle['id']}", json={"active": False}, headers=admin)
    assert off.status_code == 200 and off.json()["active"] is False

    assert send_events(client, officer, listing(customer))["alerts"] == 1  # critical, default candidate
    assert sorted(n["subscription_id"] for n in outbox(client, admin)) == [critical_hook["id"], every_mail["id"]]
    again = send_events(client, officer, listing(customer))
    assert again["duplicates"] == 1 and len(outbox(client, admin)) == 2
    send_events(client, officer, lawsuit(customer))  # high, early warning
    rows = outbox(client, admin)
    assert len(rows) == 4
    lawsuit_alert = max(n["alert_id"] for n in rows)
    assert sorted(n["subscription_id"] for n in rows if n["alert_id"] == lawsuit_alert) == [
        early_mail["id"],
        every_mail["id"],
    ]
    assert len(outbox(client, admin, f"?alert_id={lawsuit_alert}")) == 2
    assert [n["id"] for n in outbox(client, admin, "?limit=1&offset=1")] == [rows[1]["id"]]


def test_an_alert_in_a_batch_that_rolls_back_leaves_no_notification(
    client: TestClient, container: Container, admin: dict[str, str], customer: int
) -> None:
    subscribe(client, admin, channel="email", target="all@example.com", min_severity="low")
    with container.session_factory() as session:
        result = intake.ingest(session, events=[listing(customer)], actor=Actor("test"), policy=container.credit_policy)
        container.dispatch_events(session)
        assert result.alerts == 1
        assert session.scalar(select(func.count()).select_from(Notification)) == 1  # queued inside the batch …
        session.rollback()  # … which then fails
    with container.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 0
        assert session.scalar(select(func.count()).select_from(Notification)) == 0


def test_an_alert_rolled_back_in_its_savepoint_queues_nothing(
    client: TestClient, container: Container, admin: dict[str, str], customer: int
) -> None:
    """The event recorded for an alert whose savepoint rolled back names an alert that is not there."""
    subscribe(client, admin, channel="email", target="all@example.com", min_severity="low")
    with container.session_factory() as session:
        gone = events.AlertRaised(999, customer_id=customer, rule_id="dishonest_debtor", severity="high", tier="watch")
        assert service.enqueue_alerts(session, raised=[gone]) == 0


def test_an_individuals_name_leaves_the_desk_masked(
    client: TestClient, admin: dict[str, str], officer: dict[str, str]
) -> None:
    person = client.post("/api/v1/customers", json=individual_payload(name="李娜娜"), headers=officer).json()
    subscribe(client, admin, channel="email", target="all@example.com", min_severity="low")
    send_events(client, officer, listing(person["id"]))
    [row] = outbox(client, admin)
    assert row["payload"]["customer"] == {"id": person["id"], "kind": "individual", "name": "李**"}


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"channel": "webhook", "target": "ftp://erp.example/hook"}, "target", "is not an http(s) URL"),
        ({"channel": "webhook", "target": "erp.example/hook"}, "target", "is not an http(s) URL"),
        ({"channel": "webhook", "target": "https://u:pw@erp.example/hook"}, "target", "must not carry a user"),
        ({"channel": "webhook", "target": "https://erp.example:99999/"}, "target", "has an invalid port"),
        ({"channel": "email", "target": "risk.team"}, "target", "is not an e-mail address"),
        ({"channel": "email", "target": "risk@localhost"}, "target", "is not an e-mail address"),
        ({"channel": "email", "target": "a@example.com\nBcc: all@example.com"}, "target", "without spaces or line"),
        ({"channel": "email", "target": "a@example.com", "min_severity": "urgent"}, "min_severity", "Input should be"),
        ({"channel": "email", "target": "a@example.com", "tiers": ["someday"]}, "tiers.0", "Input should be"),
        ({"channel": "sms", "target": "13912345678"}, "channel", "Input should be"),
        ({"channel": "email", "target": "a@example.com", "secret": "mine"}, "secret", "unknown field"),
    ],
)
def test_a_subscription_with_a_bad_target_or_severity_is_refused_saying_why(
    client: TestClient, admin: dict[str, str], body: dict[str, object], field: str, reason: str
) -> None:
    refused = client.post("/api/v1/notification-subscriptions", json={"name": "x", **body}, headers=admin)
    assert refused.status_code == 422, refused.text
    [detail] = refused.json()["details"]
    assert detail["field"] == field and reason in detail["reason"], detail
    assert client.get("/api/v1/notification-subscriptions", headers=admin).json()["items"] == []


def test_only_an_admin_manages_subscriptions_and_every_change_is_in_the_ledger(
    client: TestClient, container: Container, token_for: Headers, admin: dict[str, str]
) -> None:
    analyst = token_for(Role.analyst)
    body = {"name": "risk team", "channel": "email", "target": "risk@example.com"}
    assert client.post("/api/v1/notification-subscriptions", json=body, headers=analyst).status_code == 403
    made = subscribe(client, admin, **body)
    assert made["min_severity"] == "high" and made["tiers"] == [] and "secret" not in made
    assert (
        client.patch(
            f"/api/v1/notification-subscriptions/{made['id']}", json={"active": False}, headers=analyst
        ).status_code
        == 403
    )
    changed = client.patch(
        f"/api/v1/notification-subscriptions/{made['id']}",
        json={"min_severity": "medium", "tiers": ["default_candidate", "watch"]},
        headers=admin,
    )
    assert changed.json()["min_severity"] == "medium" and changed.json()["tiers"] == ["watch", "default_candidate"]
    assert client.patch("/api/v1/notification-subscriptions/999", json={}, headers=admin).status_code == 404
    assert [s["name"] for s in client.get("/api/v1/notification-subscriptions", headers=analyst).json()["items"]] == [
        "risk team"
    ]
    with container.session_factory() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.entity_type == "notification_subscription")
        ).all()
    assert actions == ["notification_subscription.created", "notification_subscription.changed"]


def test_webhook_secrets_are_sealed_and_follow_a_key_rotation(
    client: TestClient, container: Container, admin: dict[str, str]
) -> None:
    made = subscribe(client, admin, channel="webhook", target="https://erp.example/hooks/a")
    with container.session_factory() as session:
        stored = session.get(NotificationSubscription, made["id"])
        assert stored is not None and stored.secret_enc and made["secret"] not in stored.secret_enc
        old = container.keyring
        rotated = KeyRing(
            {**old.keys, "k2": KeyRing.from_settings({"k2": generate_key()}, "k2", "x").keys["k2"]},
            "k2",
            old.blind_index_key,
        )
        assert service.reseal_secrets(session, keyring=rotated) == 1
        assert rotated.decrypt(stored.secret_enc, context=service.SECRET_CONTEXT) == made["secret"]
        assert service.reseal_secrets(session, keyring=rotated) == 0


def test_the_page_shows_the_outbox_in_both_languages_and_an_admin_adds_retries_and_deactivates(
    desk: Callable[[Role], TestClient],
    container: Container,
    officer: dict[str, str],
    customer: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    missing: set[str] = set()

    def recording(text: str, lang: str) -> str:
        if lang == "zh" and text not in i18n.ZH:
            missing.add(text)
        return i18n.translate(text, lang)

    monkeypatch.setattr(templating, "translate", recording)
    client = desk(Role.admin)
    client.cookies.set("rd_lang", "zh")
    empty = client.get("/notifications")
    assert empty.status_code == 200 and "尚无订阅" in empty.text and 'href="/notifications"' in empty.text
    form = {"csrf_token": csrf_of(empty.text), "name": "ERP", "channel": "webhook", "min_severity": "high"}
    refused = client.post("/notifications/subscriptions", data=form | {"target": "erp.example"})
    assert refused.status_code == 422 and "is not an http(s) URL" in refused.text
    made = client.post(
        "/notifications/subscriptions",
        data=form | {"target": "http://127.0.0.1:9/hook", "tiers": ["watch", "default_candidate"]},
    )
    assert made.status_code == 200 and "请立即复制此签名密钥" in made.text
    assert re.search(r'data-testid="new-secret">whsec_[\w-]+<', made.text)
    assert "违约候选" in made.text and "关注" in made.text
    send_events(client, officer, listing(customer))
    container.deliver_notifications(now=None)
    page = client.get("/notifications?status=failed")
    assert "没有匹配的通知" in page.text  # one failed attempt: still pending
    page = client.get("/notifications")
    assert 'class="failed"' not in page.text and "cannot reach 127.0.0.1:9" in page.text and "重试" in page.text
    row_id = re.search(r'data-notification="(\d+)"', page.text)
    assert row_id
    partial = client.post(
        f"/notifications/{row_id.group(1)}/retry",
        data={"csrf_token": csrf_of(page.text)},
        headers={"HX-Request": "true"},
    )
    assert partial.status_code == 200 and partial.text.lstrip().startswith("<tr") and "已重新排队" in partial.text
    client.cookies.set("rd_lang", "en")
    english = client.get("/notifications")
    assert "Notifications" in english.text and "Pending" in english.text and "Deactivate" in english.text
    [subscription_id] = re.findall(r'data-subscription="(\d+)"', english.text)
    off = client.post(
        f"/notifications/subscriptions/{subscription_id}",
        data={"csrf_token": csrf_of(english.text), "active": "0"},
        follow_redirects=False,
    )
    assert off.status_code == 303
    assert "Activate" in client.get("/notifications").text
    refused_retry = client.post(
        f"/notifications/{row_id.group(1)}/retry",
        data={"csrf_token": csrf_of(english.text)},
        headers={"HX-Request": "true"},
    )
    assert "is inactive; activate it, then retry" in refused_retry.text
    assert missing == set()

    analyst = desk(Role.analyst)
    seen = analyst.get("/notifications")
    assert seen.status_code == 200 and "Retry" not in seen.text and "Add subscription" not in seen.text


def test_events_ingested_from_a_file_are_notified_and_the_commands_deliver_list_and_retry(
    run: CliRunner,
    client: TestClient,
    admin: dict[str, str],
    customer: int,
    receiver: WebhookReceiver,
    tmp_path: Path,
) -> None:
    subscribe(client, admin, channel="webhook", target=receiver.url, min_severity="low")
    lines = tmp_path / "events.jsonl"
    lines.write_text(json.dumps(listing(customer)) + "\n", encoding="utf-8")
    assert run.invoke(app, ["events", "ingest", str(lines)]).exit_code == 0
    listed = run.invoke(app, ["notifications", "list", "--status", "pending"])
    assert listed.exit_code == 0 and "\tpending\t0/6\talert 1\twebhook\t" in listed.stdout, listed.output
    receiver.answers = [503]
    once = run.invoke(app, ["notifications", "deliver", "--once"])
    summary = once.stdout.strip().splitlines()[-1]  # after the log line of each attempt
    assert once.exit_code == 0 and summary == "1 claimed, 0 delivered, 1 retrying, 0 failed, 0 lost"
    assert "answered HTTP 503" in run.invoke(app, ["notifications", "list"]).stdout
    assert run.invoke(app, ["notifications", "retry", "1"]).stdout.strip() == "notification 1 queued again"
    again = run.invoke(app, ["notifications", "deliver", "--once"])
    assert again.stdout.strip().splitlines()[-1] == "1 claimed, 1 delivered, 0 retrying, 0 failed, 0 lost"
    assert len(receiver.requests) == 2
    bad = run.invoke(app, ["notifications", "list", "--status", "lost"])
    assert bad.exit_code == 1 and "--status must be one of pending, delivered, failed" in bad.stderr
