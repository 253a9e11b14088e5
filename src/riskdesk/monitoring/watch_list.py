"""The watch list: customers the unit follows more closely, and who takes them off.

- An alert of tier ``early_warning`` or ``default_candidate`` puts its customer on the list, in the transaction that
  raises it (``on_alerts``, called by ``service.raise_alerts``); a customer already on stays on one entry. Someone who
  works alerts may also put a customer on by hand, with a reason (``add``).
- Taking a customer off is maker-checker: someone who works alerts asks, with a reason (``request_removal``); an
  approver (``watch_list:decide``) consents or refuses (``decide_removal``), never on their own request. While the
  customer has an open alert of a listing tier, neither the request nor the consent is accepted.
- A listed customer is reviewed every ``RISKDESK_WATCH_REVIEW_DAYS`` days: ``open_reviews`` (``riskdesk monitor
  watch-reviews``, daily) opens a review task for each customer whose review is due and moves the date on. The
  first review is due on the day the customer is listed.

An entry is one stay on the list and is never deleted: a customer taken off and listed again gets a new entry.
Every change is appended to the audit ledger under the customer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from riskdesk.audit import service as audit
from riskdesk.audit.service import Actor
from riskdesk.customers import service as customers
from riskdesk.db.types import utcnow
from riskdesk.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from riskdesk.monitoring.models import Alert, WatchListEntry, WatchReview
from riskdesk.verification import documents

LISTING_TIERS = ("early_warning", "default_candidate")
CURRENT = ("on", "removal_requested")
STATUSES = ("on", "removal_requested", "removed")
DECISIONS = {"consent": "consented", "refuse": "refused"}
MIN_REASON = 3


def _reason(text: str, what: str) -> str:
    text = text.strip()
    if len(text) < MIN_REASON:
        raise ValidationFailed(f"{what} needs a reason (at least {MIN_REASON} characters): why")
    return text


def current_entry(session: Session, *, customer_id: int) -> WatchListEntry | None:
    """The customer's entry while it is on the list (``on`` or ``removal_requested``), else None."""
    return session.scalar(select(WatchListEntry).where(WatchListEntry.current_customer_id == customer_id))


def is_on(session: Session, *, customer_id: int) -> bool:
    """The rules' ``customer.on_watch_list``."""
    found = session.scalar(select(WatchListEntry.id).where(WatchListEntry.current_customer_id == customer_id).limit(1))
    return found is not None


def listed(session: Session, *, customer_ids: Sequence[int]) -> set[int]:
    """Which of the customers are on the watch list now, in one query."""
    if not customer_ids:
        return set()
    return set(
        session.scalars(
            select(WatchListEntry.customer_id).where(WatchListEntry.current_customer_id.in_(sorted(set(customer_ids))))
        )
    )


def _current_or_not_found(session: Session, customer_id: int) -> WatchListEntry:
    entry = current_entry(session, customer_id=customer_id)
    if entry is None:
        raise NotFound(f"customer {customer_id} is not on the watch list")
    return entry


def _put_on(
    session: Session,
    *,
    customer_id: int,
    because: str,
    actor: Actor,
    alert_id: int | None,
    ledger: list[audit.Entry] | None = None,
) -> WatchListEntry | None:
    """A new current entry, or None when the customer is on the list already (also when another transaction put it
    on at the same moment: the unique ``current_customer_id`` decides). Its ledger entry is chained now, or added
    to ``ledger`` for the caller to chain."""
    if current_entry(session, customer_id=customer_id) is not None:
        return None
    now = utcnow()
    entry = WatchListEntry(
        customer_id=customer_id,
        current_customer_id=customer_id,
        status="on",
        alert_id=alert_id,
        added_because=because[:2000],
        added_by=actor.name,
        added_at=now,
        next_review_on=now.date(),
        removal_reason="",
        decision_reason="",
    )
    try:
        with session.begin_nested():
            session.add(entry)
            session.flush()
    except IntegrityError:
        return None
    added = audit.Entry(
        "watch_list.added",
        "customer",
        customer_id,
        {"entry": entry.id, "alert_id": alert_id, "next_review_on": entry.next_review_on},
        entry.added_because,
    )
    if ledger is None:
        audit.append_many(session, actor=actor, entries=[added])
    else:
        ledger.append(added)
    return entry


def on_alerts(session: Session, *, alerts: Sequence[Alert], actor: Actor, ledger: list[audit.Entry]) -> None:
    """Put the customers of alerts whose tier calls for it on the list (the first such alert of each customer is the
    entry's reason); customers on already are left as they are. One query for the lot; the ledger entries of new
    listings are added to ``ledger``."""
    listing = [  # a model's alerts list no customer
        (alert, alert.customer_id) for alert in alerts if alert.tier in LISTING_TIERS and alert.customer_id is not None
    ]
    on = listed(session, customer_ids=[customer_id for _, customer_id in listing])
    for alert, customer_id in listing:
        if customer_id in on:
            continue
        on.add(customer_id)
        because = f"alert {alert.id}: {alert.rule_id} v{alert.rule_version} ({alert.tier}, {alert.severity})"
        _put_on(session, customer_id=customer_id, because=because, actor=actor, alert_id=alert.id, ledger=ledger)


def add(session: Session, *, customer_id: int, reason: str, actor: Actor) -> WatchListEntry:
    """Put a customer on the list by hand, with the reason why."""
    reason = _reason(reason, "putting a customer on the watch list")
    customers.get_customer(session, customer_id=customer_id)  # NotFound for an unknown customer
    entry = _put_on(session, customer_id=customer_id, because=reason, actor=actor, alert_id=None)
    if entry is None:
        known = _current_or_not_found(session, customer_id)
        raise Conflict(f"customer {customer_id} is on the watch list already, since {known.added_at:%Y-%m-%d}")
    return entry


def open_listing_alerts(session: Session, *, customer_id: int) -> list[int]:
    """Ids of the customer's alerts that are not closed and of a tier that lists a customer."""
    return list(
        session.scalars(
            select(Alert.id)
            .where(Alert.customer_id == customer_id, Alert.status != "closed", Alert.tier.in_(LISTING_TIERS))
            .order_by(Alert.id)
        )
    )


def _refuse_while_alerts_open(session: Session, customer_id: int) -> None:
    open_ids = open_listing_alerts(session, customer_id=customer_id)
    if open_ids:
        listed = ", ".join(f"#{i}" for i in open_ids[:10])
        raise Conflict(
            f"customer {customer_id} still has open early-warning alerts ({listed}); close them in the alert queue"
            f" (/alerts?customer_id={customer_id}) before the customer can leave the watch list"
        )


def request_removal(session: Session, *, customer_id: int, reason: str, actor: Actor) -> WatchListEntry:
    """Ask an approver to take the customer off the list."""
    reason = _reason(reason, "a removal request")
    entry = _current_or_not_found(session, customer_id)
    if entry.status == "removal_requested":
        raise Conflict(
            f"removal of customer {customer_id} was already asked for by {entry.removal_requested_by};"
            " an approver decides on it first"
        )
    _refuse_while_alerts_open(session, customer_id)
    entry.status = "removal_requested"
    entry.removal_requested_by, entry.removal_requested_at, entry.removal_reason = actor.name, utcnow(), reason
    entry.decision, entry.decided_by, entry.decided_at, entry.decision_reason = None, None, None, ""
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="watch_list.removal_requested",
        entity_type="customer",
        entity_id=customer_id,
        changes={"entry": entry.id},
        reason=reason,
    )
    return entry


def decide_removal(session: Session, *, customer_id: int, decision: str, reason: str, actor: Actor) -> WatchListEntry:
    """Consent (the customer leaves the list) or refuse (it stays on); a refusal needs a reason. Never on one's own
    request; no consent while a listing alert is open."""
    if decision not in DECISIONS:
        raise ValidationFailed(f"decision: {decision!r} is not one of consent, refuse")
    entry = _current_or_not_found(session, customer_id)
    if entry.status != "removal_requested":
        raise Conflict(f"nobody has asked to take customer {customer_id} off the watch list: nothing to decide")
    if entry.removal_requested_by == actor.name:
        raise PermissionDenied("nobody decides on their own removal request (four eyes); another approver must")
    reason = reason.strip()
    if decision == "refuse":
        reason = _reason(reason, "refusing a removal")
    else:
        _refuse_while_alerts_open(session, customer_id)
    now = utcnow()
    entry.decision, entry.decided_by, entry.decided_at = DECISIONS[decision], actor.name, now
    entry.decision_reason = reason
    if decision == "consent":
        entry.status, entry.current_customer_id, entry.removed_at = "removed", None, now
    else:
        entry.status = "on"
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="watch_list.removed" if decision == "consent" else "watch_list.removal_refused",
        entity_type="customer",
        entity_id=customer_id,
        changes={"entry": entry.id, "requested_by": entry.removal_requested_by},
        reason=reason,
    )
    return entry


@dataclass(frozen=True)
class WatchListPage:
    entries: list[WatchListEntry]
    total: int


def list_entries(
    session: Session,
    *,
    status: str | None = "current",
    customer_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> WatchListPage:
    """Entries, newest first; ``status="current"`` is on or removal requested, None is every entry ever."""
    query = select(WatchListEntry)
    if status == "current":
        query = query.where(WatchListEntry.status.in_(CURRENT))
    elif status is not None:
        query = query.where(WatchListEntry.status == status)
    if customer_id is not None:
        query = query.where(WatchListEntry.customer_id == customer_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(WatchListEntry.id.desc()).limit(limit).offset(offset))
    return WatchListPage(list(rows), total)


def open_reviews(session: Session, *, today: date, interval_days: int, actor: Actor) -> int:
    """A review task for the owner of each listed customer whose review is due on or before ``today``; the next
    review moves to ``today + interval_days``, so a review is opened once however often this runs."""
    if interval_days < 1:
        raise ValidationFailed("the watch-list review interval is at least 1 day (RISKDESK_WATCH_REVIEW_DAYS)")
    due = session.scalars(
        select(WatchListEntry)
        .where(WatchListEntry.status.in_(CURRENT), WatchListEntry.next_review_on <= today)
        .order_by(WatchListEntry.next_review_on, WatchListEntry.id)
    )
    opened = 0
    for entry in list(due):
        customer = customers.get_customer(session, customer_id=entry.customer_id)
        review = WatchReview(
            entry_id=entry.id,
            customer_id=entry.customer_id,
            due_on=entry.next_review_on,
            opened_by=actor.name,
            opened_at=utcnow(),
        )
        session.add(review)
        session.flush()
        task = documents.create_task(
            session,
            kind="watch_review",
            subject_type="watch_review",
            subject_id=review.id,
            customer_id=customer.id,
            owner_id=customer.owner_id,
            due_on=entry.next_review_on,
            actor=actor,
            title=f"{customer.name} is on the watch list — review it (due {entry.next_review_on.isoformat()})",
        )
        review.task_id = task.id if task is not None else None
        old = entry.next_review_on
        entry.next_review_on = today + timedelta(days=interval_days)
        session.flush()
        audit.append(
            session,
            actor=actor,
            action="watch_list.review_opened",
            entity_type="customer",
            entity_id=entry.customer_id,
            changes={
                "entry": entry.id,
                "review": review.id,
                "next_review_on": {"old": old, "new": entry.next_review_on},
            },
        )
        opened += 1
    return opened


def reviews_of(session: Session, *, entry_id: int) -> list[WatchReview]:
    return list(
        session.scalars(select(WatchReview).where(WatchReview.entry_id == entry_id).order_by(WatchReview.id.desc()))
    )
