"""``StateCache``: what one process keeps between its batches of monitoring events — each customer's behaviour
state and inputs, and the compiled active rules."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from riskdesk.monitoring.windows import BehaviourState

if TYPE_CHECKING:
    from decimal import Decimal

    from riskdesk.credit.buckets import Exposure
    from riskdesk.credit.exposure import Position
    from riskdesk.monitoring.rules import RuleSet


@dataclass
class CustomerInputs:
    """What the intake reads of a customer besides its behaviour: the ``customer`` input (profile and watch-list
    standing), its credit position (open items, reserving checks, limit) and its last valuation, its score and
    grade, when each rule last fired for it, and the newest order event of the references it has seen.
    ``complete_from``: its reserving checks and alerts are all here from that time on — a batch with earlier events
    (late ones) reads them again."""

    profile: dict[str, Any]
    position: Position
    score: dict[str, Any]
    fired: dict[str, list[datetime]]
    complete_from: datetime
    order_times: dict[str, datetime] = field(default_factory=dict)
    ordered: set[str] = field(default_factory=set)  # references of its checks whose order has arrived
    items_version: int = 0  # each accepted change of its items moves it on
    # The last valuation of its exposure, keyed by (day, that day's rates, items_version, reservations in force),
    # with the limit in the base currency: reused or adjusted by later events.
    valued: tuple[Any, Exposure, Decimal] | None = None


@dataclass
class Cached:
    behaviour: BehaviourState
    inputs: CustomerInputs | None = None


class StateCache:
    """Customers' behaviour states and inputs kept by one process between its batches (a worker, the web app), so
    that a batch neither decodes every customer's windows from JSON again nor reads its open items, grade and alerts.

    An entry is keyed by the state row's ``version`` and ``updated_at`` as that process wrote them. Any other
    writer changes both: another worker's batch writes the row, and every other change of a customer's inputs
    bumps it as it commits (``freshness``); the batch then reads the customer again. An entry is taken out while a
    batch uses it and put back only when the batch has written, so a batch that fails leaves none behind; a
    transaction rolled back after that leaves a key the row never reaches.

    The active rules are kept compiled with the ids of the rule versions they were built from: rule versions never
    change once active (a change is a new version), so the same ids are the same rules."""

    def __init__(self, size: int = 50_000) -> None:
        self.size = size
        self._states: OrderedDict[int, tuple[int, datetime | None, Cached]] = OrderedDict()
        self._rules: tuple[tuple[int, ...], RuleSet] | None = None

    def take(self, customer_id: int, version: int, updated_at: datetime | None) -> Cached | None:
        found = self._states.pop(customer_id, None)
        if found is None or found[0] != version or found[1] != updated_at:
            return None
        return found[2]

    def put(self, customer_id: int, version: int, updated_at: datetime | None, cached: Cached) -> None:
        self._states[customer_id] = (version, updated_at, cached)
        while len(self._states) > self.size:
            self._states.popitem(last=False)

    def rules(self, ids: tuple[int, ...]) -> RuleSet | None:
        return self._rules[1] if self._rules is not None and self._rules[0] == ids else None

    def keep_rules(self, ids: tuple[int, ...], rules: RuleSet) -> None:
        self._rules = (ids, rules)
