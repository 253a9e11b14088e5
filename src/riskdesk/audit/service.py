"""Use cases of the ledger: append inside the caller's transaction, verify, checkpoint, prove."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.orm import Session

from riskdesk.audit import ledger
from riskdesk.audit.models import AuditCheckpoint, AuditEntry
from riskdesk.db.types import utcnow
from riskdesk.errors import NotFound, ValidationFailed

# Any 64-bit constant: all writers of the ledger on PostgreSQL take this transaction-scoped lock, so two
# transactions can never chain onto the same head. SQLite already serialises writers (BEGIN IMMEDIATE).
_LEDGER_LOCK_KEY = 0x7269736B6465736B  # "riskdesk"
_VERIFY_BATCH = 5000
_INSERT = insert(cast("Table", AuditEntry.__table__))  # rows straight to the table: the ORM adds nothing to an append
_HEAD = select(AuditEntry.seq, AuditEntry.entry_hash).order_by(AuditEntry.seq.desc()).limit(1)


@dataclass(frozen=True)
class Actor:
    """Who did something: a username, or ``system``/``cli:<user>`` for jobs and commands."""

    name: str
    request_id: str = ""


SYSTEM = Actor("system")


@dataclass(frozen=True)
class Entry:
    """One entry to chain, for ``append_many``."""

    action: str
    entity_type: str
    entity_id: str | int
    changes: dict[str, Any] | None = None
    reason: str = ""


def append(
    session: Session,
    *,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: str | int,
    changes: dict[str, Any] | None = None,
    reason: str = "",
) -> AuditEntry:
    """Chain one entry onto the ledger in the caller's transaction: it commits or rolls back with the change."""
    entry = AuditEntry(**_chain(session, actor, [Entry(action, entity_type, entity_id, changes, reason)])[0])
    session.add(entry)
    session.flush()
    return entry


def append_many(session: Session, *, actor: Actor, entries: list[Entry]) -> None:
    """Chain entries onto the ledger in order, reading its head once and writing them in one statement (a batch of
    monitoring events changes many customers)."""
    if entries:
        session.connection().execute(_INSERT, _chain(session, actor, entries))


def _chain(session: Session, actor: Actor, entries: list[Entry]) -> list[dict[str, Any]]:
    """The rows of ``entries``, each holding the hash of the one before, after the ledger's head (locked on
    PostgreSQL until the transaction ends)."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LEDGER_LOCK_KEY})
    head = connection.execute(_HEAD).first()  # entries are flushed as they are added (``append``)
    seq, prev_hash = (head[0] + 1, head[1]) if head else (1, ledger.GENESIS_HASH)
    rows = []
    for given in entries:
        content = ledger.EntryContent(
            occurred_at=utcnow(),
            actor=actor.name,
            action=given.action,
            entity_type=given.entity_type,
            entity_id=str(given.entity_id),
            changes=ledger.canonical_changes(given.changes or {}),
            reason=given.reason,
            request_id=actor.request_id,
        )
        entry_hash = ledger.entry_hash(content, prev_hash)
        rows.append(
            {
                "seq": seq,
                "occurred_at": content.occurred_at,
                "actor": content.actor,
                "action": given.action,
                "entity_type": given.entity_type,
                "entity_id": content.entity_id,
                "changes": content.changes,
                "reason": given.reason,
                "request_id": content.request_id,
                "prev_hash": prev_hash,
                "entry_hash": entry_hash,
            }
        )
        seq, prev_hash = seq + 1, entry_hash
    return rows


_ENTRY_COLUMNS = (
    AuditEntry.seq,
    AuditEntry.occurred_at,
    AuditEntry.actor,
    AuditEntry.action,
    AuditEntry.entity_type,
    AuditEntry.entity_id,
    AuditEntry.changes,
    AuditEntry.reason,
    AuditEntry.request_id,
    AuditEntry.prev_hash,
    AuditEntry.entry_hash,
)


def _iter_entries(session: Session) -> Iterator[ledger.StoredEntry]:
    """All entries in ``seq`` order, in batches of plain rows: memory stays flat and the session's identity map
    (which may hold the caller's pending changes) is left alone."""
    last_seq = -(2**31)
    while True:
        batch = session.execute(
            select(*_ENTRY_COLUMNS).where(AuditEntry.seq > last_seq).order_by(AuditEntry.seq).limit(_VERIFY_BATCH)
        ).all()
        if not batch:
            return
        for row in batch:
            yield ledger.StoredEntry(
                seq=row.seq,
                content=ledger.EntryContent(
                    occurred_at=row.occurred_at,
                    actor=row.actor,
                    action=row.action,
                    entity_type=row.entity_type,
                    entity_id=row.entity_id,
                    changes=row.changes,
                    reason=row.reason,
                    request_id=row.request_id,
                ),
                prev_hash=row.prev_hash,
                entry_hash=row.entry_hash,
            )
        last_seq = batch[-1].seq


@dataclass(frozen=True)
class VerifyReport:
    entries_checked: int
    checkpoints_checked: int
    first_break: ledger.ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.first_break is None


def verify(session: Session) -> VerifyReport:
    """Walk the whole chain, then recompute every checkpoint's Merkle root from the entries it covers."""

    def locate(entry_hash: str) -> int | None:
        return session.scalar(select(AuditEntry.seq).where(AuditEntry.entry_hash == entry_hash))

    checked, chain_break = ledger.verify_chain(_iter_entries(session), locate)
    if chain_break is not None:
        return VerifyReport(checked, 0, chain_break)
    checkpoints = session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.first_seq)).all()
    for number, checkpoint in enumerate(checkpoints):
        hashes = _hashes_between(session, checkpoint.first_seq, checkpoint.last_seq)
        if len(hashes) != checkpoint.last_seq - checkpoint.first_seq + 1:
            return VerifyReport(
                checked,
                number,
                ledger.ChainBreak(
                    checkpoint.last_seq,
                    "deleted",
                    f"checkpoint {checkpoint.id} covers entries {checkpoint.first_seq}-{checkpoint.last_seq},"
                    f" but only {len(hashes)} of them exist: entries at the end of the ledger were deleted",
                ),
            )
        if ledger.merkle_root(hashes) != checkpoint.merkle_root:
            return VerifyReport(
                checked,
                number,
                ledger.ChainBreak(
                    checkpoint.first_seq,
                    "edited",
                    f"checkpoint {checkpoint.id} root no longer matches entries"
                    f" {checkpoint.first_seq}-{checkpoint.last_seq}",
                ),
            )
    return VerifyReport(checked, len(checkpoints), None)


def _hashes_between(session: Session, first_seq: int, last_seq: int) -> list[str]:
    return list(
        session.scalars(
            select(AuditEntry.entry_hash).where(AuditEntry.seq.between(first_seq, last_seq)).order_by(AuditEntry.seq)
        )
    )


def checkpoint(session: Session, *, block_size: int, include_partial: bool = True) -> list[AuditCheckpoint]:
    """Seal every not-yet-checkpointed run of entries into blocks of at most ``block_size``."""
    last_sealed = session.scalar(select(func.max(AuditCheckpoint.last_seq))) or 0
    head = session.scalar(select(func.max(AuditEntry.seq))) or 0
    created = []
    first = last_sealed + 1
    while first <= head:
        last = min(first + block_size - 1, head)
        if last - first + 1 < block_size and not include_partial:
            break
        hashes = _hashes_between(session, first, last)
        if len(hashes) != last - first + 1:
            raise ValidationFailed(
                f"entries {first}-{last} have gaps; run `riskdesk audit verify` before checkpointing"
            )
        sealed = AuditCheckpoint(
            first_seq=first, last_seq=last, merkle_root=ledger.merkle_root(hashes), created_at=utcnow()
        )
        session.add(sealed)
        created.append(sealed)
        first = last + 1
    session.flush()
    return created


def prove(session: Session, *, seq: int) -> dict[str, Any]:
    """An inclusion proof of entry ``seq`` in the checkpoint that covers it."""
    entry = session.scalar(select(AuditEntry).where(AuditEntry.seq == seq))
    if entry is None:
        raise NotFound(f"audit entry {seq} does not exist")
    sealed = session.scalar(
        select(AuditCheckpoint).where(AuditCheckpoint.first_seq <= seq, AuditCheckpoint.last_seq >= seq)
    )
    if sealed is None:
        raise NotFound(f"audit entry {seq} is not in a checkpoint yet; run `riskdesk audit checkpoint` first")
    hashes = _hashes_between(session, sealed.first_seq, sealed.last_seq)
    return {
        "entry": seq,
        "entry_hash": entry.entry_hash,
        "checkpoint": sealed.id,
        "first_seq": sealed.first_seq,
        "last_seq": sealed.last_seq,
        "leaf_index": seq - sealed.first_seq,
        "path": ledger.inclusion_proof(hashes, seq - sealed.first_seq),
        "merkle_root": sealed.merkle_root,
        "algorithm": "RFC 6962: leaf=SHA256(0x00||entry_hash), node=SHA256(0x01||left||right)",
    }


def entries_for(
    session: Session,
    *,
    entity_type: str,
    entity_id: str | int,
    limit: int = 200,
    before_seq: int | None = None,
) -> list[AuditEntry]:
    """Newest first: the timeline of one entity."""
    query = select(AuditEntry).where(AuditEntry.entity_type == entity_type, AuditEntry.entity_id == str(entity_id))
    if before_seq is not None:
        query = query.where(AuditEntry.seq < before_seq)
    return list(session.scalars(query.order_by(AuditEntry.seq.desc()).limit(limit)))


def recent(session: Session, *, limit: int = 50, offset: int = 0) -> tuple[list[AuditEntry], int]:
    total = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    rows = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).offset(offset).limit(limit))
    return list(rows), total
