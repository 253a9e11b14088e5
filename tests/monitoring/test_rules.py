"""Rules: compiling (with positions), the vocabulary check, evaluation and run-time failures, rule sets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import cel
import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskdesk.errors import ValidationFailed
from riskdesk.monitoring import syntax
from riskdesk.monitoring.rules import (
    MAX_EXPRESSION_LENGTH,
    Rule,
    RuleError,
    RuleRuntimeError,
    RuleSet,
    RuleStatus,
    Severity,
    Tier,
    compile_rule,
)
from riskdesk.monitoring.vocabulary import VOCABULARY

AT = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
COMBINED = "state.max_days_past_due > 30 && features.orders_count_7d > 2 * features.orders_count_90d / 12"


def context(**roots: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A full context (every field set), overridden field by field."""
    base: dict[str, dict[str, Any]] = {
        "event": {"event_id": "e1", "type": "order_placed", "customer_id": 1, "occurred_at": AT, "amount": 100.0},
        "state": {
            "exposure": Decimal("90000"),
            "credit_limit": Decimal("100000"),
            "utilisation": Decimal("0.9"),
            "overdue_amount": Decimal("0"),
            "overdue_invoices": 0,
            "max_days_past_due": 0,
            "score": 600,
            "score_change": 0,
            "grade": "5",
            "previous_grade": "5",
            "grade_notches_down": 0,
        },
        "features": {
            name: (False if spec.type == "bool" else 0.0 if spec.type == "double" else 0)
            for name, spec in VOCABULARY["features"].items()
        },
        "customer": {"customer_id": 1, "kind": "company", "industry": "C", "region": "310000", "on_watch_list": False},
    }
    for root, fields in roots.items():
        base[root] = {**base[root], **fields}
    return base


def rule(expression: str, **overrides: Any) -> Rule:
    values: dict[str, Any] = {
        "id": "test_rule",
        "version": 1,
        "name": "Test",
        "name_zh": "测试",
        "expression": expression,
        "severity": Severity.MEDIUM,
        "tier": Tier.WATCH,
    } | overrides
    return Rule(**values)


# ── compiling ────────────────────────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("expression", "line", "column", "words"),
    [
        ("state.max_days_past_due > 30 &&", 1, 32, "ends too early"),
        ("state.max_days_past_due > 30 &&\n  (features.orders_count_7d > 2", 2, 32, "')' is missing"),
        ("state.max_days_past_due = 30", 1, 25, "compare with =="),
        ("state.max_days_past_due > 30 and state.utilisation > 0.9", 1, 30, "&& for and"),
        ('event.type == "lawsuit', 1, 15, "not closed"),
        ("state.utilisation > 0.9)", 1, 24, "unexpected ')'"),
        ("state.utilisation ≥ 0.9", 1, 19, "'≥' is not part"),
        ("'违约' == event.type &&", 1, 22, "ends too early"),  # columns count characters, not bytes
    ],
)
def test_a_rule_that_does_not_parse_is_refused_with_its_line_and_column(
    expression: str, line: int, column: int, words: str
) -> None:
    with pytest.raises(RuleError) as caught:
        compile_rule(expression)
    assert (caught.value.line, caught.value.column) == (line, column)
    assert words in caught.value.reason
    assert f"line {line}, column {column}" in caught.value.message
    assert caught.value.details[0].field == "expression" and caught.value.details[0].line == line


def test_the_refusal_is_a_validation_error_with_a_caret_under_the_column() -> None:
    with pytest.raises(ValidationFailed) as caught:
        compile_rule("state.utilisation > 0.9 &&\n  stat.max_days_past_due > 30")
    assert isinstance(caught.value, RuleError)
    assert caught.value.excerpt == "  stat.max_days_past_due > 30\n  ^"


@pytest.mark.parametrize(
    ("expression", "line", "column", "words"),
    [
        ("stat.max_days_past_due > 30", 1, 1, "unknown name 'stat'"),
        ("state.max_days_past_due > 30 || limit > 3", 1, 33, "unknown name 'limit'"),
        ("state.max_dpd > 30", 1, 7, "did you mean max_days_past_due"),
        ('state["max_dpd"] > 30', 1, 7, "state has no field 'max_dpd'"),
        ("features.orders_7d > 3", 1, 10, "features has no field 'orders_7d'"),
        ("eval('1') == 1", 1, 1, "no function 'eval'"),
        ("event.type.lower() == 'x'", 1, 12, "no function 'lower'"),
        ("math.greatest(1, 2) > 1", 1, 1, "unknown name 'math'"),
        ("[1, 2].exists(x, x > 1) && x > 0", 1, 28, "unknown name 'x'"),  # x is bound only inside exists()
        ("[1].exists(state, state > 0)", 1, 12, "cannot name a variable"),
        ("{a: 1}.size() > 0", 1, 2, "unknown name 'a'"),
    ],
)
def test_names_outside_the_vocabulary_are_refused_with_their_position(
    expression: str, line: int, column: int, words: str
) -> None:
    with pytest.raises(RuleError) as caught:
        compile_rule(expression)
    assert (caught.value.line, caught.value.column) == (line, column)
    assert words in caught.value.reason


@pytest.mark.parametrize(
    "expression",
    [
        COMBINED,
        "[30, 60].exists(d, state.max_days_past_due > d) && features.orders_count_7d >= 1",
        "has(state.score) && state.score != null && state.score < 500",
        'event.type in ["lawsuit", "enforcement"] // a comment naming stat.x',
        'event.type == "payment_received" && event.days_late > 30',
        "event.amount != null && event.amount > 100000.0",
        "double(features.orders_count_7d) / 7.0 > 2.5 * features.orders_per_day_90d",
        "event.occurred_at - timestamp('2026-01-01T00:00:00Z') > duration('720h')",
        'customer.kind == "company" && customer.region != null && customer.region.startsWith("31")',
        "size(features) > 10",
    ],
)
def test_rules_within_the_vocabulary_compile(expression: str) -> None:
    assert compile_rule(expression).expression == expression


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("event.days_late > 30", "event.days_late is null here: it is set on payment_received only"),
        ("event.amount > 100000.0", "check event.type first"),
        ("state.score < 500", "state.score is null here"),
        ("features.orders_amount_7d * 2 > 10.0", "float * int"),
        ("features.orders_count_7d + 1", "not true or false"),
        ('customer.region.startsWith("31")', "startsWith() cannot be applied"),
        ("features.orders_count_7d / 0 > 1", "fails on every event: division by zero"),
    ],
)
def test_a_rule_that_fails_on_a_realistic_event_is_refused_before_it_runs(expression: str, words: str) -> None:
    with pytest.raises(RuleError) as caught:
        compile_rule(expression)
    assert words in caught.value.reason


def test_an_empty_or_oversized_rule_is_refused() -> None:
    with pytest.raises(RuleError, match="empty"):
        compile_rule("  ")
    with pytest.raises(RuleError, match="longer than"):
        compile_rule("state.max_days_past_due > 30 || " * (MAX_EXPRESSION_LENGTH // 30) + "true")


def test_deep_nesting_is_refused_not_crashing() -> None:
    with pytest.raises(RuleError, match="nested too deeply"):
        compile_rule("(" * 200 + "true" + ")" * 200)


def test_compile_reports_what_the_rule_reads() -> None:
    assert compile_rule(COMBINED).references == {
        "state": frozenset({"max_days_past_due"}),
        "features": frozenset({"orders_count_7d", "orders_count_90d"}),
    }
    assert compile_rule("size(state) > 0 && state.score_change < 0").references == {"state": None}


# ── evaluating ───────────────────────────────────────────────────────────────────────────────────────────────────


def test_a_rule_combining_signals_holds_only_when_all_do() -> None:
    compiled = compile_rule(COMBINED)
    spike = {"orders_count_7d": 5, "orders_count_90d": 12}  # 5 > 2 * 12 / 12
    assert compiled.evaluate(context(state={"max_days_past_due": 31}, features=spike))
    assert not compiled.evaluate(context(state={"max_days_past_due": 30}, features=spike))
    assert not compiled.evaluate(context(state={"max_days_past_due": 31}, features={"orders_count_90d": 60}))


def test_decimals_are_given_to_rules_as_doubles() -> None:
    compiled = compile_rule("state.utilisation > 0.9 && state.exposure * 1.1 > state.credit_limit")
    assert compiled.evaluate(context(state={"utilisation": Decimal("0.95"), "exposure": Decimal("95000")}))
    assert not compiled.evaluate(context(state={"utilisation": Decimal("0.90")}))


def test_a_whole_number_given_as_decimal_or_float_is_an_int() -> None:
    compiled = compile_rule("state.max_days_past_due * 2 == 62")
    assert compiled.evaluate(context(state={"max_days_past_due": Decimal("31")}))
    assert compiled.evaluate(context(state={"max_days_past_due": 31.0}))


def test_a_declared_field_left_out_is_null_and_always_present() -> None:
    compiled = compile_rule('has(event.days_late) && event.days_late == null && event.type == "order_placed"')
    assert compiled.evaluate(context())


@pytest.mark.parametrize(
    ("expression", "roots", "words"),
    [
        ("state.score_change / features.orders_count_7d < -1", {}, "division by zero"),
        ("state.max_days_past_due > 30", {"state": {"max_days_past_due": None}}, "is missing"),
        ("state.max_days_past_due > 30", {"state": {"max_days_past_due": "31 days"}}, "must be a whole number"),
        ("state.utilisation > 0.9", {"state": {"utilisation": True}}, "must be a finite number"),
        ("state.utilisation > 0.9", {"state": {"utilisation": Decimal("NaN")}}, "must be a finite number"),
        ("state.max_days_past_due > 30", {"state": {"max_days_past_due": float("inf")}}, "whole number"),
        (
            "event.occurred_at > timestamp('2026-01-01T00:00:00Z')",
            {"event": {"occurred_at": datetime(2026, 1, 2)}},
            "timezone",
        ),
        ("state.max_days_past_due * 1000000000000000000 > 0", {"state": {"max_days_past_due": 10}}, "overflow"),
        ('event.type == "x" || event.reference.matches("^INV")', {}, "null"),
    ],
)
def test_a_rule_that_cannot_decide_an_event_raises_a_runtime_error(
    expression: str, roots: dict[str, dict[str, Any]], words: str
) -> None:
    compiled = compile_rule(expression)
    with pytest.raises(RuleRuntimeError) as caught:
        compiled.evaluate(context(**roots))
    assert words in caught.value.reason.lower() or words in caught.value.reason
    assert caught.value.expression == expression


def test_an_input_that_is_not_a_mapping_is_a_runtime_error() -> None:
    with pytest.raises(RuleRuntimeError, match="state must be a mapping of fields, not str"):
        compile_rule("state.max_days_past_due > 30").evaluate({"state": "late"})


def test_a_runtime_error_names_the_rule_and_version() -> None:
    failing = rule("state.score_change / features.orders_count_7d < -1", id="ratio", version=3)
    with pytest.raises(RuleRuntimeError) as caught:
        failing.matches(context())
    assert (caught.value.rule_id, caught.value.rule_version) == ("ratio", 3)
    assert caught.value.message.startswith("rule ratio v3 failed on this event: division by zero")


# The flat variables a rule runs on must give what CEL gives on the nested inputs.
_EQUIVALENT = [
    COMBINED,
    "has(state.score) && state.score != null && state['score'] < 600",
    "size(state) == 11 && state.utilisation > 0.5",
    "[10, 20, 40].exists(d, state.max_days_past_due > d) || features.order_velocity_ratio >= 3.0",
    "state.grade_notches_down >= 2 || state.score_change <= -40",
]


@given(
    dpd=st.integers(0, 120),
    utilisation=st.decimals(0, 2, places=3),
    orders_7d=st.integers(0, 40),
    orders_90d=st.integers(0, 200),
    score=st.none() | st.integers(300, 900),
    notches=st.integers(0, 4),
    velocity=st.floats(0, 10),
)
def test_rules_run_on_flat_inputs_give_what_cel_gives_on_nested_ones(
    dpd: int,
    utilisation: Decimal,
    orders_7d: int,
    orders_90d: int,
    score: int | None,
    notches: int,
    velocity: float,
) -> None:
    ctx = context(
        state={"max_days_past_due": dpd, "utilisation": utilisation, "score": score, "grade_notches_down": notches},
        features={"orders_count_7d": orders_7d, "orders_count_90d": orders_90d, "order_velocity_ratio": velocity},
    )
    nested = {
        "state": {**ctx["state"], "utilisation": float(utilisation), "exposure": 90000.0, "credit_limit": 100000.0},
        "features": ctx["features"],
    }
    nested["state"]["overdue_amount"] = 0.0
    for expression in _EQUIVALENT:
        try:
            expected: object = cel.compile(expression).execute(nested)
        # Whatever the engine raises on the nested inputs, the rule must fail on the flat ones too.
        except Exception:
            expected = RuleRuntimeError
        try:
            got: object = compile_rule(expression).evaluate(ctx)
        except RuleRuntimeError:
            got = RuleRuntimeError
        assert got == expected, expression


# ── rules and rule sets ──────────────────────────────────────────────────────────────────────────────────────────


def test_a_rule_set_converts_once_and_returns_the_rules_that_hold() -> None:
    rules = [
        rule("state.max_days_past_due > 30", id="dpd30"),
        rule("state.max_days_past_due > 60", id="dpd60"),
        rule("size(customer) == 5 && customer.on_watch_list", id="watched"),
    ]
    ruleset = RuleSet(rules)
    assert [r.id for r in ruleset.matching(context(state={"max_days_past_due": 45}))] == ["dpd30"]
    prepared = ruleset.prepare(context(state={"max_days_past_due": 90}, customer={"on_watch_list": True}))
    assert [r.id for r in ruleset.matching(prepared)] == ["dpd30", "dpd60", "watched"]


def test_a_rule_set_reports_the_rule_that_failed() -> None:
    ruleset = RuleSet([rule("true", id="fine"), rule("1 / features.orders_count_7d > 0", id="ratio")])
    with pytest.raises(RuleRuntimeError, match="rule ratio v1 failed"):
        ruleset.matching(context())


def test_a_rule_set_refuses_two_versions_of_one_rule() -> None:
    with pytest.raises(ValidationFailed, match="appears twice"):
        RuleSet([rule("true"), rule("false", version=2)])


def test_rule_lifecycle_goes_draft_active_retired_and_never_back() -> None:
    draft = rule(COMBINED)
    active = draft.transition(RuleStatus.ACTIVE)
    assert active.status is RuleStatus.ACTIVE and active.version == 1
    assert active.transition(RuleStatus.RETIRED).status is RuleStatus.RETIRED
    with pytest.raises(ValidationFailed, match="cannot go from retired to active"):
        active.transition(RuleStatus.RETIRED).transition(RuleStatus.ACTIVE)
    changed = active.next_version(expression="state.max_days_past_due > 45")
    assert (changed.version, changed.status, changed.id) == (2, RuleStatus.DRAFT, draft.id)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"id": "Bad Id"}, "id"),
        ({"version": 0}, "version"),
        ({"name_zh": " "}, "name"),
        ({"suppression": timedelta(hours=-1)}, "suppression"),
    ],
)
def test_a_rule_with_bad_metadata_is_refused(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        rule("true", **overrides)
    assert [d.field for d in caught.value.details] == [field]


def test_every_function_the_compiler_allows_exists_in_the_installed_engine() -> None:
    calls = {
        "has": "has(state.score)",
        "all": "[1].all(x, x > 0)",
        "exists": "[1].exists(x, x > 0)",
        "exists_one": "[1].exists_one(x, x > 0)",
        "map": "[1].map(x, x + 1) == [2]",
        "filter": "size([1].filter(x, x > 0)) == 1",
        "size": "size(event.type) > 0",
        "int": "int(state.utilisation) >= 0",
        "uint": "uint(state.max_days_past_due) >= 0u",
        "double": "double(state.max_days_past_due) >= 0.0",
        "string": "string(state.max_days_past_due) != ''",
        "bytes": "bytes(event.type) != b''",
        "timestamp": "event.occurred_at > timestamp('2000-01-01T00:00:00Z')",
        "duration": "duration('1h') > duration('1m')",
        "type": "type(event.type) == string",
        "dyn": "dyn(state.max_days_past_due) >= 0",
        "contains": "event.type.contains('order')",
        "startsWith": "event.type.startsWith('order')",
        "endsWith": "event.type.endsWith('placed')",
        "matches": "event.type.matches('^order_')",
        **{
            name: f"event.occurred_at.{name}() >= 0"
            for name in (
                "getFullYear",
                "getMonth",
                "getDayOfYear",
                "getDayOfMonth",
                "getDate",
                "getDayOfWeek",
                "getHours",
                "getMinutes",
                "getSeconds",
                "getMilliseconds",
            )
        },
    }
    assert set(calls) == set(syntax.FUNCTIONS)
    for name, expression in calls.items():
        assert isinstance(compile_rule(expression).evaluate(context()), bool), name
