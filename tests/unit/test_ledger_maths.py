from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from riskdesk.audit import ledger


def chain(n: int) -> list[ledger.StoredEntry]:
    entries = []
    prev = ledger.GENESIS_HASH
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for seq in range(1, n + 1):
        content = ledger.EntryContent(
            start + timedelta(seconds=seq), "alice", "customer.updated", "customer", str(seq), '{"x":1}', "", ""
        )
        digest = ledger.entry_hash(content, prev)
        entries.append(ledger.StoredEntry(seq, content, prev, digest))
        prev = digest
    return entries


def verify(entries: list[ledger.StoredEntry]) -> tuple[int, ledger.ChainBreak | None]:
    by_hash = {entry.entry_hash: entry.seq for entry in entries}
    return ledger.verify_chain(entries, by_hash.get)


def test_intact_chain_verifies() -> None:
    checked, problem = verify(chain(10))
    assert (checked, problem) == (10, None)


def test_edited_entry_is_named() -> None:
    entries = chain(10)
    entries[4] = replace(entries[4], content=replace(entries[4].content, changes='{"x":2}'))
    _, problem = verify(entries)
    assert problem is not None and (problem.seq, problem.kind) == (5, "edited")


def test_deleted_entry_is_named() -> None:
    entries = chain(10)
    del entries[6]
    _, problem = verify(entries)
    assert problem is not None and (problem.seq, problem.kind) == (7, "deleted")


def test_deleted_first_entry_is_named() -> None:
    _, problem = verify(chain(5)[1:])
    assert problem is not None and (problem.seq, problem.kind) == (1, "deleted")


def test_deleted_entry_with_renumbered_successors_is_named() -> None:
    entries = chain(6)
    del entries[2]
    entries = [replace(e, seq=i + 1) for i, e in enumerate(entries)]
    _, problem = verify(entries)
    assert problem is not None and (problem.seq, problem.kind) == (2, "edited_or_deleted")


def test_reordered_entries_are_named() -> None:
    entries = chain(10)
    third, fourth = entries[2], entries[3]
    entries[2], entries[3] = replace(fourth, seq=3), replace(third, seq=4)
    _, problem = verify(entries)
    assert problem is not None and (problem.seq, problem.kind) == (3, "reordered")


@given(size=st.integers(1, 70), data=st.data())
def test_every_leaf_has_a_proof_that_checks_against_the_root(size: int, data: st.DataObject) -> None:
    hashes = [e.entry_hash for e in chain(size)]
    root = ledger.merkle_root(hashes)
    index = data.draw(st.integers(0, size - 1))
    path = ledger.inclusion_proof(hashes, index)
    assert ledger.verify_inclusion(hashes[index], path, root)
    other = hashes[(index + 1) % size]
    assert size == 1 or not ledger.verify_inclusion(other, path, root)


def test_a_proof_does_not_check_against_another_root() -> None:
    hashes = [e.entry_hash for e in chain(8)]
    path = ledger.inclusion_proof(hashes, 3)
    assert not ledger.verify_inclusion(hashes[3], path, ledger.merkle_root(hashes[:7]))
