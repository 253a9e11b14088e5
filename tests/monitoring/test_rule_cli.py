"""``riskdesk monitor rule-new|rule-version|rule-edit|rule-activate|rule-retire|backtest``, printing JSON."""

from __future__ import annotations

import json
from collections.abc import Callable

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from riskdesk.cli.main import app
from riskdesk.security.permissions import Role
from tests.conftest import company_payload
from tests.monitoring.test_rule_editor import BIG_ORDER, order, send


def test_a_rule_is_written_refused_activated_by_another_and_backtested_from_the_command_line(
    run: CliRunner,
    client: TestClient,
    token_for: Callable[[Role], dict[str, str]],
) -> None:
    api = token_for(Role.credit_officer)
    customer = client.post("/api/v1/customers", json=company_payload(), headers=api).json()["id"]
    send(client, api, order(customer, "k-1", "6000.00", 0), order(customer, "k-2", "100.00", 1))

    base = ["monitor", "rule-new", "big_order", "--name", "Big order", "--name-zh", "大额订单"]
    broken = run.invoke(app, [*base, "-e", "event.amount >\n 5000.0 &&"])
    assert broken.exit_code == 1 and "line 2, column" in broken.stderr and "^" in broken.stderr
    made = run.invoke(app, [*base, "-e", 'event.type == "order_placed"', "--suppression-hours", "24"])
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout)["status"] == "draft"
    edited = run.invoke(app, ["monitor", "rule-edit", "big_order", "1", "-e", BIG_ORDER])
    assert edited.exit_code == 0 and json.loads(edited.stdout)["expression"] == BIG_ORDER
    own = run.invoke(app, ["monitor", "rule-activate", "big_order", "1"])
    assert own.exit_code == 1 and "four eyes" in own.stderr
    approver = token_for(Role.approver)
    assert client.post("/api/v1/rules/big_order/versions/1/activate", json={}, headers=approver).status_code == 200
    second = run.invoke(app, ["monitor", "rule-version", "big_order", "--severity", "high"])
    assert second.exit_code == 0 and json.loads(second.stdout)["version"] == 2

    tested = run.invoke(app, ["monitor", "backtest", "big_order", "2", "--from", "2026-03-01", "--to", "2026-03-03"])
    assert tested.exit_code == 0, tested.output
    report = json.loads(tested.stdout)
    assert [f["event_id"] for f in report["flags"]] == ["k-1"] and report["active"]["both"] == [customer]
    retired = run.invoke(app, ["monitor", "rule-retire", "big_order", "2", "--reason", "not needed"])
    assert retired.exit_code == 0 and json.loads(retired.stdout)["status"] == "retired"
