"""``StateCache``: customers' behaviour states kept by one process between its batches of monitoring events."""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime

from riskdesk.monitoring.windows import BehaviourState


class StateCache:
    """Customers' behaviour states kept by one process between its batches (a worker, the web app), so that a batch
    does not decode every customer's windows from JSON again. An entry is keyed by the state row's ``version`` and
    ``updated_at`` as that process wrote them: any other writer (another worker) changes both, and the batch then
    reads the row. An entry is taken out while a batch uses it and put back only when the batch has written, so a
    batch that fails leaves none behind; a transaction rolled back after that leaves a key the row never reaches."""

    def __init__(self, size: int = 50_000) -> None:
        self.size = size
        self._states: OrderedDict[int, tuple[int, datetime | None, BehaviourState]] = OrderedDict()

    def take(self, customer_id: int, version: int, updated_at: datetime | None) -> BehaviourState | None:
        found = self._states.pop(customer_id, None)
        if found is None or found[0] != version or found[1] != updated_at:
            return None
        return found[2]

    def put(self, customer_id: int, version: int, updated_at: datetime | None, state: BehaviourState) -> None:
        self._states[customer_id] = (version, updated_at, state)
        while len(self._states) > self.size:
            self._states.popitem(last=False)
