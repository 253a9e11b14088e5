"""The Redis Stream worker against the real Redis, on SQLite and PostgreSQL: entries stored once and acknowledged
after the commit, redeliveries counted as duplicates, unreadable entries dead-lettered, a crashed worker's entries
claimed by another — and a worker killed (SIGKILL) in the middle of a batch loses no event and duplicates no
alert."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from sqlalchemy import func, select

from riskdesk.audit.service import Actor
from riskdesk.bootstrap import Container
from riskdesk.customers import service as customers
from riskdesk.customers.schemas import CUSTOMER_CREATE
from riskdesk.monitoring import stream
from riskdesk.monitoring.models import Alert, DeadLetter, MonitoringEvent
from riskdesk.monitoring.state_cache import StateCache
from tests.conftest import company_payload

GROUP = "riskdesk-monitoring"
T0 = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)


@pytest.fixture
def redis(redis_stream: tuple[str, str]) -> Iterator[Redis]:
    client = stream.connect(redis_stream[0])
    yield client
    client.close()


@pytest.fixture
def customer_ids(container: Container) -> list[int]:
    with container.session_factory.begin() as session:
        return [
            customers.create_customer(
                session,
                data=CUSTOMER_CREATE.validate_python(company_payload()),
                keyring=container.keyring,
                actor=Actor("test"),
            ).id
            for _ in range(5)
        ]


def events_for(customer_ids: list[int], n: int, *, every_lawsuit: int = 10) -> list[dict[str, Any]]:
    """A stream of transactions with a lawsuit (the customer sued: one alert each, no suppression) every tenth."""
    out = []
    for i in range(n):
        base = {
            "event_id": f"ev-{i}",
            "customer_id": customer_ids[i % len(customer_ids)],
            "occurred_at": (T0 + timedelta(seconds=i)).isoformat(),
        }
        if i % every_lawsuit == every_lawsuit - 1:
            out.append(base | {"type": "lawsuit", "amount": "50000.00", "currency": "CNY", "role": "defendant"})
        else:
            out.append(
                base
                | {
                    "type": "transaction",
                    "amount": f"{1000 + i % 7}.00",
                    "currency": "CNY",
                    "channel": "bank",
                    "counterparty": "上海某某贸易有限公司",
                    "country": "CN",
                }
            )
    return out


def stored(container: Container) -> tuple[int, int, int]:
    """(events stored, lawsuit alerts, alerts in all)."""
    with container.session_factory() as session:
        events = session.scalar(select(func.count()).select_from(MonitoringEvent)) or 0
        lawsuits = (
            session.scalar(select(func.count()).select_from(Alert).where(Alert.rule_id == "lawsuit_or_enforcement"))
            or 0
        )
        alerts = session.scalar(select(func.count()).select_from(Alert)) or 0
    return events, lawsuits, alerts


def worker(container: Container, redis: Redis, name: str, consumer: str, **options: Any) -> stream.Worker:
    return stream.Worker(container=container, redis=redis, stream=name, group=GROUP, consumer=consumer, **options)


def test_a_worker_stores_each_entry_once_then_acknowledges_and_deletes_it(
    container: Container, redis: Redis, redis_stream: tuple[str, str], customer_ids: list[int]
) -> None:
    name = redis_stream[1]
    events = events_for(customer_ids, 120)
    stream.publish(redis, name, events)
    stream.publish(redis, name, events[:20])  # delivered twice: processed once
    redis.xadd(name, {"event": "{not json"})
    redis.xadd(name, {"other": "field"})
    stats = worker(container, redis, name, "w1", batch=50).run(idle_exit_seconds=0.3)
    assert (stats.entries, stats.accepted, stats.duplicates, stats.dead_lettered) == (142, 120, 20, 2)
    assert stored(container) == (120, 12, stats.alerts)
    assert redis.xlen(name) == 0
    assert redis.xpending(name, GROUP)["pending"] == 0
    with container.session_factory() as session:
        reasons = sorted(letter.reason for letter in session.scalars(select(DeadLetter)))
    assert len(reasons) == 2 and all("unreadable_entry" not in r for r in reasons)
    assert stats.summary()["latency_ms"]["p50"] is not None


def test_entries_stored_but_not_acknowledged_are_duplicates_when_claimed(
    container: Container, redis: Redis, redis_stream: tuple[str, str], customer_ids: list[int]
) -> None:
    """A worker that dies after its commit and before XACK: the entries are claimed and raise nothing again."""
    name = redis_stream[1]
    stream.publish(redis, name, events_for(customer_ids, 40))
    first = worker(container, redis, name, "crashes-after-commit", batch=40)
    entries = first.next_entries()
    assert len(entries) == 40
    first._ingest([stream._decoded(item[1:]) for item in entries])  # committed, never acknowledged
    before = stored(container)
    assert before[:2] == (40, 4)
    time.sleep(0.05)
    second = worker(container, redis, name, "survivor", batch=40, claim_idle_ms=20)
    stats = second.run(idle_exit_seconds=0.3)
    assert (stats.claimed, stats.accepted, stats.duplicates, stats.alerts) == (40, 0, 40, 0)
    assert stored(container) == before
    assert redis.xpending(name, GROUP)["pending"] == 0


def test_an_entry_that_breaks_the_batch_is_dead_lettered_alone_and_the_rest_go_on(
    container: Container, redis: Redis, redis_stream: tuple[str, str], customer_ids: list[int], monkeypatch: Any
) -> None:
    from riskdesk.monitoring import intake

    name = redis_stream[1]
    events = events_for(customer_ids, 10)
    stream.publish(redis, name, events)
    real = intake.ingest

    def breaks_on_ev3(session: Any, *, events: list[Any], **kwargs: Any) -> Any:
        if any(isinstance(e, dict) and e.get("event_id") == "ev-3" for e in events):
            raise RuntimeError("a bug that only this event triggers")
        return real(session, events=events, **kwargs)

    monkeypatch.setattr(intake, "ingest", breaks_on_ev3)
    stats = worker(container, redis, name, "w1", batch=10).run(idle_exit_seconds=0.3)
    assert (stats.accepted, stats.dead_lettered, stats.retried_alone) == (9, 1, 10)
    with container.session_factory() as session:
        (letter,) = session.scalars(select(DeadLetter))
    assert letter.code == "worker_error" and letter.event_id == "ev-3"
    assert "a bug that only this event triggers" in letter.reason
    assert redis.xlen(name) == 0


def worker_env(container: Container, url: str, name: str, **extra: str) -> dict[str, str]:
    """The environment of a ``riskdesk monitor worker`` process on the test's database and stream."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("RISKDESK_")},
        "RISKDESK_DATABASE_URL": container.settings.database_url,
        "RISKDESK_DATA_DIR": str(container.settings.data_dir),
        "RISKDESK_REDIS_URL": url,
        "RISKDESK_EVENTS_STREAM": name,
        "RISKDESK_EVENTS_GROUP": GROUP,
        **extra,
    }


def _start_worker(env: dict[str, str], consumer: str, batch: int, tmp: Path) -> subprocess.Popen[bytes]:
    options = ["--consumer", consumer, "--batch", str(batch), "--idle-exit", "2", "--stats-file"]
    return subprocess.Popen(
        [sys.executable, "-m", "riskdesk", "monitor", "worker", *options, str(tmp / f"{consumer}.json")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_killing_a_worker_in_the_middle_of_a_batch_loses_no_event_and_duplicates_no_alert(
    container: Container, redis: Redis, redis_stream: tuple[str, str], customer_ids: list[int], tmp_path: Path
) -> None:
    url, name = redis_stream
    total = 3000
    stream.ensure_group(redis, name, GROUP)
    stream.publish(redis, name, events_for(customer_ids, total))
    env = worker_env(container, url, name, RISKDESK_WORKER_CLAIM_IDLE_SECONDS="0.5")
    doomed = _start_worker(env, "doomed", 100, tmp_path)
    # Kill it once it has stored at least one batch and holds another, read but not acknowledged: freeze it
    # (SIGSTOP) when it seems so, check that it is so while frozen, then SIGKILL — or let it go on and look again.
    deadline = time.monotonic() + 120

    def held() -> int:
        pending: int = {c["name"]: c["pending"] for c in redis.xinfo_consumers(name, GROUP)}.get("doomed", 0)
        return pending

    while True:
        assert doomed.poll() is None, doomed.stderr.read().decode() if doomed.stderr else "the worker exited"
        assert time.monotonic() < deadline, "the worker never got going"
        if held() and redis.xlen(name) < total:  # a batch stored (and deleted from the stream), another in hand
            doomed.send_signal(signal.SIGSTOP)
            if held():
                doomed.send_signal(signal.SIGKILL)
                doomed.wait()
                break
            doomed.send_signal(signal.SIGCONT)
        time.sleep(0.005)
    assert redis.xpending(name, GROUP)["pending"] > 0  # entries it held die with it, unacknowledged
    assert stored(container)[0] < total
    survivor = _start_worker(env, "survivor", 200, tmp_path)
    assert survivor.wait(timeout=300) == 0, survivor.stderr.read().decode() if survivor.stderr else ""
    stats = json.loads((tmp_path / "survivor.json").read_text())
    assert stats["claimed"] > 0
    events, lawsuits, _ = stored(container)
    assert (events, lawsuits) == (total, total // 10)
    with container.session_factory() as session:
        ids = list(session.scalars(select(MonitoringEvent.event_id)))
        keys = list(session.scalars(select(Alert.dedup_key)))
    assert sorted(ids) == sorted(f"ev-{i}" for i in range(total))
    assert len(keys) == len(set(keys))
    assert redis.xlen(name) == 0
    assert redis.xpending(name, GROUP)["pending"] == 0


def test_a_state_cached_by_one_worker_is_not_used_after_another_worker_wrote_the_customer(
    container: Container, customer_ids: list[int]
) -> None:
    """Two workers (two caches, two containers on one database) take turns on one customer: each batch sees the
    orders the other stored (``features.orders_count_24h``), never its own stale copy."""
    from riskdesk.monitoring import intake
    from riskdesk.monitoring.models import CustomerMonitoringState
    from riskdesk.monitoring.windows import BehaviourState

    other = Container(settings=container.settings)
    customer = customer_ids[0]
    caches = (StateCache(), StateCache())

    def order(n: int) -> dict[str, Any]:
        return {
            "event_id": f"order-{n}",
            "type": "order_placed",
            "customer_id": customer,
            "occurred_at": (T0 + timedelta(minutes=n)).isoformat(),
            "amount": "1000.00",
            "currency": "CNY",
        }

    try:
        for n in range(6):
            worker_of = container if n % 2 == 0 else other
            with worker_of.session_factory.begin() as session:
                result = intake.ingest(
                    session, events=[order(n)], actor=Actor("test"), policy=worker_of.credit_policy, cache=caches[n % 2]
                )
            assert result.accepted == 1
            with container.session_factory() as session:
                stored = session.scalar(
                    select(CustomerMonitoringState.behaviour).where(CustomerMonitoringState.customer_id == customer)
                )
            assert BehaviourState.from_json(stored).snapshot(T0 + timedelta(minutes=n))["orders_count_24h"] == n + 1
        # Worker 1 wrote last: its copy is current (its next batch takes it), worker 0's copy is not (it reads the row).
        with other.session_factory() as session:
            row = session.scalar(select(CustomerMonitoringState).where(CustomerMonitoringState.customer_id == customer))
            assert row is not None
            assert caches[1]._states[customer][:2] == (row.version, row.updated_at)
            assert caches[0]._states[customer][:2] != (row.version, row.updated_at)
    finally:
        other.dispose()


def test_partitions_are_shared_by_the_live_workers_and_a_dead_workers_partitions_are_taken_over(
    container: Container, redis: Redis, redis_stream: tuple[str, str], customer_ids: list[int], tmp_path: Path
) -> None:
    """Four partitions, two workers: each holds two (a customer's events always in one partition, so one worker);
    the one killed in the middle of a batch loses its leases, the other takes its partitions over with the entries
    it held, and every event is stored once."""
    url, name = redis_stream
    total, partitions = 2000, 4
    names = stream.partition_names(name, partitions)
    for partition in names:
        stream.ensure_group(redis, partition, GROUP)
    events = events_for(customer_ids, total)
    assert {stream.partition_of(e, partitions) for e in events} == {c % partitions for c in customer_ids}
    env = worker_env(
        container, url, name, RISKDESK_EVENTS_PARTITIONS=str(partitions), RISKDESK_WORKER_CLAIM_IDLE_SECONDS="1"
    )

    def held_by_first() -> int:
        return sum(
            c["pending"] for partition in names for c in redis.xinfo_consumers(partition, GROUP) if c["name"] == "first"
        )

    first, second = _start_worker(env, "first", 50, tmp_path), _start_worker(env, "second", 50, tmp_path)
    try:
        deadline = time.monotonic() + 60
        while len(redis.keys(f"{name}:*:lease")) < partitions or redis.zcard(f"{name}:workers") < 2:
            assert time.monotonic() < deadline, "the workers did not take the partitions"
            time.sleep(0.05)
        time.sleep(1.0)  # a rebalancing round: each worker down to its share
        holders = [redis.get(f"{partition}:lease") for partition in names]
        assert sorted(holders) == ["first", "first", "second", "second"]
        stream.publish(redis, name, events, partitions=partitions)
        assert sum(redis.xlen(partition) for partition in names) > 0
        while True:  # kill `first` with entries in hand (read, not acknowledged), frozen to check
            assert time.monotonic() < deadline + 60, "`first` never held a batch"
            if held_by_first():
                first.send_signal(signal.SIGSTOP)
                if held_by_first():
                    first.send_signal(signal.SIGKILL)
                    first.wait()
                    break
                first.send_signal(signal.SIGCONT)
            time.sleep(0.002)
        assert second.wait(timeout=300) == 0, second.stderr.read().decode() if second.stderr else ""
    finally:
        for proc in (first, second):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        for partition in names:
            redis.delete(partition, f"{partition}:lease")
        redis.delete(f"{name}:workers")
    stats = json.loads((tmp_path / "second.json").read_text())
    assert stats["claimed"] > 0
    events_stored, lawsuits, _ = stored(container)
    assert (events_stored, lawsuits) == (total, total // 10)
    assert all(redis.xlen(partition) == 0 for partition in names)
