"""The built-in early-warning indicators: ordinary rules in the same language, active by default.

They are version 1 of rules an admin can change like any other (a new version with another threshold, or retire
one). Thresholds follow common practice: 30 days past due is IFRS 9's rebuttable presumption of a significant
increase in credit risk and 90 days its presumption of default; a 40-point score drop doubles the odds of default
on the policy's scale (points_to_double_odds = 40). The fields each reads are declared in ``vocabulary``.
"""

from __future__ import annotations

from datetime import timedelta

from riskdesk.monitoring.rules import Rule, RuleStatus, Severity, Tier

DAY = timedelta(days=1)


def _builtin(
    rule_id: str,
    name: str,
    name_zh: str,
    expression: str,
    severity: Severity,
    tier: Tier,
    suppression: timedelta,
    description: str,
) -> Rule:
    return Rule(
        id=rule_id,
        version=1,
        name=name,
        name_zh=name_zh,
        expression=expression,
        severity=severity,
        tier=tier,
        status=RuleStatus.ACTIVE,
        suppression=suppression,
        description=description,
    )


BUILTIN_RULES: tuple[Rule, ...] = (
    _builtin(
        "dpd_over_30",
        "More than 30 days past due",
        "逾期超过30天",
        "state.max_days_past_due > 30",
        Severity.MEDIUM,
        Tier.WATCH,
        7 * DAY,
        "An invoice is more than 30 days overdue (IFRS 9: significant increase in credit risk presumed).",
    ),
    _builtin(
        "dpd_over_60",
        "More than 60 days past due",
        "逾期超过60天",
        "state.max_days_past_due > 60",
        Severity.HIGH,
        Tier.EARLY_WARNING,
        7 * DAY,
        "An invoice is more than 60 days overdue.",
    ),
    _builtin(
        "dpd_over_90",
        "More than 90 days past due",
        "逾期超过90天",
        "state.max_days_past_due > 90",
        Severity.CRITICAL,
        Tier.DEFAULT_CANDIDATE,
        30 * DAY,
        "An invoice is more than 90 days overdue (IFRS 9: default presumed).",
    ),
    _builtin(
        "utilisation_over_90",
        "Limit utilisation over 90 %",
        "授信额度使用率超过90%",
        "state.utilisation > 0.9",
        Severity.MEDIUM,
        Tier.WATCH,
        7 * DAY,
        "Exposure is above 90 % of the credit limit.",
    ),
    _builtin(
        "over_limit",
        "Exposure over the credit limit",
        "超出授信额度",
        "state.utilisation > 1.0",
        Severity.HIGH,
        Tier.EARLY_WARNING,
        3 * DAY,
        "Exposure is above the credit limit.",
    ),
    _builtin(
        "payment_delay_worsening",
        "Payment delays getting worse",
        "付款延迟趋势恶化",
        "features.payment_delay_trend >= 10.0 && features.avg_days_late_last_3 > 5.0",
        Severity.MEDIUM,
        Tier.WATCH,
        30 * DAY,
        "The last 3 payments were on average at least 10 days later than the 3 before, and more than 5 days late.",
    ),
    _builtin(
        "score_or_grade_drop",
        "Score or grade dropped",
        "评分或等级下降",
        'event.type == "score_changed" && (state.grade_notches_down >= 2 || state.score_change <= -40)',
        Severity.HIGH,
        Tier.EARLY_WARNING,
        DAY,
        "A regrading fell by 2 grades or more, or the score fell by 40 points or more (odds of default doubled).",
    ),
    _builtin(
        "lawsuit_or_enforcement",
        "Lawsuit or court enforcement",
        "涉诉或被强制执行",
        'event.type == "enforcement" || (event.type == "lawsuit" && event.role != "plaintiff")',
        Severity.HIGH,
        Tier.EARLY_WARNING,
        timedelta(0),
        "The customer is sued or under court enforcement (a suit it brings itself does not count).",
    ),
    _builtin(
        "dishonest_debtor",
        "Listed as a dishonest debtor",
        "列入失信被执行人名单",
        'event.type == "dishonest_debtor_listed"',
        Severity.CRITICAL,
        Tier.DEFAULT_CANDIDATE,
        timedelta(0),
        "The customer was listed as a dishonest judgment debtor (失信被执行人).",
    ),
    _builtin(
        "legal_representative_change",
        "Change of legal representative",
        "法定代表人变更",
        'event.type == "registry_change" && event.change == "legal_representative"',
        Severity.LOW,
        Tier.WATCH,
        timedelta(0),
        "The registry shows a new legal representative.",
    ),
    _builtin(
        "capital_reduction",
        "Capital reduction",
        "减少注册资本",
        'event.type == "registry_change" && event.change == "capital_reduction"',
        Severity.MEDIUM,
        Tier.WATCH,
        timedelta(0),
        "The registered capital was reduced.",
    ),
    _builtin(
        "order_spike",
        "Order spike",
        "订单激增",
        "features.orders_count_7d >= 5 && features.order_velocity_ratio >= 3.0",
        Severity.MEDIUM,
        Tier.WATCH,
        7 * DAY,
        "At least 5 orders in 7 days, at three times the customer's 90-day daily rate or more.",
    ),
    _builtin(
        "unusual_transaction",
        "Unusual transaction for this customer",
        "异常交易",
        'event.type == "transaction" && features.transaction_unusual',
        Severity.MEDIUM,
        Tier.WATCH,
        DAY,
        "The amount is far from the customer's own recent transactions (robust z-score).",
    ),
)


def builtin_rule(rule_id: str) -> Rule:
    for rule in BUILTIN_RULES:
        if rule.id == rule_id:
            return rule
    raise KeyError(rule_id)
