"""Backtests and suppression windows: which customers a rule would have flagged, and when."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from riskdesk.errors import ValidationFailed
from riskdesk.monitoring.rules import (
    Flag,
    Rule,
    RuleRuntimeError,
    Severity,
    Suppression,
    Tier,
    backtest,
    run_backtest,
)

T0 = datetime(2026, 3, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def dpd_rule(suppression: timedelta, rule_id: str = "dpd_over_30") -> Rule:
    return Rule(
        id=rule_id,
        version=1,
        name="More than 30 days past due",
        name_zh="逾期超过30天",
        expression="state.max_days_past_due > 30",
        severity=Severity.MEDIUM,
        tier=Tier.WATCH,
        suppression=suppression,
    )


def inputs(dpd: int | None) -> dict[str, Any]:
    return {"state": {"max_days_past_due": dpd}}


def daily(customer_id: int, dpds: list[int], start: datetime = T0) -> Iterator[tuple[int, datetime, dict[str, Any]]]:
    for day, dpd in enumerate(dpds):
        yield customer_id, start + day * DAY, inputs(dpd)


def test_backtest_flags_each_customer_when_the_rule_first_holds_then_again_after_the_window() -> None:
    history = list(daily(1, [29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39]))
    flags = backtest(dpd_rule(timedelta(days=7)), history)
    assert flags == [Flag(1, T0 + 2 * DAY), Flag(1, T0 + 9 * DAY)]  # day 9 is exactly 7 days on: fires again


def test_suppression_is_per_customer() -> None:
    history = [*daily(1, [31, 31, 31]), *daily(2, [31, 31, 31])]
    flags = backtest(dpd_rule(timedelta(days=7)), history)
    assert flags == [Flag(1, T0), Flag(2, T0)]


def test_without_a_window_every_hit_is_a_flag() -> None:
    flags = backtest(dpd_rule(timedelta(0)), daily(1, [31, 10, 31, 31]))
    assert [f.occurred_at for f in flags] == [T0, T0 + 2 * DAY, T0 + 3 * DAY]


def test_the_report_counts_evaluations_suppressions_and_customers() -> None:
    history = [*daily(7, [31, 31, 0, 31]), *daily(3, [0, 0, 45, 45])]
    report = run_backtest(dpd_rule(timedelta(days=30)), history)
    assert (report.evaluated, len(report.flags), report.suppressed) == (8, 2, 3)
    assert report.customers == [3, 7]
    assert (report.rule_id, report.rule_version) == ("dpd_over_30", 1)


def test_events_the_rule_cannot_decide_are_reported_not_flagged() -> None:
    history = [(1, T0, inputs(31)), (2, T0, inputs(None)), (3, T0, {"state": {"max_days_past_due": "late"}})]
    report = run_backtest(dpd_rule(timedelta(0)), history)
    assert report.flags == [Flag(1, T0)]
    assert [(f.customer_id, "missing" in f.reason or "whole number" in f.reason) for f in report.failures] == [
        (2, True),
        (3, True),
    ]
    with pytest.raises(RuleRuntimeError, match="customer 2 at 2026-03-01"):
        backtest(dpd_rule(timedelta(0)), history)


def test_history_out_of_order_for_a_customer_is_refused() -> None:
    history = [(1, T0 + DAY, inputs(31)), (2, T0, inputs(31)), (1, T0, inputs(31))]
    with pytest.raises(ValidationFailed, match="occurred_at order"):
        backtest(dpd_rule(timedelta(0)), history)


def test_a_draft_rule_can_be_backtested() -> None:
    draft = dpd_rule(timedelta(0))
    assert draft.status == "draft"
    assert backtest(draft, daily(1, [31])) == [Flag(1, T0)]


def test_suppression_also_holds_for_a_late_hit_before_the_last_one() -> None:
    suppression = Suppression()
    rule = dpd_rule(timedelta(days=7))
    assert suppression.admit(rule, 1, T0 + 10 * DAY)
    assert not suppression.admit(rule, 1, T0 + 5 * DAY)  # late, 5 days before the hit that fired
    assert suppression.admit(rule, 1, T0)  # late, but 10 days before
    assert not suppression.admit(rule, 1, T0 + 16 * DAY)  # still within 7 days of the newest fire
    assert suppression.admit(dpd_rule(timedelta(days=7), rule_id="other"), 1, T0 + 16 * DAY)
