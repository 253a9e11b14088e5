"""Events through a Redis Stream: producers append, ``riskdesk monitor worker`` processes them as a consumer group.

Each stream entry holds one event as JSON in its field ``event``. Several workers share the stream as one consumer
group: Redis hands each entry to one of them. A worker:

1. reads what it was given before and did not acknowledge (its own pending entries, after a restart under the same
   name), then claims the entries another consumer left pending longer than ``claim_idle`` (``XAUTOCLAIM``: that
   worker crashed or hangs), then reads new entries (``XREADGROUP >``), up to ``batch`` at a time;
2. processes a batch with ``intake.ingest`` in one transaction, with the domain events it records, and commits;
3. only then acknowledges and deletes the batch's entries (``XACK`` + ``XDEL``).

So delivery is at least once and processing exactly once: a worker killed before its commit leaves its entries
pending, another worker claims them and stores them; one killed after its commit but before its acknowledgement
leaves entries whose event ids are stored already — the second delivery counts them as duplicates and raises no
alert (alerts are keyed by event, and the event is not applied twice). Nothing is acknowledged that is not stored.

An entry the intake cannot even read (not JSON) is dead-lettered like any invalid event. A batch that fails for
another reason (a bug, a lost database) is tried again one entry at a time; an entry that still fails alone is
dead-lettered with the error (``code = worker_error``) so the stream goes on, and is replayable from the desk.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING, Any

import structlog

from riskdesk.audit.service import Actor
from riskdesk.monitoring import intake

if TYPE_CHECKING:
    from redis import Redis

    from riskdesk.bootstrap import Container

log = structlog.get_logger("riskdesk.monitoring.stream")

FIELD = "event"
Entry = tuple[str, dict[str, str]]


def default_consumer() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def connect(url: str) -> Redis:
    from redis import Redis

    return Redis.from_url(url, decode_responses=True)


def publish(redis: Redis, stream: str, events: Sequence[Any], *, chunk: int = 1000) -> list[str]:
    """Append events to the stream (one entry each, pipelined); returns their entry ids."""
    ids: list[str] = []
    for start in range(0, len(events), chunk):
        pipe = redis.pipeline(transaction=False)
        for event in events[start : start + chunk]:
            pipe.xadd(stream, {FIELD: json.dumps(event, ensure_ascii=False, default=str)})
        ids.extend(pipe.execute())
    return ids


def ensure_group(redis: Redis, stream: str, group: str) -> None:
    """Create the consumer group (and the stream) if they are not there; reading starts at the stream's start."""
    from redis.exceptions import ResponseError

    try:
        redis.xgroup_create(stream, group, id="0", mkstream=True)
    except ResponseError as error:
        if "BUSYGROUP" not in str(error):
            raise


def entry_time_ms(entry_id: str) -> int:
    """When Redis appended the entry (its id is ``<milliseconds>-<sequence>``)."""
    return int(entry_id.split("-", 1)[0])


def _entries(answer: Any) -> list[Entry]:
    """The entries of one stream in an XREADGROUP answer: ``[[stream, entries]]`` (RESP2) or ``{stream: [entries]}``
    (RESP3)."""
    if not answer:
        return []
    if isinstance(answer, dict):
        (found,) = answer.values()
        return list(found[0] if found and isinstance(found[0], list) else found)
    return list(answer[0][1])


def _decoded(entry: Entry) -> Any:
    text = entry[1].get(FIELD)
    if text is None:
        return {"unreadable_entry": entry[0], "error": f"the entry has no field {FIELD!r}"}
    try:
        return json.loads(text)
    except ValueError as error:
        return {"unreadable_entry": entry[0], "error": f"not JSON: {error}", "text": text[:2000]}


@dataclass
class Stats:
    """What a worker did; ``latencies_ms``: for each stored event, from its append to the stream to the commit."""

    batches: int = 0
    entries: int = 0
    accepted: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    alerts: int = 0
    claimed: int = 0
    retried_alone: int = 0
    latencies_ms: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies_ms)

        def pct(p: float) -> float | None:
            return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 2) if ordered else None

        return {
            "batches": self.batches,
            "entries": self.entries,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "dead_lettered": self.dead_lettered,
            "alerts": self.alerts,
            "claimed": self.claimed,
            "retried_alone": self.retried_alone,
            "latency_ms": {"p50": pct(0.50), "p99": pct(0.99), "max": ordered[-1] if ordered else None},
        }


@dataclass
class Worker:
    container: Container
    redis: Redis
    stream: str
    group: str
    consumer: str
    batch: int = 500
    block_ms: int = 100
    claim_idle_ms: int = 30_000
    actor: Actor = field(default_factory=lambda: Actor("monitor-worker"))
    stats: Stats = field(default_factory=Stats)
    stopping: bool = False
    _own_pending_done: bool = False
    _next_claim: float = 0.0

    def __post_init__(self) -> None:
        if not 1 <= self.batch <= intake.MAX_BATCH:
            raise ValueError(f"batch: between 1 and {intake.MAX_BATCH} entries")
        ensure_group(self.redis, self.stream, self.group)

    # ── reading ──────────────────────────────────────────────────────────────────────────────────────────────

    def _own_pending(self) -> list[Entry]:
        """What this consumer was given and did not acknowledge (a restart under the same name)."""
        answer = self.redis.xreadgroup(self.group, self.consumer, {self.stream: "0"}, count=self.batch)
        return [e for e in _entries(answer) if e[1]]  # an entry deleted meanwhile comes back without fields

    def _claim(self) -> list[Entry]:
        """Entries another consumer has held longer than ``claim_idle_ms`` without acknowledging them."""
        _, entries, deleted = self.redis.xautoclaim(
            self.stream, self.group, self.consumer, min_idle_time=self.claim_idle_ms, start_id="0-0", count=self.batch
        )
        if deleted:  # pending entries already deleted from the stream: processed and deleted by someone
            self.redis.xack(self.stream, self.group, *deleted)
        claimed = [e for e in entries if e[1]]
        self.stats.claimed += len(claimed)
        return claimed

    def _new(self) -> list[Entry]:
        answer = self.redis.xreadgroup(
            self.group, self.consumer, {self.stream: ">"}, count=self.batch, block=self.block_ms
        )
        return _entries(answer)

    def next_entries(self) -> list[Entry]:
        if not self._own_pending_done:
            own = self._own_pending()
            if own:
                return own
            self._own_pending_done = True
        now = time.monotonic()
        if now >= self._next_claim:
            self._next_claim = now + max(self.claim_idle_ms / 4000, 0.05)
            claimed = self._claim()
            if claimed:
                return claimed
        return self._new()

    # ── processing ───────────────────────────────────────────────────────────────────────────────────────────

    def _ingest(self, events: list[Any]) -> intake.IngestResult:
        from riskdesk.db.session import unit_of_work

        with unit_of_work(self.container.session_factory) as session:
            result = intake.ingest(
                session,
                events=events,
                actor=self.actor,
                policy=self.container.credit_policy,
                cache=self.container.monitoring_states,
            )
            self.container.dispatch_events(session)
        return result

    def _dead_letter_alone(self, entry: Entry, error: Exception) -> None:
        from riskdesk.db.session import unit_of_work

        with unit_of_work(self.container.session_factory) as session:
            intake.dead_letter_raw(
                session,
                raw=_decoded(entry),
                code="worker_error",
                reason=f"the worker could not process stream entry {entry[0]}: {type(error).__name__}: {error}",
                actor=self.actor,
            )

    def process(self, entries: list[Entry]) -> None:
        """Store a batch, then acknowledge it; see the module's guarantees."""
        if not entries:
            return
        try:
            results = [self._ingest([_decoded(e) for e in entries])]
        except Exception as error:  # a bug or a lost database: find the entry, if it is one entry's fault
            log.warning("batch failed; trying its entries one by one", error=repr(error), entries=len(entries))
            results = []
            for entry in entries:
                try:
                    results.append(self._ingest([_decoded(entry)]))
                except Exception as alone:
                    self._dead_letter_alone(entry, alone)
                    self.stats.dead_lettered += 1
                self.stats.retried_alone += 1
        committed = time.time() * 1000
        ids = [entry_id for entry_id, _ in entries]
        pipe = self.redis.pipeline(transaction=True)
        pipe.xack(self.stream, self.group, *ids)
        pipe.xdel(self.stream, *ids)
        pipe.execute()
        self.stats.batches += 1
        self.stats.entries += len(entries)
        for result in results:
            self.stats.accepted += result.accepted
            self.stats.duplicates += result.duplicates
            self.stats.dead_lettered += result.dead_lettered
            self.stats.alerts += result.alerts
        self.stats.latencies_ms.extend(committed - entry_time_ms(entry_id) for entry_id in ids)

    def run(
        self,
        *,
        max_entries: int | None = None,
        idle_exit_seconds: float | None = None,
        on_batch: Callable[[Stats], None] | None = None,
    ) -> Stats:
        """Work until stopped (SIGTERM, SIGINT: the current batch is finished first), ``max_entries`` are done, or
        nothing came for ``idle_exit_seconds``."""
        idle_since = time.monotonic()
        while not self.stopping:
            entries = self.next_entries()
            if entries:
                self.process(entries)
                idle_since = time.monotonic()
                if on_batch is not None:
                    on_batch(self.stats)
            elif idle_exit_seconds is not None and time.monotonic() - idle_since >= idle_exit_seconds:
                break
            if max_entries is not None and self.stats.entries >= max_entries:
                break
        return self.stats

    def stop_on_signals(self) -> None:
        def stop(signum: int, frame: FrameType | None) -> None:
            del frame
            log.info("stopping after the current batch", signal=signum)
            self.stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
