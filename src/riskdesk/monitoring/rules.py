"""Analysts' rules: a closed, safe expression language (CEL), compiled once, evaluated per event, backtested.

A rule is a CEL expression over four inputs — ``event``, ``state``, ``features``, ``customer`` (see
``vocabulary``) — that gives true or false, e.g.::

    state.max_days_past_due > 30 && features.orders_count_7d > 2 * features.orders_count_90d / 12

CEL is not Turing complete and cannot reach Python: a rule can read its inputs and call CEL's own functions,
nothing else (no Python ``eval``; the engine is Rust). ``compile_rule`` refuses, with a line and column, a rule
that does not parse, a name outside the four inputs, an undeclared field and an unknown function; it then runs the
rule once on a sample of every event type and refuses one that fails there (a type error such as
``event.days_late > 30`` on an order, where ``days_late`` is null) or that does not give true or false.

At run time a rule that cannot decide one event (a null where a number was needed, a division by zero) raises
``RuleRuntimeError``: the caller dead-letters that event and goes on. It is never taken as ``false``.

Speed: converting inputs to CEL values costs more than running a rule, so a rule gets only the fields it reads,
as flat variables (``inputs``), and ``RuleSet`` converts one event's inputs once for all its rules.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple

import cel

from riskdesk.errors import DomainError, ErrorDetail, ValidationFailed
from riskdesk.monitoring import syntax
from riskdesk.monitoring.inputs import InputBuilder, InputError, PreparedInputs
from riskdesk.monitoring.vocabulary import (
    EVENT_TYPES,
    VOCABULARY,
    event_fields_of,
    sample_contexts,
)

MAX_EXPRESSION_LENGTH = 4000


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Tier(StrEnum):
    """How far along the road to default a hit puts the customer: watch → early warning → default candidate."""

    WATCH = "watch"
    EARLY_WARNING = "early_warning"
    DEFAULT_CANDIDATE = "default_candidate"


class RuleStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    RETIRED = "retired"


_TRANSITIONS = {
    RuleStatus.DRAFT: {RuleStatus.ACTIVE, RuleStatus.RETIRED},
    RuleStatus.ACTIVE: {RuleStatus.RETIRED},
    RuleStatus.RETIRED: set(),
}


@dataclass(frozen=True)
class PositionedDetail(ErrorDetail):
    """An error detail that also gives the column and the caret excerpt (an API error's ``details``)."""

    column: int | None = None
    excerpt: str = ""

    def as_dict(self) -> dict[str, Any]:
        out = super().as_dict()
        if self.column is not None:
            out["column"] = self.column
            out["excerpt"] = self.excerpt
        return out


def _excerpt(expression: str, line: int | None, column: int | None) -> str:
    if line is None or column is None:
        return ""
    lines = expression.split("\n")
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    return f"{text}\n{' ' * (column - 1)}^"


class RuleError(ValidationFailed):
    """The rule is refused: it does not compile, or reads what it may not. ``line``/``column`` are 1-based."""

    code = "rule_invalid"

    def __init__(self, reason: str, *, expression: str, line: int | None = None, column: int | None = None) -> None:
        where = f"line {line}, column {column}: " if line is not None and column is not None else ""
        detail = PositionedDetail("expression", reason, line, column, _excerpt(expression, line, column))
        super().__init__(f"the rule is refused: {where}{reason}", details=[detail])
        self.reason = reason
        self.expression = expression
        self.line = line
        self.column = column

    @property
    def excerpt(self) -> str:
        """The line in error with a caret under the column, for a monospace display."""
        return _excerpt(self.expression, self.line, self.column)


class RuleRuntimeError(DomainError):
    """A rule could not decide one event; the event goes to the dead-letter list with ``message``."""

    code = "rule_failed"
    status_code = 422

    def __init__(
        self, reason: str, *, expression: str, rule_id: str | None = None, rule_version: int | None = None
    ) -> None:
        if rule_id is not None:
            which = f"rule {rule_id} v{rule_version}"
        else:
            which = f"rule `{expression}`" if expression else "the rules' inputs"
        super().__init__(f"{which} failed on this event: {reason}")
        self.reason = reason
        self.expression = expression
        self.rule_id = rule_id
        self.rule_version = rule_version

    def for_rule(self, rule: Rule) -> RuleRuntimeError:
        return RuleRuntimeError(self.reason, expression=self.expression, rule_id=rule.id, rule_version=rule.version)


# ── compiled rules ───────────────────────────────────────────────────────────────────────────────────────────────

_ERROR_HINT = "a value is null or of another type than the rule expects (CEL never mixes int and double: 2.0 * x)"


def _runtime_reason(error: Exception) -> str:
    message = str(error).strip()
    if isinstance(error, KeyError):
        return f"no field {message}"
    if isinstance(error, ZeroDivisionError):
        return "division by zero"
    # The engine's words for a function applied to null or to a value of another type:
    undefined = re.match(r"Undefined variable or function: '(\w+)'", message)
    if undefined and undefined.group(1) in syntax.FUNCTIONS:
        return f"{undefined.group(1)}() cannot be applied to this value: it is null or of another type"
    if isinstance(error, TypeError):
        first = re.split(r"(?<=\.) ", message, maxsplit=1)[0]
        return f"{first} — {_ERROR_HINT}"
    return message or type(error).__name__


@dataclass(frozen=True)
class CompiledRule:
    """A rule checked and ready to run. ``references`` says what it reads: per input, its fields, or None for the
    whole input."""

    expression: str
    references: Mapping[str, frozenset[str] | None]
    _program: cel.Program = field(repr=False, compare=False)
    _inputs: InputBuilder = field(repr=False, compare=False)

    def evaluate(self, context: Mapping[str, Any]) -> bool:
        """True or false for one event's inputs (``{"event": {...}, "state": {...}, ...}``); Decimals may be given.
        Raises ``RuleRuntimeError`` when the rule cannot decide."""
        try:
            prepared = self._inputs.build(context)
        except InputError as error:
            raise RuleRuntimeError(error.reason, expression=self.expression) from None
        return self.run(PreparedInputs(prepared))

    def run(self, prepared: PreparedInputs) -> bool:
        """Evaluate on inputs a ``RuleSet`` holding this rule prepared."""
        try:
            result = self._program.execute(prepared.context)
        # The engine raises TypeError, KeyError, RuntimeError, ValueError, ZeroDivisionError or OverflowError for
        # one event's failure; each means the same thing here: this rule cannot decide this event.
        except Exception as error:
            raise RuleRuntimeError(_runtime_reason(error), expression=self.expression) from error
        if type(result) is not bool:
            raise RuleRuntimeError(f"the rule gave {result!r}, not true or false", expression=self.expression)
        return result


@functools.lru_cache(maxsize=2048)
def compile_rule(expression: str) -> CompiledRule:
    """Parse and check a rule; raises ``RuleError`` with the position of the first problem."""
    if not expression.strip():
        raise RuleError("the rule is empty", expression=expression)
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise RuleError(f"the rule is longer than {MAX_EXPRESSION_LENGTH} characters", expression=expression)
    try:
        cel.compile(expression)
    except ValueError as error:
        raise _refusal(syntax.parse_error(expression, str(error)), expression) from None
    references, unknown = syntax.analyse(expression, VOCABULARY)
    if unknown is not None:
        raise _refusal(unknown, expression)
    compiled = CompiledRule(
        expression,
        references.reads(),
        cel.compile(syntax.flatten(expression, references)),
        InputBuilder(references.fields, references.whole),
    )
    _try_on_samples(compiled)
    return compiled


def _refusal(problem: syntax.Problem, expression: str) -> RuleError:
    if problem.position is None:
        return RuleError(problem.message, expression=expression)
    return RuleError(problem.message, expression=expression, line=problem.position.line, column=problem.position.column)


@functools.cache
def _samples() -> list[tuple[str, dict[str, dict[str, Any]]]]:
    return list(sample_contexts())


def _try_on_samples(compiled: CompiledRule) -> None:
    """Run the rule on a realistic sample of each event type. A type error there is a type error on every such
    event, so the rule is refused now rather than dead-lettering the stream later. Arithmetic errors depend on
    the values, not the rule, and are left to run time — unless the rule fails on every sample (``x / 0``)."""
    samples = _samples()
    value_errors = []
    for what, context in samples:
        try:
            compiled.evaluate(context)
        except RuleRuntimeError as error:
            if isinstance(error.__cause__, ArithmeticError | ValueError):
                value_errors.append(error.reason)
                continue
            hint = _null_hint(compiled, context)
            said = error.reason.replace(f" — {_ERROR_HINT}", "") if hint else error.reason
            reason = f"it fails on {what}: {said}{hint}"
            raise RuleError(reason, expression=compiled.expression) from None
    if len(value_errors) == len(samples):
        raise RuleError(f"it fails on every event: {value_errors[0]}", expression=compiled.expression)


def _null_hint(compiled: CompiledRule, context: Mapping[str, Mapping[str, Any]]) -> str:
    """Which fields the rule reads were null in the sample, and where they are set."""
    hints = []
    for root, names in compiled.references.items():
        for name in sorted(names or ()):
            if context[root].get(name) is not None:
                continue
            if root == "event":
                kinds = [t for t in EVENT_TYPES if name in event_fields_of(t)]
                where = kinds[0] if len(kinds) == 1 else f"{len(kinds)} event types"
                hints.append(f"event.{name} is null here: it is set on {where} only; check event.type first")
            else:
                hints.append(f"{root}.{name} is null here; check it with {root}.{name} != null first")
    return " (" + "; ".join(hints) + ")" if hints else ""


# ── rules: versions, lifecycle, sets ─────────────────────────────────────────────────────────────────────────────

_RULE_ID = re.compile(r"^[a-z][a-z0-9_]{1,63}$")


@dataclass(frozen=True)
class Rule:
    """One version of a rule. ``id`` is a stable code shared by its versions (``dpd_over_30``); a change is a new
    version. ``suppression``: after the rule fires for a customer, further hits within this time are suppressed."""

    id: str
    version: int
    name: str
    name_zh: str
    expression: str
    severity: Severity
    tier: Tier
    status: RuleStatus = RuleStatus.DRAFT
    suppression: timedelta = timedelta(0)
    description: str = ""

    def __post_init__(self) -> None:
        problems = []
        if not _RULE_ID.match(self.id):
            problems.append(ErrorDetail("id", "2–64 lower-case letters, digits and _, starting with a letter"))
        if self.version < 1:
            problems.append(ErrorDetail("version", "versions start at 1"))
        if not self.name.strip() or not self.name_zh.strip():
            problems.append(ErrorDetail("name", "a rule needs an English and a Chinese name"))
        if self.suppression < timedelta(0):
            problems.append(ErrorDetail("suppression", "the suppression window cannot be negative"))
        if problems:
            raise ValidationFailed(f"rule {self.id!r} is not valid", details=problems)

    @property
    def compiled(self) -> CompiledRule:
        return compile_rule(self.expression)

    def matches(self, context: Mapping[str, Any]) -> bool:
        try:
            return self.compiled.evaluate(context)
        except RuleRuntimeError as error:
            raise error.for_rule(self) from error.__cause__

    def transition(self, status: RuleStatus) -> Rule:
        """The same version in another status: draft → active → retired (a draft may also be retired unused)."""
        if status not in _TRANSITIONS[self.status]:
            raise ValidationFailed(f"rule {self.id} v{self.version} cannot go from {self.status} to {status}")
        if status is RuleStatus.ACTIVE:
            compile_rule(self.expression)
        return replace(self, status=status)

    def next_version(self, **changes: Any) -> Rule:
        """A new draft version with some fields changed (``expression=…``, ``severity=…``)."""
        return replace(self, **changes, version=self.version + 1, status=RuleStatus.DRAFT)


class RuleSet:
    """Rules evaluated together on each event: the inputs are converted once for all of them."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = tuple(rules)
        ids = [rule.id for rule in self.rules]
        if len(set(ids)) != len(ids):
            raise ValidationFailed("a rule set holds one version of each rule; an id appears twice")
        self._compiled = [(rule, rule.compiled) for rule in self.rules]
        fields: dict[str, set[str]] = {}
        whole: set[str] = set()
        for _, compiled in self._compiled:
            for root, names in compiled.references.items():
                if names is None:
                    whole.add(root)
                else:
                    fields.setdefault(root, set()).update(names)
        self._inputs = InputBuilder(fields, whole)

    def prepare(self, context: Mapping[str, Any]) -> PreparedInputs:
        """One event's inputs, checked and converted once for every rule of the set."""
        try:
            return PreparedInputs(self._inputs.build(context))
        except InputError as error:
            raise RuleRuntimeError(error.reason, expression="") from None

    def matching(self, context: Mapping[str, Any] | PreparedInputs) -> list[Rule]:
        """The rules that hold for this event, in the set's order; ``RuleRuntimeError`` if any cannot decide."""
        prepared = context if isinstance(context, PreparedInputs) else self.prepare(context)
        hits = []
        for rule, compiled in self._compiled:
            try:
                if compiled.run(prepared):
                    hits.append(rule)
            except RuleRuntimeError as error:
                raise error.for_rule(rule) from error.__cause__
        return hits


# ── suppression and backtests ────────────────────────────────────────────────────────────────────────────────────


class Suppression:
    """When each rule last fired for each customer, to suppress repeats within the rule's window. Times are
    ``occurred_at``: a hit at t is suppressed when the rule fired for the customer at f with |t − f| < window (a
    late event counts too). Pure and in memory; the alert store keeps the durable copy."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, int], datetime] = {}

    def admit(self, rule: Rule, customer_id: int, at: datetime) -> bool:
        """True if the hit should fire (and remember it), False if suppressed."""
        key = (rule.id, customer_id)
        last = self._last.get(key)
        if last is not None and abs(at - last) < rule.suppression:
            return False
        self._last[key] = at if last is None else max(last, at)
        return True


class Flag(NamedTuple):
    customer_id: int
    occurred_at: datetime
    event_id: str | None = None  # the event's own id, when the history gives ``event.event_id``


@dataclass(frozen=True)
class BacktestFailure:
    customer_id: int
    occurred_at: datetime
    reason: str
    event_id: str | None = None


@dataclass(frozen=True)
class Unavailable:
    """An input the stored history cannot give for one event (``state`` of an event stored before its snapshot
    was kept): a rule reading that input fails on the event with ``reason`` — it is never taken as false."""

    reason: str


@dataclass(frozen=True)
class BacktestReport:
    rule_id: str
    rule_version: int
    evaluated: int
    flags: list[Flag]
    suppressed: int
    failures: list[BacktestFailure]

    @property
    def customers(self) -> list[int]:
        return sorted({flag.customer_id for flag in self.flags})


History = Iterable[tuple[int, datetime, Mapping[str, Any]]]


class _Run:
    """One rule's tally in a backtest."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.compiled = rule.compiled
        self.roots = tuple(self.compiled.references)
        self.suppression = Suppression()
        self.flags: list[Flag] = []
        self.failures: list[BacktestFailure] = []
        self.suppressed = 0

    def evaluate(self, customer_id: int, occurred_at: datetime, context: Mapping[str, Any]) -> None:
        event = context.get("event")
        event_id = event.get("event_id") if isinstance(event, Mapping) else None
        missing = next((context[r] for r in self.roots if isinstance(context.get(r), Unavailable)), None)
        if missing is not None:
            self.failures.append(BacktestFailure(customer_id, occurred_at, missing.reason, event_id))
            return
        try:
            hit = self.compiled.evaluate(context)
        except RuleRuntimeError as error:
            self.failures.append(BacktestFailure(customer_id, occurred_at, error.reason, event_id))
            return
        if not hit:
            return
        if self.suppression.admit(self.rule, customer_id, occurred_at):
            self.flags.append(Flag(customer_id, occurred_at, event_id))
        else:
            self.suppressed += 1


def run_backtests(rules: Sequence[Rule], history: History) -> list[BacktestReport]:
    """Replay stored history — (customer id, occurred_at, the inputs the rules would have seen) in occurred_at
    order per customer — through several rule versions at once (a draft and the active version it would
    replace), each with its own suppression window: which customers each would have flagged and when. Events a
    rule could not decide, or whose input it reads is ``Unavailable``, are counted as its failures, not flags."""
    runs = [_Run(rule) for rule in rules]
    latest: dict[int, datetime] = {}
    evaluated = 0
    for customer_id, occurred_at, context in history:
        previous = latest.get(customer_id)
        if previous is not None and occurred_at < previous:
            raise ValidationFailed(
                f"backtest history must be in occurred_at order per customer: customer {customer_id} has "
                f"{occurred_at.isoformat()} after {previous.isoformat()}"
            )
        latest[customer_id] = occurred_at
        evaluated += 1
        for run in runs:
            run.evaluate(customer_id, occurred_at, context)
    return [
        BacktestReport(run.rule.id, run.rule.version, evaluated, run.flags, run.suppressed, run.failures)
        for run in runs
    ]


def run_backtest(rule: Rule, history: History) -> BacktestReport:
    """One rule version, whatever its status, over stored history (see ``run_backtests``): which customers it
    would have flagged and when, with its suppression window."""
    return run_backtests([rule], history)[0]


def backtest(rule: Rule, history: History) -> list[Flag]:
    """The (customer id, occurred_at) the rule would have flagged; raises ``RuleRuntimeError`` on the first event
    it could not decide (``run_backtest`` counts those instead)."""
    report = run_backtest(rule, history)
    if report.failures:
        first = report.failures[0]
        raise RuleRuntimeError(
            f"customer {first.customer_id} at {first.occurred_at.isoformat()}: {first.reason}",
            expression=rule.expression,
            rule_id=rule.id,
            rule_version=rule.version,
        )
    return report.flags


def active_rule_set(rules: Iterable[Rule]) -> RuleSet:
    """The active versions among ``rules``, as a set ready for events."""
    return RuleSet(rule for rule in rules if rule.status is RuleStatus.ACTIVE)
