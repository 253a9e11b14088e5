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
from riskdesk.monitoring import intake, service

if TYPE_CHECKING:
    from redis import Redis

    from riskdesk.bootstrap import Container

log = structlog.get_logger("riskdesk.monitoring.stream")

FIELD = "event"
Entry = tuple[str, dict[str, str]]  # (entry id, fields)
Item = tuple[str, str, dict[str, str]]  # (stream, entry id, fields)


def default_consumer() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def connect(url: str) -> Redis:
    from redis import Redis

    return Redis.from_url(url, decode_responses=True)


def publish(redis: Redis, stream: str, events: Sequence[Any], *, partitions: int = 1, chunk: int = 1000) -> list[str]:
    """Append events to the stream — to its partition by customer when it has several — one entry each, pipelined;
    returns their entry ids."""
    names = partition_names(stream, partitions)
    ids: list[str] = []
    for start in range(0, len(events), chunk):
        pipe = redis.pipeline(transaction=False)
        for event in events[start : start + chunk]:
            name = names[partition_of(event, partitions)]
            pipe.xadd(name, {FIELD: json.dumps(event, ensure_ascii=False, default=str)})
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


def _by_stream(answer: Any) -> list[tuple[str, list[Entry]]]:
    """An XREADGROUP answer as (stream, entries): ``[[stream, entries], …]`` (RESP2) or ``{stream: [entries]}``
    (RESP3)."""
    if not answer:
        return []
    if isinstance(answer, dict):
        return [
            (name, list(found[0] if found and isinstance(found[0], list) else found)) for name, found in answer.items()
        ]
    return [(name, list(entries)) for name, entries in answer]


def _entries(answer: Any) -> list[Entry]:
    """The entries of a one-stream XREADGROUP answer."""
    return [entry for _, entries in _by_stream(answer) for entry in entries]


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
    """What a worker did; ``latencies_ms``: for each stored event, from its append to the stream (at
    ``appended_ms``, the entry id's clock) to the commit."""

    batches: int = 0
    entries: int = 0
    accepted: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    alerts: int = 0
    claimed: int = 0
    retried_alone: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    appended_ms: list[int] = field(default_factory=list)

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


_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""


def partition_names(stream: str, partitions: int) -> list[str]:
    """The streams of a partitioned stream: the stream itself when there is one partition."""
    return [stream] if partitions == 1 else [f"{stream}:{p}" for p in range(partitions)]


def partition_of(event: Any, partitions: int) -> int:
    """Events of one customer go to one partition (by customer id), so one worker at a time holds a customer."""
    try:
        return int(str(event.get("customer_id"))) % partitions if isinstance(event, dict) else 0
    except ValueError:
        return 0


@dataclass
class Worker:
    """One consumer of the group. With ``partitions`` > 1 the stream is split by customer (``partition_of``) and each
    partition is held by one worker at a time through a lease in Redis, shared fairly among the live workers (each
    holds at most ⌈partitions / workers⌉): two workers never hold the same customer's state at once, so they do
    not wait for each other's locks. A worker that dies stops renewing its leases; after ``claim_idle_ms`` another
    takes its partitions and claims the entries it had not acknowledged."""

    container: Container
    redis: Redis
    stream: str
    group: str
    consumer: str
    batch: int = 500
    block_ms: int = 100
    claim_idle_ms: int = 30_000
    partitions: int = 1
    actor: Actor = field(default_factory=lambda: Actor("monitor-worker"))
    stats: Stats = field(default_factory=Stats)
    stopping: bool = False
    owned: list[str] = field(default_factory=list)
    _own_pending_done: set[str] = field(default_factory=set)
    _next_claim: float = 0.0
    _next_lease: float = 0.0

    def __post_init__(self) -> None:
        if not 1 <= self.batch <= intake.MAX_BATCH:
            raise ValueError(f"batch: between 1 and {intake.MAX_BATCH} entries")
        if not 1 <= self.partitions <= 256:
            raise ValueError("partitions: between 1 and 256")
        self.names = partition_names(self.stream, self.partitions)
        for name in self.names:
            ensure_group(self.redis, name, self.group)
        if self.partitions == 1:
            self.owned = list(self.names)

    # ── partitions ───────────────────────────────────────────────────────────────────────────────────────────

    def _lease(self, name: str) -> str:
        return f"{name}:lease"

    def rebalance(self) -> None:
        """Renew this worker's leases, give back what is over its fair share, take free partitions up to it; a
        partition taken over has its pending entries claimed at once (its previous holder is gone)."""
        if self.partitions == 1:
            return
        now_ms = int(time.time() * 1000)
        workers = f"{self.stream}:workers"
        pipe = self.redis.pipeline(transaction=False)
        pipe.zadd(workers, {self.consumer: now_ms})
        pipe.zremrangebyscore(workers, "-inf", now_ms - self.claim_idle_ms)
        pipe.zcard(workers)
        live = max(1, int(pipe.execute()[-1]))
        share = -(-self.partitions // live)
        self.owned = [
            n for n in self.owned if self.redis.eval(_RENEW, 1, self._lease(n), self.consumer, self.claim_idle_ms)
        ]
        while len(self.owned) > share:
            self.redis.eval(_RELEASE, 1, self._lease(self.owned.pop()), self.consumer)
        for name in self.names:
            if len(self.owned) >= share:
                break
            if name not in self.owned and self.redis.set(
                self._lease(name), self.consumer, nx=True, px=self.claim_idle_ms
            ):
                self.owned.append(name)
                self._own_pending_done.discard(name)
        self.owned.sort()

    def release(self) -> None:
        """Give back every lease (a worker that stops)."""
        if self.partitions == 1:
            return
        for name in self.owned:
            self.redis.eval(_RELEASE, 1, self._lease(name), self.consumer)
        self.redis.zrem(f"{self.stream}:workers", self.consumer)
        self.owned = []

    # ── reading ──────────────────────────────────────────────────────────────────────────────────────────────

    def _pending_of(self, name: str) -> list[Item]:
        """A partition's entries this worker may have to take over: first its own not acknowledged (a restart
        under the same name), then, for a partition just taken over, every other consumer's."""
        answer = self.redis.xreadgroup(self.group, self.consumer, {name: "0"}, count=self.batch)
        own = [(name, *e) for e in _entries(answer) if e[1]]  # an entry deleted meanwhile comes back without fields
        if own or self.partitions == 1:
            return own
        return self._claim(name, min_idle_ms=0)

    def _claim(self, name: str, *, min_idle_ms: int) -> list[Item]:
        """Entries another consumer has held longer than ``min_idle_ms`` without acknowledging them."""
        _, entries, deleted = self.redis.xautoclaim(
            name, self.group, self.consumer, min_idle_time=min_idle_ms, start_id="0-0", count=self.batch
        )
        if deleted:  # pending entries already deleted from the stream: processed and deleted by someone
            self.redis.xack(name, self.group, *deleted)
        claimed = [(name, *e) for e in entries if e[1]]
        self.stats.claimed += len(claimed)
        return claimed

    def _new(self) -> list[Item]:
        if not self.owned:
            time.sleep(self.block_ms / 1000)  # more workers than partitions: wait for one to free up
            return []
        count = max(1, self.batch // len(self.owned))
        answer = self.redis.xreadgroup(
            self.group, self.consumer, dict.fromkeys(self.owned, ">"), count=count, block=self.block_ms
        )
        return [(name, *entry) for name, entries in _by_stream(answer) for entry in entries]

    def next_entries(self) -> list[Item]:
        now = time.monotonic()
        if now >= self._next_lease:
            self._next_lease = now + max(self.claim_idle_ms / 3000, 0.05)
            self.rebalance()
        for name in self.owned:
            if name not in self._own_pending_done:
                pending = self._pending_of(name)
                if pending:
                    return pending
                self._own_pending_done.add(name)
        if now >= self._next_claim:
            self._next_claim = now + max(self.claim_idle_ms / 4000, 0.05)
            for name in self.owned:
                claimed = self._claim(name, min_idle_ms=self.claim_idle_ms)
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

    def _dead_letter_alone(self, item: Item, error: Exception) -> None:
        from riskdesk.db.session import unit_of_work

        with unit_of_work(self.container.session_factory) as session:
            service.dead_letter_raw(
                session,
                raw=_decoded(item[1:]),
                code="worker_error",
                reason=f"the worker could not process stream entry {item[1]}: {type(error).__name__}: {error}",
                actor=self.actor,
            )

    def process(self, items: list[Item]) -> None:
        """Store a batch, then acknowledge it; see the module's guarantees."""
        if not items:
            return
        try:
            results = [self._ingest([_decoded(item[1:]) for item in items])]
        except Exception as error:  # a bug or a lost database: find the entry, if it is one entry's fault
            log.warning("batch failed; trying its entries one by one", error=repr(error), entries=len(items))
            results = []
            for item in items:
                try:
                    results.append(self._ingest([_decoded(item[1:])]))
                except Exception as alone:
                    self._dead_letter_alone(item, alone)
                    self.stats.dead_lettered += 1
                self.stats.retried_alone += 1
        committed = time.time() * 1000
        by_stream: dict[str, list[str]] = {}
        for name, entry_id, _ in items:
            by_stream.setdefault(name, []).append(entry_id)
        pipe = self.redis.pipeline(transaction=True)
        for name, ids in by_stream.items():
            pipe.xack(name, self.group, *ids)
            pipe.xdel(name, *ids)
        pipe.execute()
        self.stats.batches += 1
        self.stats.entries += len(items)
        for result in results:
            self.stats.accepted += result.accepted
            self.stats.duplicates += result.duplicates
            self.stats.dead_lettered += result.dead_lettered
            self.stats.alerts += result.alerts
        appended = [entry_time_ms(entry_id) for _, entry_id, _ in items]
        self.stats.appended_ms.extend(appended)
        self.stats.latencies_ms.extend(committed - at for at in appended)

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
        try:
            while not self.stopping:
                items = self.next_entries()
                if items:
                    self.process(items)
                    idle_since = time.monotonic()
                    if on_batch is not None:
                        on_batch(self.stats)
                elif idle_exit_seconds is not None and time.monotonic() - idle_since >= idle_exit_seconds:
                    break
                if max_entries is not None and self.stats.entries >= max_entries:
                    break
        finally:
            self.release()
        return self.stats

    def stop_on_signals(self) -> None:
        def stop(signum: int, frame: FrameType | None) -> None:
            del frame
            log.info("stopping after the current batch", signal=signum)
            self.stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
