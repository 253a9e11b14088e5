"""The built-in indicators and the vocabulary they read."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from riskdesk.monitoring.indicators import BUILTIN_RULES, builtin_rule
from riskdesk.monitoring.rules import RuleSet, RuleStatus
from riskdesk.monitoring.vocabulary import EVENT_TYPES, FEATURE_NAMES, VOCABULARY, sample_contexts
from riskdesk.monitoring.windows import BehaviourState

AT = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def calm(event_type: str = "order_placed", **roots: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A customer with nothing wrong, and an event of the given type; fields overridden per input."""
    base: dict[str, dict[str, Any]] = {
        "event": {"event_id": "e1", "type": event_type, "customer_id": 1, "occurred_at": AT},
        "state": {
            "exposure": Decimal("50000"),
            "credit_limit": Decimal("100000"),
            "utilisation": Decimal("0.5"),
            "overdue_amount": Decimal("0"),
            "overdue_invoices": 0,
            "max_days_past_due": 0,
            "score": 640,
            "score_change": 0,
            "grade": "4",
            "previous_grade": "4",
            "grade_notches_down": 0,
        },
        "features": BehaviourState().snapshot(AT),
        "customer": {"customer_id": 1, "kind": "company", "on_watch_list": False},
    }
    for root, fields in roots.items():
        base[root] = {**base[root], **fields}
    return base


CASES: list[tuple[str, dict[str, Any]]] = [
    ("dpd_over_30", calm("review", state={"max_days_past_due": 31})),
    ("dpd_over_60", calm("review", state={"max_days_past_due": 61})),
    ("dpd_over_90", calm("review", state={"max_days_past_due": 91})),
    ("utilisation_over_90", calm(state={"utilisation": Decimal("0.93")})),
    ("over_limit", calm(state={"utilisation": Decimal("1.02")})),
    ("payment_delay_worsening", calm(features={"payment_delay_trend": 12.0, "avg_days_late_last_3": 14.0})),
    ("score_or_grade_drop", calm("score_changed", state={"grade_notches_down": 2})),
    ("score_or_grade_drop", calm("score_changed", state={"score_change": -45})),
    ("lawsuit_or_enforcement", calm("lawsuit", event={"role": "defendant"})),
    ("lawsuit_or_enforcement", calm("lawsuit")),  # role unknown: counts
    ("lawsuit_or_enforcement", calm("enforcement")),
    ("dishonest_debtor", calm("dishonest_debtor_listed")),
    ("legal_representative_change", calm("registry_change", event={"change": "legal_representative"})),
    ("capital_reduction", calm("registry_change", event={"change": "capital_reduction"})),
    ("order_spike", calm(features={"orders_count_7d": 6, "order_velocity_ratio": 3.5})),
    ("unusual_transaction", calm("transaction", features={"transaction_unusual": True})),
]


def test_builtins_compile_are_active_and_named_in_both_languages() -> None:
    ids = [rule.id for rule in BUILTIN_RULES]
    assert len(set(ids)) == len(ids) == 13
    for rule in BUILTIN_RULES:
        assert rule.status is RuleStatus.ACTIVE and rule.version == 1
        assert rule.name and rule.name_zh and rule.description
        assert rule.compiled.references  # each reads something


def test_a_calm_customer_triggers_no_builtin_on_any_event_that_is_not_a_signal_itself() -> None:
    ruleset = RuleSet(BUILTIN_RULES)
    for event_type in set(EVENT_TYPES) - {"lawsuit", "enforcement", "dishonest_debtor_listed"}:
        assert ruleset.matching(calm(event_type)) == [], event_type


@pytest.mark.parametrize(("rule_id", "inputs"), CASES, ids=[f"{rule_id}-{i}" for i, (rule_id, _) in enumerate(CASES)])
def test_each_builtin_fires_on_its_signal(rule_id: str, inputs: dict[str, Any]) -> None:
    fired = [rule.id for rule in RuleSet(BUILTIN_RULES).matching(inputs)]
    assert rule_id in fired


def test_graver_signals_include_the_milder_ones() -> None:
    fired = [rule.id for rule in RuleSet(BUILTIN_RULES).matching(calm("review", state={"max_days_past_due": 95}))]
    assert fired == ["dpd_over_30", "dpd_over_60", "dpd_over_90"]


def test_a_lawsuit_the_customer_brings_is_not_a_warning() -> None:
    assert not builtin_rule("lawsuit_or_enforcement").matches(calm("lawsuit", event={"role": "plaintiff"}))


def test_the_features_a_state_produces_are_exactly_the_declared_ones() -> None:
    assert set(BehaviourState().snapshot(AT)) == set(FEATURE_NAMES) == set(VOCABULARY["features"])


def test_sample_contexts_cover_every_event_type_with_every_declared_field() -> None:
    samples = list(sample_contexts())
    assert len(samples) == 2 * len(EVENT_TYPES)
    for _, context in samples:
        for root, fields in VOCABULARY.items():
            assert set(context[root]) == set(fields)


def test_an_unknown_builtin_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        builtin_rule("no_such_rule")
