"""A rule's inputs, from Python values to what the CEL engine takes: only the fields the rules read, each checked
against its declared type and converted (Decimal → double, 3.0 → 3 for an int), a declared field left out → null.

Each selected field becomes a flat top-level variable (``state.utilisation`` runs as ``state__utilisation``, see
``syntax.flatten``): the engine converts a nested map's string keys several times slower than top-level names,
and conversion, not evaluation, is what a rule costs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import cel

from riskdesk.monitoring import syntax
from riskdesk.monitoring.vocabulary import ROOTS, VOCABULARY, FieldSpec, FieldType


class InputError(Exception):
    """A value given for a rule's input is missing or of the wrong type."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _converter(root: str, spec: FieldSpec) -> Callable[[Any], Any]:
    """A function that checks one field's value and converts it for CEL (Decimal → double, 3.0 → 3 for an int)."""
    path = f"{root}.{spec.name}"
    wanted = {
        FieldType.DOUBLE: "a finite number",
        FieldType.INT: "a whole number",
        FieldType.BOOL: "true or false",
        FieldType.STRING: "text",
        FieldType.TIMESTAMP: "a timezone-aware date and time",
    }[spec.type]

    def refuse(value: Any) -> InputError:
        if value is None:
            return InputError(f"{path} is missing (it cannot be null)")
        return InputError(f"{path} must be {wanted}, not {value!r}")

    def to_double(value: Any) -> Any:
        if isinstance(value, float | Decimal | int) and not isinstance(value, bool):
            number = float(value)
            if math.isfinite(number):
                return number
        elif value is None and spec.nullable:
            return None
        raise refuse(value)

    def to_int(value: Any) -> Any:
        if type(value) is int:
            return value
        if isinstance(value, Decimal | float) and math.isfinite(value) and value == int(value):
            return int(value)
        if value is None and spec.nullable:
            return None
        raise refuse(value)

    def to_other(value: Any) -> Any:
        if value is None:
            if spec.nullable:
                return None
        elif spec.type is FieldType.BOOL:
            if isinstance(value, bool):
                return value
        elif spec.type is FieldType.STRING:
            if isinstance(value, str):
                return value
        elif isinstance(value, datetime) and value.tzinfo is not None:
            return value
        raise refuse(value)

    if spec.type is FieldType.DOUBLE:
        return to_double
    if spec.type is FieldType.INT:
        return to_int
    return to_other


class InputBuilder:
    """Builds the CEL inputs of what rules read: each selected field as a flat variable (``state__utilisation``),
    and an input used as a whole as a map of all its declared fields; each value checked and converted."""

    def __init__(self, fields: Mapping[str, Iterable[str]], whole: Iterable[str]) -> None:
        whole = set(whole)
        self.plan: list[tuple[str, list[tuple[str, str, Callable[[Any], Any]]], bool]] = []
        for root in ROOTS:
            names = sorted(fields.get(root, ()))
            if not names and root not in whole:
                continue
            declared = VOCABULARY[root]
            chosen = list(declared) if root in whole else names
            steps = [(syntax.flat_name(root, n), n, _converter(root, declared[n])) for n in chosen]
            self.plan.append((root, steps, root in whole))

    def build(self, context: Mapping[str, Any]) -> cel.Context:
        variables: dict[str, Any] = {}
        for root, steps, whole in self.plan:
            given = context.get(root)
            if given is None:
                given = {}
            elif not isinstance(given, Mapping):
                raise InputError(f"{root} must be a mapping of fields, not {type(given).__name__}")
            if whole:
                values = {name: convert(given.get(name)) for _, name, convert in steps}
                variables[root] = values
                variables.update((syntax.flat_name(root, name), value) for name, value in values.items())
            else:
                for variable, name, convert in steps:
                    variables[variable] = convert(given.get(name))
        return cel.Context(variables)


@dataclass(frozen=True)
class PreparedInputs:
    """One event's inputs converted once, for every rule of a ``RuleSet``."""

    context: cel.Context
