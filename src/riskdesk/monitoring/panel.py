"""What the customer's page shows of monitoring: its watch-list standing, its open alerts and its behaviour state."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from riskdesk.db.types import utcnow
from riskdesk.monitoring import service, watch_list
from riskdesk.monitoring.models import Alert, CustomerMonitoringState, WatchListEntry
from riskdesk.monitoring.windows import BehaviourState, FeatureValue

# The behaviour features worth a glance, in the order shown (the rest are in the vocabulary, for rules).
SHOWN_FEATURES = (
    "orders_count_30d",
    "orders_amount_30d",
    "order_velocity_ratio",
    "transactions_count_30d",
    "payments_count_90d",
    "avg_days_late_90d",
    "share_paid_late_90d",
    "partial_payments_90d",
    "payment_delay_trend",
)


@dataclass(frozen=True)
class CustomerMonitoring:
    customer_id: int
    entry: WatchListEntry | None  # the current watch-list entry
    earlier_stays: int  # entries already removed
    open_alerts: list[Alert]
    open_alerts_total: int
    events_applied: int = 0
    last_event_at: datetime | None = None
    state_updated_at: datetime | None = None
    features: dict[str, FeatureValue] = field(default_factory=dict)


def customer_monitoring(
    session: Session, *, customer_id: int, now: datetime | None = None, alerts_shown: int = 10
) -> CustomerMonitoring:
    """The customer's monitoring at a glance; features as of ``now`` (or the newest event, if later)."""
    open_alerts = service.list_alerts(session, status="open", customer_id=customer_id, limit=alerts_shown)
    earlier = session.scalar(
        select(func.count())
        .select_from(WatchListEntry)
        .where(WatchListEntry.customer_id == customer_id, WatchListEntry.status == "removed")
    )
    base = CustomerMonitoring(
        customer_id=customer_id,
        entry=watch_list.current_entry(session, customer_id=customer_id),
        earlier_stays=earlier or 0,
        open_alerts=open_alerts.alerts,
        open_alerts_total=open_alerts.total,
    )
    row = session.scalar(select(CustomerMonitoringState).where(CustomerMonitoringState.customer_id == customer_id))
    if row is None:
        return base
    snapshot = BehaviourState.from_json(row.behaviour).snapshot(now or utcnow())
    return replace(
        base,
        events_applied=row.events_applied,
        last_event_at=row.last_occurred_at,
        state_updated_at=row.updated_at,
        features={name: snapshot[name] for name in SHOWN_FEATURES if name in snapshot},
    )
