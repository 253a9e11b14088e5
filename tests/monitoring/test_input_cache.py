"""The intake's cache of customers' inputs, on SQLite and PostgreSQL: a warm customer is not read again, and every
change of its inputs by another writer — through the ORM or a bulk statement, committed before or made earlier in
the same transaction — is seen by the next batch (``monitoring.freshness``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import pytest
from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from riskdesk.audit.service import Actor
from riskdesk.bootstrap import Container
from riskdesk.credit import buckets, exposure
from riskdesk.credit.models import ExposureItem
from riskdesk.customers import service as customers
from riskdesk.customers.schemas import CUSTOMER_CREATE, CustomerUpdate
from riskdesk.monitoring import contexts, intake, watch_list
from riskdesk.monitoring.models import CustomerMonitoringState, MonitoringEvent
from tests.conftest import company_payload

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ACTOR = Actor("test")


@pytest.fixture
def customer_id(container: Container) -> int:
    with container.session_factory.begin() as session:
        return customers.create_customer(
            session, data=CUSTOMER_CREATE.validate_python(company_payload()), keyring=container.keyring, actor=ACTOR
        ).id


def transaction(customer_id: int, n: int) -> dict[str, Any]:
    return {
        "event_id": f"tx-{customer_id}-{n}",
        "type": "transaction",
        "customer_id": customer_id,
        "occurred_at": (T0 + timedelta(minutes=n)).isoformat(),
        "amount": "100.00",
        "currency": "CNY",
        "channel": "bank",
    }


def ingest(container: Container, session: Session, *events: dict[str, Any]) -> None:
    result = intake.ingest(
        session, events=list(events), actor=ACTOR, policy=container.credit_policy, cache=container.monitoring_states
    )
    assert result.accepted == len(events), result.rejections


def exposure_seen(container: Container, event_id: str) -> Decimal:
    """The exposure the rules saw for a stored event (its state snapshot)."""
    with container.session_factory() as session:
        payload = session.scalar(select(MonitoringEvent.payload).where(MonitoringEvent.event_id == event_id))
    assert payload is not None
    exposure_value: Decimal = contexts.state_from_json(payload[contexts.STATE_KEY])["exposure"]
    return exposure_value


def item(customer_id: int, reference: str, amount: str) -> exposure.ItemIn:
    return exposure.ItemIn(
        customer_id=customer_id,
        kind="invoice",
        reference=reference,
        currency="CNY",
        open_amount=Decimal(amount),
        document_date=date(2026, 2, 1),
        due_on=date(2026, 4, 1),
    )


def test_a_warm_customer_is_not_read_again_by_the_next_batch(
    container: Container, customer_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    read: list[list[int]] = []
    positions = exposure.positions

    def recording(session: Session, **given: Any) -> exposure.Positions:
        read.append(list(given["customer_ids"]))
        return positions(session, **given)

    monkeypatch.setattr(exposure, "positions", recording)
    for n in range(3):
        with container.session_factory.begin() as session:
            ingest(container, session, transaction(customer_id, n))
    assert read == [[customer_id], [], []]


def _record_items(session: Session, customer_id: int) -> None:
    exposure.record_items(session, items=[item(customer_id, "INV-1", "5000.00")], base="CNY", actor=ACTOR)


def _bulk_insert(session: Session, customer_id: int) -> None:
    row = item(customer_id, "INV-1", "5000.00").model_dump() | {"updated_by": "erp"}
    session.execute(insert(ExposureItem), [row])


def _bulk_update(session: Session, customer_id: int) -> None:
    del customer_id  # the statement names the document, not the customer: its customer is found
    session.execute(update(ExposureItem).where(ExposureItem.reference == "INV-0").values(open_amount=Decimal("5000")))


@pytest.mark.parametrize("change", [_record_items, _bulk_insert, _bulk_update], ids=["orm", "insert", "update"])
def test_open_items_changed_by_another_writer_are_seen_by_the_next_batch(
    container: Container, customer_id: int, change: Callable[[Session, int], None]
) -> None:
    with container.session_factory.begin() as session:
        exposure.record_items(session, items=[item(customer_id, "INV-0", "0.00")], base="CNY", actor=ACTOR)
    with container.session_factory.begin() as session:
        ingest(container, session, transaction(customer_id, 0))
    assert exposure_seen(container, f"tx-{customer_id}-0") == 0
    with container.session_factory.begin() as session:
        change(session, customer_id)
    with container.session_factory.begin() as session:
        ingest(container, session, transaction(customer_id, 1))
    assert exposure_seen(container, f"tx-{customer_id}-1") == Decimal("5000.00")


def test_a_change_made_earlier_in_the_same_transaction_is_seen_by_the_batch(
    container: Container, customer_id: int
) -> None:
    with container.session_factory.begin() as session:
        ingest(container, session, transaction(customer_id, 0))
    with container.session_factory.begin() as session:
        _record_items(session, customer_id)
        ingest(container, session, transaction(customer_id, 1))
    assert exposure_seen(container, f"tx-{customer_id}-1") == Decimal("5000.00")


def _edit_customer(container: Container, session: Session, customer_id: int) -> None:
    update_ = CustomerUpdate.model_validate({"industry_code": "C", "reason": "registry says so"})
    customers.update_customer(session, customer_id=customer_id, update=update_, keyring=container.keyring, actor=ACTOR)


def _watch(container: Container, session: Session, customer_id: int) -> None:
    del container
    watch_list.add(session, customer_id=customer_id, reason="adverse news about the owner", actor=ACTOR)


def state_key(container: Container, customer_id: int) -> tuple[int, datetime]:
    with container.session_factory() as session:
        row = session.scalar(select(CustomerMonitoringState).where(CustomerMonitoringState.customer_id == customer_id))
        assert row is not None
        return row.version, row.updated_at


@pytest.mark.parametrize("change", [_edit_customer, _watch], ids=["customer", "watch-list"])
def test_other_inputs_changed_elsewhere_move_the_state_row_on_so_no_cache_serves_them(
    container: Container, customer_id: int, change: Callable[[Container, Session, int], None]
) -> None:
    with container.session_factory.begin() as session:
        ingest(container, session, transaction(customer_id, 0))
    before = state_key(container, customer_id)
    assert container.monitoring_states._states[customer_id][:2] == before  # warm, as the intake wrote it
    with container.session_factory.begin() as session:
        change(container, session, customer_id)
    assert state_key(container, customer_id)[0] == before[0] + 1


def test_a_change_rolled_back_moves_nothing(container: Container, customer_id: int) -> None:
    with container.session_factory.begin() as session:
        ingest(container, session, transaction(customer_id, 0))
    before = state_key(container, customer_id)
    with container.session_factory() as session:
        _record_items(session, customer_id)
        session.flush()
        session.rollback()
    assert state_key(container, customer_id) == before


@pytest.mark.parametrize("warm", [True, False], ids=["cached", "read"])
def test_a_late_order_change_does_not_move_the_order_back(container: Container, customer_id: int, warm: bool) -> None:
    def order(event_id: str, kind: str, minutes: int, amount: str) -> dict[str, Any]:
        return {
            "event_id": event_id,
            "type": kind,
            "customer_id": customer_id,
            "occurred_at": (T0 + timedelta(minutes=minutes)).isoformat(),
            "reference": "SO-1",
            "amount": amount,
            "currency": "CNY",
        }

    def open_amount() -> Decimal:
        with container.session_factory() as session:
            found = session.scalar(select(ExposureItem.open_amount).where(ExposureItem.reference == "SO-1"))
        assert found is not None
        return found

    for event, expected in [
        (order("o-1", "order_placed", 2, "500.00"), "500.00"),
        (order("o-2", "order_changed", 1, "900.00"), "500.00"),  # older than the newest order event: not applied
        (order("o-3", "order_changed", 3, "700.00"), "700.00"),
    ]:
        with container.session_factory.begin() as session:
            result = intake.ingest(
                session,
                events=[event],
                actor=ACTOR,
                policy=container.credit_policy,
                cache=container.monitoring_states if warm else None,
            )
        assert result.accepted == 1
        assert open_amount() == Decimal(expected)


def document_stream(customer_ids: list[int], prefix: str, seed: int = 3) -> list[dict[str, Any]]:
    """Orders delivered, invoiced (some already overdue) and paid in part, among transactions, for a few customers:
    the same stream for the same seed whatever ``customer_ids`` and ``prefix`` stand for."""
    import random

    rng = random.Random(seed)
    stages: dict[str, str] = {}
    events: list[dict[str, Any]] = []
    for n in range(240):
        slot = rng.randrange(len(customer_ids))
        reference = f"{prefix}-{slot}-{rng.randrange(6)}"
        stage = stages.get(reference)
        kind = {None: "order_placed", "order_placed": "delivery", "delivery": "invoice_issued"}.get(stage)
        kind = kind or rng.choice(["payment_received", "transaction"])
        event: dict[str, Any] = {
            "event_id": f"{prefix}-e{n}",
            "type": kind,
            "customer_id": customer_ids[slot],
            "occurred_at": (T0 + timedelta(hours=6 * n)).isoformat(),
            "amount": f"{rng.randint(1, 90) * 100}.00",
            "currency": rng.choice(["CNY", "CNY", "USD"]),
        }
        if kind == "transaction":
            event["channel"] = "bank"
        else:
            event["reference"] = reference
            stages[reference] = kind
        if kind == "invoice_issued":
            event["due_at"] = (T0 + timedelta(hours=6 * n, days=rng.choice([1, 3, 30]))).isoformat()
        if kind == "payment_received":
            event |= {"days_late": rng.choice([0, 12]), "partial": True}
        events.append(event)
    return events


def test_values_adjusted_by_each_events_items_are_the_values_summed_afresh(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same stream twice, for two sets of customers: once as the intake runs (its cache warm, each document
    event adjusting the last valuation), once valued from all open items on every event; the rules saw the same."""
    with container.session_factory.begin() as session:
        exposure.load_rates(
            session,
            rates=[exposure.RateIn(currency="USD", rate=Decimal("7"), valid_on=date(2025, 1, 1))],
            base="CNY",
            actor=ACTOR,
        )
        made = [
            customers.create_customer(
                session, data=CUSTOMER_CREATE.validate_python(company_payload()), keyring=container.keyring, actor=ACTOR
            ).id
            for _ in range(6)
        ]
    runs = {"warm": (made[:3], container.monitoring_states), "afresh": (made[3:], None)}
    for prefix, (ids, cache) in runs.items():
        if prefix == "afresh":
            monkeypatch.setattr(buckets, "adjusted", lambda *args, **kwargs: None)
        events = document_stream(ids, prefix)
        for start in range(0, len(events), 7):
            with container.session_factory.begin() as session:
                result = intake.ingest(
                    session, events=events[start : start + 7], actor=ACTOR, policy=container.credit_policy, cache=cache
                )
            assert not result.rejections
    with container.session_factory() as session:
        stored: dict[str, Any] = dict(session.execute(select(MonitoringEvent.event_id, MonitoringEvent.payload)).all())
    snapshots = {prefix: [stored[f"{prefix}-e{n}"][contexts.STATE_KEY] for n in range(240)] for prefix in runs}
    assert snapshots["warm"] == snapshots["afresh"]
    assert any(state["max_days_past_due"] > 0 for state in snapshots["warm"])  # the stream ages invoices


def test_a_statement_for_many_rows_that_do_not_name_their_customers_touches_every_customer(
    container: Container, customer_id: int
) -> None:
    with container.session_factory.begin() as session:
        exposure.record_items(session, items=[item(customer_id, "INV-0", "10.00")], base="CNY", actor=ACTOR)
        ingest(container, session, transaction(customer_id, 0))
    before = state_key(container, customer_id)
    with container.session_factory.begin() as session:
        table = cast("Table", ExposureItem.__table__)
        session.execute(
            update(table).where(table.c.reference == bindparam("ref")).values(open_amount=Decimal("20")),
            [{"ref": "INV-0"}, {"ref": "INV-9"}],
        )
    assert state_key(container, customer_id)[0] == before[0] + 1
    with container.session_factory.begin() as session:
        ingest(container, session, transaction(customer_id, 1))
    assert exposure_seen(container, f"tx-{customer_id}-1") == Decimal("20.00")
