"""The ledger catches every tampering: edits, deletions and reorderings, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Connection, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from riskdesk.audit import ledger
from riskdesk.audit import service as audit
from riskdesk.audit.ledger import verify_inclusion
from riskdesk.audit.models import AuditEntry
from riskdesk.audit.service import Actor
from riskdesk.bootstrap import Container


def write_entries(container: Container, count: int) -> None:
    with container.session_factory.begin() as session:
        for number in range(count):
            audit.append(
                session,
                actor=Actor("alice"),
                action="customer.updated",
                entity_type="customer",
                entity_id=number,
                changes={"status": {"old": "prospect", "new": "active"}},
            )


@contextmanager
def as_attacker(container: Container) -> Iterator[Connection]:
    """A connection with the append-only guards lifted, as someone with raw database access would."""
    with container.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SET session_replication_role = replica")
        else:
            for name in ("audit_entries_no_update", "audit_entries_no_delete"):
                connection.exec_driver_sql(f"DROP TRIGGER {name}")
        yield connection


def verify(container: Container) -> audit.VerifyReport:
    with container.session_factory() as session:
        return audit.verify(session)


def test_untouched_ledger_verifies(container: Container) -> None:
    write_entries(container, 12)
    report = verify(container)
    assert report.ok
    assert report.entries_checked == 12


def test_edited_entry_is_found(container: Container) -> None:
    write_entries(container, 10)
    with as_attacker(container) as connection:
        connection.execute(text("UPDATE audit_entries SET changes = '{}' WHERE seq = 6"))
    report = verify(container)
    assert report.first_break is not None
    assert (report.first_break.seq, report.first_break.kind) == (6, "edited")


def test_deleted_entry_is_found(container: Container) -> None:
    write_entries(container, 10)
    with as_attacker(container) as connection:
        connection.execute(text("DELETE FROM audit_entries WHERE seq = 4"))
    report = verify(container)
    assert report.first_break is not None
    assert (report.first_break.seq, report.first_break.kind) == (4, "deleted")


def test_deleted_entry_with_renumbered_successors_is_found(container: Container) -> None:
    write_entries(container, 6)
    with as_attacker(container) as connection:
        connection.execute(text("DELETE FROM audit_entries WHERE seq = 3"))
        for seq in (4, 5, 6):
            connection.execute(
                text("UPDATE audit_entries SET seq = :new WHERE seq = :old"), {"new": seq - 1, "old": seq}
            )
    report = verify(container)
    assert report.first_break is not None
    assert (report.first_break.seq, report.first_break.kind) == (2, "edited_or_deleted")


def test_edited_entry_with_recomputed_hash_is_found(container: Container) -> None:
    """An attacker who edits entry 2 and recomputes its hash still breaks the link from entry 3."""
    write_entries(container, 5)
    with container.session_factory() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.seq == 2))
        assert entry is not None
        forged = ledger.EntryContent(
            entry.occurred_at,
            "mallory",
            entry.action,
            entry.entity_type,
            entry.entity_id,
            entry.changes,
            entry.reason,
            entry.request_id,
        )
        forged_hash = ledger.entry_hash(forged, entry.prev_hash)
    with as_attacker(container) as connection:
        connection.execute(
            text("UPDATE audit_entries SET actor = 'mallory', entry_hash = :h WHERE seq = 2"), {"h": forged_hash}
        )
    report = verify(container)
    assert report.first_break is not None
    assert (report.first_break.seq, report.first_break.kind) == (2, "edited_or_deleted")


def test_reordered_entries_are_found(container: Container) -> None:
    write_entries(container, 10)
    with as_attacker(container) as connection:
        connection.execute(text("UPDATE audit_entries SET seq = -1 WHERE seq = 7"))
        connection.execute(text("UPDATE audit_entries SET seq = 7 WHERE seq = 8"))
        connection.execute(text("UPDATE audit_entries SET seq = 8 WHERE seq = -1"))
    report = verify(container)
    assert report.first_break is not None
    assert (report.first_break.seq, report.first_break.kind) == (7, "reordered")


def test_truncated_tail_is_found_by_its_checkpoint(container: Container) -> None:
    write_entries(container, 8)
    with container.session_factory.begin() as session:
        audit.checkpoint(session, block_size=4)
    with as_attacker(container) as connection:
        connection.execute(text("DELETE FROM audit_entries WHERE seq >= 7"))
    report = verify(container)
    assert report.first_break is not None
    assert report.first_break.kind == "deleted"


@pytest.mark.parametrize("statement", ["UPDATE audit_entries SET reason = 'x'", "DELETE FROM audit_entries"])
def test_database_refuses_update_and_delete_on_the_ledger(container: Container, statement: str) -> None:
    write_entries(container, 2)
    with pytest.raises(DBAPIError, match="append-only"), container.engine.begin() as connection:
        connection.execute(text(statement))
    assert verify(container).entries_checked == 2


def test_checkpoint_proofs_check_against_the_root(container: Container) -> None:
    write_entries(container, 11)
    with container.session_factory.begin() as session:
        blocks = audit.checkpoint(session, block_size=4)
    assert [(b.first_seq, b.last_seq) for b in blocks] == [(1, 4), (5, 8), (9, 11)]
    with container.session_factory() as session:
        for seq in range(1, 12):
            proof = audit.prove(session, seq=seq)
            block = next(b for b in blocks if b.first_seq <= seq <= b.last_seq)
            assert verify_inclusion(proof["entry_hash"], proof["path"], block.merkle_root)
            assert not verify_inclusion(
                proof["entry_hash"], proof["path"], blocks[0 if block is not blocks[0] else 1].merkle_root
            )
    assert verify(container).checkpoints_checked == 3


def test_a_failed_transaction_leaves_no_ledger_entry(container: Container) -> None:
    write_entries(container, 3)

    def append_then_fail() -> None:
        with container.session_factory.begin() as session:
            audit.append(session, actor=Actor("bob"), action="x", entity_type="y", entity_id=1)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        append_then_fail()
    write_entries(container, 1)
    report = verify(container)
    assert report.ok and report.entries_checked == 4


def test_entries_mask_nothing_they_were_not_given(session: Session, container: Container) -> None:
    write_entries(container, 1)
    entries, total = audit.recent(session)
    assert total == 1
    assert json.loads(entries[0].changes) == {"status": {"old": "prospect", "new": "active"}}
