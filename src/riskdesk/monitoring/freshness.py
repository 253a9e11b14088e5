"""Which customers' monitoring inputs a transaction changed, so that no process serves them from a stale cache.

The intake keeps each customer's inputs between batches (``state_cache``): its open items, credit checks and limit,
its grade, profile, watch-list standing and recent alerts. They are valid while the customer's state row keeps the
``version`` and ``updated_at`` the process last saw. Every other writer of those inputs — an ERP feed, a credit
check, a limit approved, a rescoring, an edit of the customer, a watch-list decision, an alert raised outside the
intake — therefore moves the state row on in its own transaction: the session records the customers it touches
(ORM flushes and ``insert``/``update``/``delete`` statements on the watched tables alike) and, as it commits, bumps
their state rows in one statement. The intake's own writes are ``quiet``: it keeps its cache current itself.

Installed on the container's session factory (``bootstrap``); ``pending`` tells the intake which customers the
current transaction has already touched, so that it reads them afresh rather than from its cache.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any, cast

from sqlalchemy import Table, event, select, update
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from riskdesk.db.types import utcnow

_TOUCHED = "riskdesk.monitoring.touched"
_QUIET = "riskdesk.monitoring.quiet"
EVERYONE = -1  # touched: every customer


@cache
def _watched() -> dict[str, tuple[type[Any], str]]:
    """Table name → (model, the attribute naming the customer) of everything the intake reads per customer."""
    from riskdesk.credit.models import CreditAssessment, CreditCheck, CreditLimit, ExposureItem
    from riskdesk.customers.models import Customer
    from riskdesk.monitoring.models import Alert, WatchListEntry
    from riskdesk.scoring.models import PdPrediction

    models: list[tuple[type[Any], str]] = [
        (Customer, "id"),
        (ExposureItem, "customer_id"),
        (CreditCheck, "customer_id"),
        (CreditLimit, "customer_id"),
        (CreditAssessment, "customer_id"),
        (PdPrediction, "customer_id"),
        (WatchListEntry, "customer_id"),
        (Alert, "customer_id"),
    ]
    return {cast("Table", model.__table__).name: (model, attribute) for model, attribute in models}


def install(factory: sessionmaker[Session]) -> None:
    event.listen(factory, "after_flush", _after_flush)
    event.listen(factory, "do_orm_execute", _on_execute)
    event.listen(factory, "before_commit", _before_commit)
    event.listen(factory, "after_soft_rollback", _after_rollback)


def pending(session: Session) -> set[int]:
    """The customers this transaction has touched so far (their state rows are bumped when it commits); holding
    ``EVERYONE``: all of them."""
    return set(session.info.get(_TOUCHED, ()))


@contextmanager
def quiet(session: Session) -> Iterator[None]:
    """The intake's own writes: it updates its cache and the state rows itself."""
    session.info[_QUIET] = True
    try:
        yield
    finally:
        session.info.pop(_QUIET, None)


def _touch(session: Session, customer_ids: Any) -> None:
    if session.info.get(_QUIET):
        return
    found = {int(c) for c in customer_ids if c is not None}
    if found:
        session.info.setdefault(_TOUCHED, set()).update(found)


def _after_flush(session: Session, _context: Any) -> None:
    watched = dict(_watched().values())
    for instance in (*session.new, *session.dirty, *session.deleted):
        attribute = watched.get(type(instance))
        if attribute is not None:
            _touch(session, [getattr(instance, attribute)])


def _on_execute(state: ORMExecuteState) -> None:
    """``insert``, ``update`` and ``delete`` statements on a watched table: the customers in the rows they are given,
    or those of the rows an update or delete is about to change (read first, with the same condition and values).
    A statement run for many rows that do not name their customers touches every customer."""
    if not (state.is_insert or state.is_update or state.is_delete) or state.session.info.get(_QUIET):
        return
    statement: Any = state.statement
    table = getattr(statement, "table", None)
    found = _watched().get(getattr(table, "name", ""))
    if found is None:
        return
    model, attribute = found
    given: Any = state.parameters
    if isinstance(given, list):  # many rows
        if all(attribute in row for row in given):
            _touch(state.session, [row[attribute] for row in given])
        else:
            _touch(state.session, [EVERYONE])
        return
    if state.is_insert:
        _touch(state.session, [(given or statement.compile().params).get(attribute)])
        return
    query = select(getattr(model, attribute)).distinct()
    if statement.whereclause is not None:
        query = query.where(statement.whereclause)
    with state.session.no_autoflush:
        _touch(state.session, state.session.execute(query, given or {}).scalars())


def _before_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint: the transaction goes on, and bumps when it commits
        return
    session.flush()  # what is still pending is touched too
    touched = session.info.pop(_TOUCHED, None)
    if not touched:
        return
    from riskdesk.monitoring.models import CustomerMonitoringState

    table = cast("Table", CustomerMonitoringState.__table__)
    bump = update(table).values(version=table.c.version + 1, updated_at=utcnow())
    session.execute(bump if EVERYONE in touched else bump.where(table.c.customer_id.in_(sorted(touched))))


def _after_rollback(session: Session, _previous: Any) -> None:
    if not session.in_transaction():  # the whole transaction, not a savepoint
        session.info.pop(_TOUCHED, None)
