"""An analyst writes a rule at the desk: a compile error shown with its caret as they type, fixed, saved, and
backtested over the events the intake stored. The screenshots are the user guide's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from riskdesk.audit.service import Actor
from riskdesk.bootstrap import Container
from riskdesk.db.session import unit_of_work
from riskdesk.monitoring import intake
from tests.web.conftest import SCREENSHOTS
from tests.web.test_browser import sign_in

pytestmark = pytest.mark.browser


def _orders(container: Container) -> None:
    """Orders of two demo customers over the last days, through the intake (as POST /api/v1/events does)."""
    now = datetime.now(UTC).replace(microsecond=0)
    amounts = {1: ("620000.00", "18000.00", "750000.00"), 2: ("9000.00", "540000.00", "12000.00")}
    events = [
        {
            "event_id": f"ui-rule-{customer}-{n}",
            "type": "order_placed",
            "customer_id": customer,
            "occurred_at": (now - timedelta(days=9 - 3 * n, hours=customer)).isoformat(),
            "amount": amount,
            "currency": "CNY",
        }
        for customer, values in amounts.items()
        for n, amount in enumerate(values)
    ]
    with unit_of_work(container.session_factory) as session:
        result = intake.ingest(session, events=events, actor=Actor("erp-demo"), policy=container.credit_policy)
    assert result.accepted == len(events), result.rejections


def test_an_analyst_fixes_a_rule_by_its_caret_and_backtests_it(
    page: Page, live_server: str, live_container: Container, demo_password: str
) -> None:
    _orders(live_container)
    sign_in(page, live_server, "analyst", demo_password)
    page.click("header nav >> text=规则")
    expect(page.locator("h1")).to_have_text("规则")
    expect(page.get_by_test_id("rules")).to_contain_text("dpd_over_30")
    page.click("text=新建规则")
    page.fill("input[name=rule_id]", "large_order")
    page.fill("input[name=name]", "Large order")
    page.fill("input[name=name_zh]", "大额订单")
    page.fill("input[name=suppression_hours]", "168")
    page.fill("textarea[name=expression]", 'event.type == "order_placed"')
    page.click("text=保存为草稿")
    expect(page.get_by_test_id("editor")).to_be_visible()
    expect(page.get_by_test_id("check-ok")).to_be_visible()

    editor = page.locator("#f-expression")
    editor.fill('event.type == "order_placed"\n  && event.amount > 500000.0 && state.max_dpd < 30')
    caret = page.get_by_test_id("caret")
    expect(caret).to_have_text("  && event.amount > 500000.0 && state.max_dpd < 30\n" + " " * 38 + "^")
    expect(page.get_by_test_id("check-error")).to_contain_text("max_days_past_due")
    page.screenshot(path=SCREENSHOTS / "rule-editor.png", full_page=True)

    editor.fill('event.type == "order_placed"\n  && event.amount != null && event.amount > 500000.0')
    expect(page.get_by_test_id("check-ok")).to_contain_text("event.amount")
    page.click("text=保存草稿")
    expect(page.locator("p.notice").first).to_have_text("草稿已保存。")

    page.click("text=运行回测")
    report = page.get_by_test_id("backtest-report")
    expect(report).to_contain_text("命中 2 次")
    expect(report).to_contain_text("1 次被抑制")  # customer 1's second large order, within 7 days of its first
    flags = page.get_by_test_id("flags")
    expect(flags.locator("tr")).to_have_count(3)
    expect(flags).to_contain_text("ui-rule-2-1")
    page.screenshot(path=SCREENSHOTS / "rule-backtest.png", full_page=True)
