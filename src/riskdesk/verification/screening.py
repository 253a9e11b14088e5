"""Watchlist import and screening use cases: lists with history, customers screened with their legal
representative, shareholders and guarantors, hits in a review queue. Every change lands in the ledger."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from riskdesk.audit import service as audit
from riskdesk.audit.service import Actor
from riskdesk.customers import relationships, sealing
from riskdesk.customers import service as customers
from riskdesk.db.types import utcnow
from riskdesk.errors import Conflict, ErrorDetail, NotFound, ValidationFailed
from riskdesk.security.crypto import KeyRing
from riskdesk.verification import watchlists
from riskdesk.verification.index import ScreeningIndex
from riskdesk.verification.matching import Subject
from riskdesk.verification.models import ScreeningHit, Watchlist, WatchlistEntry, WatchlistEntryVersion

LISTS_CHANGED = "riskdesk.watchlists_changed"  # session flag: this transaction changed a list
LIST_KINDS = ("sanctions", "pep", "blacklist", "dishonest_debtors", "adverse_media", "other")
HIT_DECISIONS = ("confirm", "dismiss")


@dataclass(frozen=True)
class ListImport:
    watchlist: str
    version: int
    rows: int
    added: int
    changed: int
    restored: int
    removed: int
    unchanged: int
    skipped: list[ErrorDetail]

    def as_dict(self) -> dict[str, Any]:
        return {
            **{k: v for k, v in self.__dict__.items() if k != "skipped"},
            "skipped": [d.as_dict() for d in self.skipped],
        }


def import_watchlist(
    session: Session,
    *,
    name: str,
    raw: bytes,
    file_format: str,
    actor: Actor,
    kind: str | None = None,
    skip_invalid: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ListImport:
    """Replace a list's content with the file's, keeping history: new entries are added, changed ones get a new
    version, entries missing from the file are marked removed (never deleted). Malformed rows refuse the whole
    file unless ``skip_invalid``."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationFailed("the list needs a name of 1-100 characters (--list NAME)")
    if kind is not None and kind not in LIST_KINDS:
        raise ValidationFailed(f"list kind must be one of {', '.join(LIST_KINDS)}")
    entries, errors, rows = watchlists.parse(raw, file_format=file_format)
    if errors and not skip_invalid:
        raise ValidationFailed(
            f"{len(errors)} rows of the file are malformed, so nothing was imported; fix them or import with"
            " --skip-invalid",
            details=errors[:200],
        )
    if not entries:
        raise ValidationFailed("the file has no person or company to list")
    # FOR UPDATE: two imports of one list at once must not both become the same version (PostgreSQL).
    watchlist = session.scalar(select(Watchlist).where(Watchlist.name == name).with_for_update())
    if watchlist is None:
        watchlist = Watchlist(name=name, kind=kind or "other", version=0)
        session.add(watchlist)
        session.flush()
    watchlist.version += 1
    watchlist.kind = kind or watchlist.kind  # a re-import without a kind keeps the list's kind
    session.info[LISTS_CHANGED] = True
    watchlist.updated_at = now = utcnow()
    version = watchlist.version
    current = {
        e.entry_key: e
        for e in session.scalars(select(WatchlistEntry).where(WatchlistEntry.watchlist_id == watchlist.id))
    }
    added = changed = restored = unchanged = 0
    for done, listed in enumerate(entries, start=1):
        digest = listed.content_hash()
        existing = current.pop(listed.key, None)
        if existing is not None and existing.content_hash == digest and existing.removed_at is None:
            existing.last_version = version
            unchanged += 1
        else:
            change = "added" if existing is None else ("restored" if existing.removed_at else "changed")
            if existing is None:
                existing = WatchlistEntry(watchlist_id=watchlist.id, entry_key=listed.key, first_version=version)
                session.add(existing)
                added += 1
            elif change == "restored":
                restored += 1
            else:
                changed += 1
            existing.kind, existing.name = listed.kind, listed.name
            existing.aliases, existing.identifiers = list(listed.aliases), dict(listed.identifiers)
            existing.birth_date, existing.country, existing.details = listed.birth_date, listed.country, listed.details
            existing.content_hash, existing.last_version = digest, version
            existing.removed_at, existing.updated_at = None, now
            session.flush()
            session.add(
                WatchlistEntryVersion(
                    entry_id=existing.id,
                    list_version=version,
                    change=change,
                    content=listed.content(),
                    content_hash=digest,
                )
            )
        if progress and (done % 500 == 0 or done == len(entries)):
            progress(done, len(entries))
    removed = 0
    for gone in current.values():
        if gone.removed_at is None:
            gone.removed_at = gone.updated_at = now
            session.add(
                WatchlistEntryVersion(
                    entry_id=gone.id,
                    list_version=version,
                    change="removed",
                    content={"entry_key": gone.entry_key},
                    content_hash=gone.content_hash,
                )
            )
            removed += 1
    session.flush()
    result = ListImport(name, version, rows, added, changed, restored, removed, unchanged, errors)
    audit.append(
        session,
        actor=actor,
        action="watchlist.imported",
        entity_type="watchlist",
        entity_id=watchlist.id,
        changes={k: v for k, v in result.as_dict().items() if k != "skipped"} | {"skipped": len(errors)},
    )
    return result


def list_watchlists(session: Session) -> list[dict[str, Any]]:
    counts = dict(
        session.execute(
            select(WatchlistEntry.watchlist_id, func.count())
            .where(WatchlistEntry.removed_at.is_(None))
            .group_by(WatchlistEntry.watchlist_id)
        ).all()
    )
    return [
        {
            "id": w.id,
            "name": w.name,
            "kind": w.kind,
            "version": w.version,
            "entries": counts.get(w.id, 0),
            "updated_at": w.updated_at,
        }
        for w in session.scalars(select(Watchlist).order_by(Watchlist.name))
    ]


def _subject_of(entry: WatchlistEntry) -> Subject:
    return Subject(
        entry.name, entry.kind, entry.identifiers or {}, entry.birth_date, entry.country, tuple(entry.aliases or ())
    )


class IndexCache:
    """The index of active entries, rebuilt when any list changed (lists' versions are the fingerprint)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fingerprint: tuple[Any, ...] | None = None
        self._index = ScreeningIndex()

    def get(self, session: Session) -> ScreeningIndex:
        if session.info.get(LISTS_CHANGED):
            # This transaction changed a list and may still roll back: build an index for it alone, cache nothing.
            return _build(session)
        fingerprint = tuple(session.execute(select(Watchlist.id, Watchlist.version).order_by(Watchlist.id)).all())
        with self._lock:
            if fingerprint != self._fingerprint:
                self._index, self._fingerprint = _build(session), fingerprint
            return self._index


def _build(session: Session) -> ScreeningIndex:
    index = ScreeningIndex()
    rows = session.scalars(select(WatchlistEntry).where(WatchlistEntry.removed_at.is_(None)))
    index.extend((entry.id, _subject_of(entry)) for entry in rows)
    return index


def screen_name(session: Session, *, subject: Subject, cache: IndexCache, limit: int = 10) -> list[dict[str, Any]]:
    """Screen one name against every active list entry; nothing is stored."""
    hits = cache.get(session).search(subject, limit=limit)
    entries = {
        e.id: e
        for e in session.scalars(select(WatchlistEntry).where(WatchlistEntry.id.in_([h.entry_id for h in hits])))
    }
    lists = {w.id: w.name for w in session.scalars(select(Watchlist))}
    return [
        {
            "entry_id": hit.entry_id,
            "list": lists.get(entries[hit.entry_id].watchlist_id, ""),
            "name": hit.subject.name,
            "kind": hit.subject.kind,
            **hit.result.as_dict(),
        }
        for hit in hits
    ]


def subjects_of(session: Session, *, customer_id: int, keyring: KeyRing) -> list[tuple[str, Subject]]:
    """The customer, its legal representative, and the customers that are its shareholders or guarantors."""
    customer = customers.get_customer(session, customer_id=customer_id)
    identifiers: dict[str, str] = {}
    if customer.uscc:
        identifiers["uscc"] = customer.uscc
    if customer.id_number_enc and customer.id_type == "resident_id":
        identifiers["id_number"] = sealing.sensitive_value(customer, "id_number", keyring=keyring) or ""
    subjects = [
        (
            "customer",
            Subject(
                customer.name,
                "company" if customer.kind == "company" else "person",
                identifiers,
                customer.date_of_birth.isoformat() if customer.date_of_birth else None,
                customer.country,
                tuple(customer.former_names or ()),
            ),
        )
    ]
    if customer.legal_representative:
        subjects.append(("legal_representative", Subject(customer.legal_representative, "person")))
    for link in relationships.relationships_of(session, customer_id=customer_id):
        if link.customer_id == customer_id and link.kind in ("shareholder", "guarantor", "parent"):
            related = customers.get_customer(session, customer_id=link.related_customer_id)
            kind = "company" if related.kind == "company" else "person"
            ids = {"uscc": related.uscc} if related.uscc else {}
            subjects.append((link.kind, Subject(related.name, kind, ids)))
    return subjects


def screen_customer(
    session: Session, *, customer_id: int, keyring: KeyRing, cache: IndexCache, actor: Actor
) -> list[ScreeningHit]:
    """Screen and store new hits. A hit already decided for the same entry content is not raised again."""
    index = cache.get(session)
    new_hits = []
    for role, subject in subjects_of(session, customer_id=customer_id, keyring=keyring):
        for hit in index.search(subject, limit=10):
            entry = session.get(WatchlistEntry, hit.entry_id)
            if entry is None or entry.removed_at is not None:
                continue
            exists = session.scalar(
                select(ScreeningHit.id).where(
                    ScreeningHit.customer_id == customer_id,
                    ScreeningHit.subject_name == subject.name,
                    ScreeningHit.entry_id == entry.id,
                    ScreeningHit.entry_hash == entry.content_hash,
                )
            )
            if exists is not None:
                continue
            stored = ScreeningHit(
                customer_id=customer_id,
                subject_role=role,
                subject_name=subject.name,
                entry_id=entry.id,
                entry_hash=entry.content_hash,
                entry_name=entry.name,
                score=hit.result.score,
                algorithm=hit.result.algorithm,
                explanation=hit.result.explanation,
                status="open",
            )
            session.add(stored)
            session.flush()
            audit.append(
                session,
                actor=actor,
                action="screening.hit",
                entity_type="customer",
                entity_id=customer_id,
                changes={
                    "hit": stored.id,
                    "role": role,
                    "entry": entry.id,
                    "list_entry_name": entry.name,
                    "score": round(hit.result.score, 4),
                },
            )
            new_hits.append(stored)
    return new_hits


def customers_relying_on(session: Session, *, customer_id: int) -> list[int]:
    """Customers that have this one as their parent, shareholder or guarantor: its change is theirs to screen."""
    return sorted(
        {
            link.customer_id
            for link in relationships.relationships_of(session, customer_id=customer_id)
            if link.related_customer_id == customer_id and link.kind in ("shareholder", "guarantor", "parent")
        }
    )


def rescreen_all(
    session: Session,
    *,
    keyring: KeyRing,
    cache: IndexCache,
    actor: Actor,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    ids = customers.active_customer_ids(session)
    raised = 0
    for done, customer_id in enumerate(ids, start=1):
        raised += len(screen_customer(session, customer_id=customer_id, keyring=keyring, cache=cache, actor=actor))
        if progress:
            progress(done, len(ids))
    return raised


def list_hits(
    session: Session, *, status: str | None = "open", customer_id: int | None = None, page: int = 1, per_page: int = 50
) -> tuple[list[tuple[ScreeningHit, WatchlistEntry, str]], int]:
    query = select(ScreeningHit)
    if status:
        query = query.where(ScreeningHit.status == status)
    if customer_id is not None:
        query = query.where(ScreeningHit.customer_id == customer_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    hits = list(
        session.scalars(
            query.order_by(ScreeningHit.score.desc(), ScreeningHit.id).offset((page - 1) * per_page).limit(per_page)
        )
    )
    entries = {
        e.id: e
        for e in session.scalars(select(WatchlistEntry).where(WatchlistEntry.id.in_([h.entry_id for h in hits])))
    }
    lists = {w.id: w.name for w in session.scalars(select(Watchlist))}
    return [(h, entries[h.entry_id], lists.get(entries[h.entry_id].watchlist_id, "")) for h in hits], total


def decide_hit(session: Session, *, hit_id: int, decision: str, reason: str, actor: Actor) -> ScreeningHit:
    if decision not in HIT_DECISIONS:
        raise ValidationFailed(
            "decision must be 'confirm' or 'dismiss'", details=[ErrorDetail("decision", "confirm or dismiss")]
        )
    if len(reason.strip()) < 3:
        raise ValidationFailed("say why, in a few words", details=[ErrorDetail("reason", "required")])
    hit = session.get(ScreeningHit, hit_id)
    if hit is None:
        raise NotFound(f"screening hit {hit_id} does not exist")
    status = "confirmed" if decision == "confirm" else "dismissed"
    # A conditional update: of two reviewers deciding at once exactly one wins, and the other is told.
    decided = session.execute(
        update(ScreeningHit)
        .where(ScreeningHit.id == hit_id, ScreeningHit.status == "open")
        .values(status=status, decided_by=actor.name, decided_at=utcnow(), reason=reason.strip())
        .execution_options(synchronize_session=False)
    )
    session.refresh(hit)
    if decided.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"hit {hit_id} was already {hit.status} by {hit.decided_by}")
    audit.append(
        session,
        actor=actor,
        action=f"screening.hit_{hit.status}",
        entity_type="customer",
        entity_id=hit.customer_id,
        changes={"hit": hit.id, "entry": hit.entry_id},
        reason=hit.reason,
    )
    return hit
