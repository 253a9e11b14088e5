"""A person at the desk: sign in, enter a wrong code, fix it, find the customer and its timeline.

The screenshots these tests take are the ones in the README and the user guide.
"""

from __future__ import annotations

import random
import re
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from riskdesk.bootstrap import Container
from riskdesk.demo.portfolio import make_uscc
from tests.web.conftest import SCREENSHOTS

pytestmark = pytest.mark.browser


def sign_in(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    expect(page.get_by_test_id("username")).to_have_text(username)


def test_analyst_enters_a_company_fixes_its_code_and_finds_it(page: Page, live_server: str, demo_password: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{live_server}/login")
    page.screenshot(path=SCREENSHOTS / "login.png")
    sign_in(page, live_server, "analyst", demo_password)
    expect(page.locator("h1")).to_have_text("客户")
    page.screenshot(path=SCREENSHOTS / "desk.png")

    page.click("text=新建企业客户")
    code = make_uscc(random.Random(99), "350206")
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    page.fill("#f-name", "厦门卓越供应链管理有限公司")
    page.fill("#f-uscc", wrong)
    page.fill("#f-legal_representative", "林海燕")
    page.fill("#f-registered_capital_amount", "20000000")
    page.fill("#f-industry_code", "G5430")
    page.click("button[type=submit]")
    error = page.locator('[data-error-for="uscc"]')
    expect(error).to_contain_text(f"check character should be {code[-1]}")
    page.screenshot(path=SCREENSHOTS / "customer-form-error.png", full_page=True)

    page.fill("#f-uscc", code)
    page.click("button[type=submit]")
    expect(page.locator("p.notice")).to_be_visible()
    expect(page.locator("h1")).to_contain_text("厦门卓越供应链管理有限公司")

    page.goto(f"{live_server}/customers")
    page.fill("input[name=q]", "卓越供应链")
    expect(page.locator("#customer-rows tbody tr")).to_have_count(1)
    page.click("#customer-rows >> text=厦门卓越供应链管理有限公司")
    timeline = page.get_by_test_id("timeline")
    expect(timeline).to_contain_text("创建客户")
    expect(timeline).to_contain_text("analyst")
    page.screenshot(path=SCREENSHOTS / "customer-detail.png", full_page=True)


def test_desk_switches_to_english_and_masks_for_the_analyst(page: Page, live_server: str, demo_password: str) -> None:
    sign_in(page, live_server, "analyst", demo_password)
    page.click("text=English")
    expect(page.locator("h1")).to_have_text("Customers")
    page.select_option("select[name=kind]", "individual")
    # The filter answers through HTMX: wait until the rows on screen are the filtered ones (a timeout fails).
    page.wait_for_function(
        "() => { const cells = [...document.querySelectorAll('#customer-rows tbody td.mono')];"
        " return cells.length > 0 && cells.every(c => !/^9/.test(c.textContent.trim())); }"
    )
    codes = page.locator("#customer-rows tbody td.mono").all_inner_texts()
    assert codes and all(re.fullmatch(r"\d{3}\*{11}[\dX]{4}", c) for c in codes), codes
    page.screenshot(path=SCREENSHOTS / "customers-en.png")


def test_compliance_officer_verifies_the_ledger(page: Page, live_server: str, demo_password: str) -> None:
    sign_in(page, live_server, "compliance", demo_password)
    page.click("text=审计账本")
    page.click("text=校验哈希链")
    expect(page.locator("#verify-result")).to_contain_text("哈希链完整")
    page.screenshot(path=SCREENSHOTS / "audit-ledger.png")


def test_compliance_reviews_a_screening_hit_and_verifies_a_company(
    page: Page, live_server: str, demo_password: str
) -> None:
    sign_in(page, live_server, "compliance", demo_password)
    page.click("text=名单筛查")
    hits = page.get_by_test_id("hits")
    expect(hits.locator("tbody tr, tr").nth(1)).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "screening.png", full_page=True)
    first = hits.locator("form").first
    first.locator("input[name=reason]").fill("同名不同人：出生日期不符")
    first.locator("button[value=dismiss]").click()
    page.goto(f"{live_server}/screening?status=dismissed")
    expect(page.get_by_test_id("hits")).to_contain_text("同名不同人")

    page.goto(f"{live_server}/customers?kind=company")
    page.locator("#customer-rows tbody tr a").first.click()
    page.click("text=立即核验")
    expect(page.get_by_test_id("verifications")).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "verification.png", full_page=True)


def test_credit_officer_reads_a_companys_ratios_and_trends(page: Page, live_server: str, demo_password: str) -> None:
    sign_in(page, live_server, "credit", demo_password)
    page.goto(f"{live_server}/customers/1")
    page.click("text=财务报表")
    expect(page.get_by_test_id("ratios")).to_contain_text("流动比率")
    expect(page.locator("svg.trend").first).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "financials.png", full_page=True)


def test_a_limit_is_assessed_proposed_and_approved_by_another_person(
    browser: Any, live_server: str, demo_password: str
) -> None:
    officer = browser.new_page(locale="zh-CN", viewport={"width": 1360, "height": 860})
    sign_in(officer, live_server, "credit", demo_password)
    officer.goto(f"{live_server}/customers/45/assessment")  # statements, not yet assessed in the demo
    name = officer.locator("h1 a").inner_text()
    officer.fill("input[name=expected_monthly_sales]", "600000")
    officer.click("button:has-text('评估')")
    expect(officer.get_by_test_id("calculation")).to_contain_text("need = 600000")
    officer.click("button:has-text('提交审批')")
    expect(officer.locator("#proposal table")).to_contain_text("待审批")
    officer.screenshot(path=SCREENSHOTS / "assessment.png", full_page=True)
    officer.close()

    approver = browser.new_page(locale="zh-CN", viewport={"width": 1360, "height": 860})
    sign_in(approver, live_server, "approver", demo_password)
    approver.click("text=审批")
    inbox = approver.get_by_test_id("inbox")
    expect(inbox).to_be_visible()
    approver.screenshot(path=SCREENSHOTS / "approvals.png", full_page=True)
    row = inbox.locator("tr", has_text=name)
    row.locator("input[name=reason]").fill("符合授信政策")
    row.locator("button[value=approve]").click()
    expect(approver.locator("body")).to_contain_text("已批准")
    approver.close()


def test_exposure_and_a_credit_block_released_by_an_approver(
    browser: Any, live_server: str, demo_password: str
) -> None:
    approver = browser.new_page(locale="zh-CN", viewport={"width": 1360, "height": 860})
    sign_in(approver, live_server, "approver", demo_password)
    approver.goto(f"{live_server}/approvals")
    blocks = approver.get_by_test_id("blocks")
    expect(blocks).to_contain_text("超出信用额度")
    approver.screenshot(path=SCREENSHOTS / "credit-blocks.png", full_page=True)
    row = blocks.locator("tr", has_text="超出信用额度").first
    customer_link = row.locator("a").first.get_attribute("href")
    reference = row.locator("td.mono").inner_text()
    row.locator("input[name=reason]").fill("客户已补充担保")
    row.locator("button[value=release]").click()
    expect(approver.get_by_test_id("blocks")).not_to_contain_text(reference)
    approver.goto(f"{live_server}{customer_link}")
    exposure = approver.get_by_test_id("exposure")
    expect(exposure).to_contain_text("额度使用率")
    expect(exposure).to_contain_text("已放行")
    exposure.screenshot(path=SCREENSHOTS / "exposure.png")
    approver.close()


def test_models_page_and_the_explanation_of_an_automated_assessment(
    browser: Any, live_server: str, demo_password: str
) -> None:
    page = browser.new_page(locale="zh-CN", viewport={"width": 1360, "height": 860})
    sign_in(page, live_server, "credit", demo_password)
    page.goto(f"{live_server}/models")
    expect(page.get_by_test_id("models")).to_contain_text("冠军模型")
    page.click("button:has-text('重新评分全部客户')")
    expect(page.get_by_test_id("rescored")).to_contain_text("已评分")
    page.screenshot(path=SCREENSHOTS / "models.png", full_page=True)
    page.goto(f"{live_server}/customers/3/assessment")
    explanation = page.get_by_test_id("explanation")
    expect(explanation).to_contain_text("个人信息保护法")
    expect(explanation.locator("ol li").first).not_to_have_text("—")
    explanation.screenshot(path=SCREENSHOTS / "explanation.png")
    page.goto(f"{live_server}/alerts")
    expect(page.locator("h1")).to_be_visible()
    page.close()


def test_an_admin_subscribes_sees_a_failed_notification_and_retries_it(
    browser: Any, live_server: str, live_container: Container, demo_password: str
) -> None:
    from riskdesk.audit.service import Actor
    from riskdesk.comms.deliverer import BACKOFF
    from riskdesk.db.session import unit_of_work
    from riskdesk.db.types import utcnow
    from riskdesk.monitoring import intake
    from tests.comms.conftest import webhook_receiver

    page = browser.new_page(locale="zh-CN", viewport={"width": 1360, "height": 860})
    sign_in(page, live_server, "admin", demo_password)
    page.click("nav >> text=通知")
    with webhook_receiver() as receiver:
        for name, channel, target in (
            ("ERP 风险接口", "webhook", receiver.url),
            ("风控小组邮箱", "email", "risk.team@example.com"),
        ):
            form = page.get_by_test_id("new-subscription")
            form.locator("input[name=name]").fill(name)
            form.locator("select[name=channel]").select_option(channel)
            form.locator("input[name=target]").fill(target)
            form.locator("button[type=submit]").click()
            expect(page.get_by_test_id("subscriptions")).to_contain_text(name)
            if channel == "webhook":
                expect(page.get_by_test_id("new-secret")).to_contain_text("whsec_")
        event = {"event_id": "browser-dd-1", "type": "dishonest_debtor_listed", "customer_id": 1}
        with unit_of_work(live_container.session_factory) as session:
            raised = intake.ingest(
                session,
                events=[event | {"occurred_at": "2026-03-01T09:00:00+08:00"}],
                actor=Actor("browser-test"),
                policy=live_container.credit_policy,
            )
            live_container.dispatch_events(session)
        assert raised.alerts == 1
        # The deliverer's rounds: the webhook is delivered at once; e-mail has no SMTP server configured, so its
        # attempts fail until the last one (the rounds are run at the times the back-off gives; nothing sleeps).
        now = utcnow()
        for wait in (timedelta(0), *BACKOFF):
            now += wait
            live_container.deliver_notifications(now=now)
        assert len(receiver.requests) == 1
    page.goto(f"{live_server}/notifications")
    failed = page.locator("tr.failed")
    expect(failed).to_have_count(1)
    expect(failed).to_contain_text("e-mail is not configured")
    expect(page.get_by_test_id("outbox")).to_contain_text("已送达")
    page.screenshot(path=SCREENSHOTS / "notifications.png", full_page=True)
    failed.locator("button:has-text('重试')").click()
    expect(page.locator("tr.failed")).to_have_count(0)
    expect(page.get_by_test_id("outbox")).to_contain_text("已重新排队")
    page.close()
