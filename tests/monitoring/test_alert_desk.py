"""The alert queue page in both languages, its moves, and ``riskdesk events ingest`` from JSON Lines and CSV."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from riskdesk.cli.main import app
from riskdesk.security.permissions import Role
from riskdesk.web import i18n, templating
from tests.conftest import TEST_PASSWORD, company_payload
from tests.security.test_auth import login

Headers = Callable[[Role], dict[str, str]]


def listing(customer_id: int, event_id: str = "dd-1") -> dict[str, object]:
    return {
        "event_id": event_id,
        "type": "dishonest_debtor_listed",
        "customer_id": customer_id,
        "occurred_at": "2026-03-01T09:00:00+08:00",
    }


def test_the_alert_queue_renders_in_chinese_and_english_and_moves_an_alert(
    client: TestClient,
    token_for: Headers,
    make_user: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api = token_for(Role.credit_officer)
    customer = client.post("/api/v1/customers", json=company_payload(), headers=api).json()
    assert client.post("/api/v1/events", json={"events": [listing(customer["id"])]}, headers=api).json()["alerts"] == 1
    missing: set[str] = set()

    def recording(text: str, lang: str) -> str:
        if lang == "zh" and text not in i18n.ZH:
            missing.add(text)
        return i18n.translate(text, lang)

    monkeypatch.setattr(templating, "translate", recording)
    assert login(client, make_user(Role.analyst), TEST_PASSWORD)[0] == 303
    client.cookies.set("rd_lang", "zh")
    page = client.get("/alerts")
    assert page.status_code == 200 and "列入失信被执行人名单" in page.text and "严重" in page.text
    for query in ("?status=&severity=critical&customer_id=", f"?status=closed&customer_id={customer['id']}"):
        assert client.get(f"/alerts{query}").status_code == 200
    assert missing == set()
    client.cookies.set("rd_lang", "en")
    english = client.get("/alerts")
    assert "Listed as a dishonest debtor" in english.text and "Critical" in english.text
    alert_id = re.search(r'data-alert="(\d+)"', english.text)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', english.text)
    assert alert_id and csrf
    refused = client.post(
        f"/alerts/{alert_id.group(1)}", data={"csrf_token": csrf.group(1), "status": "closed", "reason": ""}
    )
    assert refused.status_code == 422 and "needs a reason" in refused.text
    moved = client.post(
        f"/alerts/{alert_id.group(1)}",
        data={"csrf_token": csrf.group(1), "status": "closed", "reason": "a namesake, not our customer"},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    assert "No alerts match." in client.get("/alerts").text


def test_events_ingest_reads_json_lines_and_csv_and_reports_refused_lines(
    run: CliRunner, client: TestClient, token_for: Headers, tmp_path: Path
) -> None:
    api = token_for(Role.credit_officer)
    customer_id = client.post("/api/v1/customers", json=company_payload(), headers=api).json()["id"]
    lines = tmp_path / "events.jsonl"
    lines.write_text(
        json.dumps(listing(customer_id)) + "\n{not json\n" + json.dumps(listing(customer_id)) + "\n", encoding="utf-8"
    )
    result = run.invoke(app, ["events", "ingest", str(lines)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "1 accepted, 1 duplicates, 1 dead lettered, 1 alerts"
    assert "line 2 is not an event: not valid JSON" in result.stderr
    table = tmp_path / "events.csv"
    table.write_text(
        "event_id,type,customer_id,occurred_at,amount,currency,role\n"
        f"c-1,lawsuit,{customer_id},2026-03-02T10:00:00Z,1200.50,CNY,defendant\n"
        f"c-2,order_placed,{customer_id},2026-03-02T11:00:00Z,99,CNY,\n",
        encoding="utf-8",
    )
    result = run.invoke(app, ["events", "ingest", str(table)])
    assert result.stdout.strip() == "2 accepted, 0 duplicates, 0 dead lettered, 1 alerts", result.output
    letters = run.invoke(app, ["events", "dead-letters"])
    assert letters.exit_code == 0 and "invalid" in letters.stdout
    rules = run.invoke(app, ["monitor", "rules"])
    assert "dpd_over_90 v1\tactive\tcritical" in rules.stdout
