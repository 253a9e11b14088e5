"""The rules pages in Chinese and English: the list, a rule's versions, the editor of a draft with its live check
and caret, saving, activation by another person, and a backtest report with the comparison."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from riskdesk.security.permissions import Role
from tests.conftest import company_payload, csrf_of
from tests.monitoring.test_rule_editor import order, send
from tests.web.test_pages import missing_translations  # noqa: F401 -- the fixture

Desk = Callable[[Role], TestClient]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_draft_is_written_checked_saved_activated_and_backtested_from_the_pages(
    desk: Desk,
    token_for: Callable[[Role], dict[str, str]],
    missing_translations: set[str],  # noqa: F811
    lang: str,
) -> None:
    api = token_for(Role.credit_officer)
    customer = desk(Role.analyst).post("/api/v1/customers", json=company_payload(), headers=api).json()["id"]
    send(desk(Role.analyst), api, order(customer, "p-1", "6000.00", 0), order(customer, "p-2", "7000.00", 1))

    client = desk(Role.analyst)
    client.cookies.set("rd_lang", lang)
    listing = client.get("/rules")
    assert listing.status_code == 200 and 'data-rule="dpd_over_30"' in listing.text
    assert ("逾期超过30天" if lang == "zh" else "More than 30 days past due") in listing.text
    csrf = csrf_of(listing.text)
    form = {
        "csrf_token": csrf,
        "rule_id": "big_order",
        "name": "Big order",
        "name_zh": "大额订单",
        "severity": "medium",
        "tier": "watch",
        "suppression_hours": "48",
        "expression": "event.amount > 5000.0",  # refused: amount is null on some event types
    }
    refused = client.post("/rules", data=form)
    assert refused.status_code == 422 and 'data-testid="check-error"' in refused.text
    made = client.post("/rules", data={**form, "expression": 'event.type == "order_placed"'}, follow_redirects=False)
    assert made.status_code == 303 and made.headers["location"] == "/rules/big_order?version=1"

    page = client.get("/rules/big_order?version=1")
    assert page.status_code == 200 and 'data-testid="editor"' in page.text and 'data-testid="check-ok"' in page.text
    check = client.post(
        "/rules/check", data={"expression": "event.type ==\n  state.max_dpd"}, headers={"X-CSRF-Token": csrf}
    )
    assert check.status_code == 200
    caret = re.search(r'<pre class="mono caret" data-testid="caret">(.*?)</pre>', check.text, re.DOTALL)
    assert caret is not None and caret.group(1) == "  state.max_dpd\n        ^"
    bad = {**form, "expression": "event.amount >"}
    kept = client.post("/rules/big_order/versions/1", data=bad)
    assert (
        kept.status_code == 422 and "event.amount &gt;</textarea>" in kept.text and 'data-testid="caret"' in kept.text
    )
    good = 'event.type == "order_placed" && event.amount != null && event.amount > 5000.0'
    saved = client.post("/rules/big_order/versions/1", data={**form, "expression": good}, follow_redirects=False)
    assert saved.status_code == 303
    own = client.post("/rules/big_order/versions/1/activate", data={"csrf_token": csrf})
    assert own.status_code == 403  # an analyst does not switch rules on

    approver = desk(Role.approver)
    approver.cookies.set("rd_lang", lang)
    csrf = csrf_of(approver.get("/rules/big_order").text)
    on = approver.post("/rules/big_order/versions/1/activate", data={"csrf_token": csrf}, follow_redirects=False)
    assert on.status_code == 303
    report = approver.get("/rules/big_order", params={"version": 1, "from": "2026-03-01", "to": "2026-03-05"})
    assert report.status_code == 200
    flags = re.search(r'data-testid="flags">(.*?)</table>', report.text, re.DOTALL)
    assert flags is not None and "p-1" in flags.group(1) and "p-2" not in flags.group(1)  # p-2 suppressed (48 h)
    assert "1 suppressed" in report.text or "1 次被抑制" in report.text
    no_reason = approver.post("/rules/big_order/versions/1/retire", data={"csrf_token": csrf})
    assert no_reason.status_code == 422 and "needs a reason" in no_reason.text

    client = desk(Role.analyst)
    client.cookies.set("rd_lang", lang)
    csrf = csrf_of(client.get("/rules/big_order").text)
    new = client.post(
        "/rules/big_order/versions", data={"csrf_token": csrf, "from_version": "1"}, follow_redirects=False
    )
    assert new.headers["location"] == "/rules/big_order?version=2"
    compared = client.get("/rules/big_order", params={"version": 2, "from": "2026-03-01", "to": "2026-03-05"})
    assert 'data-testid="comparison"' in compared.text
    alerts = client.get("/alerts")
    assert 'href="/rules"' in alerts.text
    if lang == "zh":
        assert missing_translations == set()
