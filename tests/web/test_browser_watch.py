"""The watch list at the desk: an analyst puts two customers on it and asks to take one off; the approver consents.

Takes the user guide's screenshot ``docs/images/watch-list.png``.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.conftest import SCREENSHOTS
from tests.web.test_browser import sign_in

pytestmark = pytest.mark.browser


def test_an_approver_consents_to_taking_a_customer_off_the_watch_list(
    browser: Any, live_server: str, demo_password: str
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    analyst = browser.new_page(locale="zh-CN", viewport={"width": 1360, "height": 860})
    sign_in(analyst, live_server, "analyst", demo_password)
    analyst.click("nav >> text=观察名单")
    for customer_id, reason in (("12", "供应商反映其拖欠货款"), ("17", "实际控制人涉诉传闻")):
        form = analyst.get_by_test_id("watch-add")
        form.locator("input[name=customer_id]").fill(customer_id)
        form.locator("input[name=reason]").fill(reason)
        form.locator("button").click()
        expect(analyst.get_by_test_id("watch-list")).to_contain_text(reason)
    row = analyst.locator("tr[data-watch='17']")
    name = row.locator("td a").first.inner_text()
    row.locator("input[name=reason]").fill("传闻已核实为不实")
    row.locator("button:has-text('申请移出')").click()
    expect(analyst.locator("tr[data-watch='17']")).to_contain_text("已申请移出")
    expect(analyst.locator("tr[data-watch='17'] button:has-text('同意')")).to_have_count(0)  # not for the analyst
    analyst.close()

    approver = browser.new_page(locale="zh-CN", viewport={"width": 1360, "height": 860})
    sign_in(approver, live_server, "approver", demo_password)
    approver.goto(f"{live_server}/watch-list")
    pending = approver.locator("tr[data-watch='17']")
    expect(pending).to_contain_text("传闻已核实为不实")
    pending.locator("input[name=reason]").fill("已查阅法院公开信息，无涉诉记录")
    approver.screenshot(path=SCREENSHOTS / "watch-list.png", full_page=True)
    pending.locator("button[value=consent]").click()
    expect(approver.get_by_test_id("watch-list")).not_to_contain_text(name)
    expect(approver.locator("tr[data-watch='12']")).to_contain_text("在册")
    approver.goto(f"{live_server}/watch-list?status=removed")
    expect(approver.locator("tr[data-watch='17']")).to_contain_text("已同意")
    approver.goto(f"{live_server}/customers/17")
    expect(approver.get_by_test_id("monitoring-panel")).to_contain_text("未列入观察名单")
    approver.goto(f"{live_server}/customers/12")
    expect(approver.get_by_test_id("monitoring-panel")).to_contain_text("已列入观察名单")
    approver.close()
