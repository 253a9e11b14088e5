"""Pure ledger maths: entry hashes, chain verification and Merkle inclusion proofs.

Entry hash = SHA-256 over the canonical JSON of the entry's content and the previous entry's hash. ``seq``
is deliberately not hashed: moving an entry to another position breaks the link to its neighbour, which is
how a reordering is told apart from an edit.

Merkle trees follow RFC 6962 (Certificate Transparency): leaf = SHA-256(0x00 || entry hash bytes),
node = SHA-256(0x01 || left || right), an odd node is promoted unchanged. An auditor can check a proof with
:func:`verify_inclusion` or the dozen lines of any language that implement the same two rules.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class EntryContent:
    occurred_at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    changes: str
    reason: str
    request_id: str

    def canonical(self, prev_hash: str) -> bytes:
        body = {
            "occurred_at": self.occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
            "actor": self.actor,
            "action": self.action,
            "entity_type": self.entity_type,
            "entity_id": self.entity_id,
            "changes": self.changes,
            "reason": self.reason,
            "request_id": self.request_id,
            "prev_hash": prev_hash,
        }
        return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def entry_hash(content: EntryContent, prev_hash: str) -> str:
    return hashlib.sha256(content.canonical(prev_hash)).hexdigest()


def canonical_changes(changes: dict[str, Any]) -> str:
    return json.dumps(changes, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


@dataclass(frozen=True)
class StoredEntry:
    seq: int
    content: EntryContent
    prev_hash: str
    entry_hash: str


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    kind: str  # "edited" | "deleted" | "reordered" | "edited_or_deleted"
    message: str


def verify_chain(entries: Iterable[StoredEntry], locate: Callable[[str], int | None]) -> tuple[int, ChainBreak | None]:
    """Walk entries in ``seq`` order; return how many were checked and the first break, if any.

    Streams: memory does not grow with the ledger. ``locate`` finds the ``seq`` of the entry with a given hash;
    it is asked only when a link is broken, to tell a reordering (the linked entry exists elsewhere) from a deletion.
    """
    expected_prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    for entry in entries:
        if entry_hash(entry.content, entry.prev_hash) != entry.entry_hash:
            return checked, ChainBreak(
                entry.seq, "edited", f"entry {entry.seq} was edited: its content no longer matches its hash"
            )
        if entry.seq != expected_seq:
            if expected_seq == 1:
                return checked, ChainBreak(1, "deleted", f"entry 1 is missing: the ledger starts at entry {entry.seq}")
            return checked, ChainBreak(
                expected_seq,
                "deleted",
                f"entry {expected_seq} is missing (deleted): entry {entry.seq} follows entry {expected_seq - 1}",
            )
        if entry.prev_hash != expected_prev:
            origin = locate(entry.prev_hash)
            if origin is not None:
                return checked, ChainBreak(
                    entry.seq,
                    "reordered",
                    f"entry {entry.seq} was reordered: it was written after entry {origin},"
                    f" but now follows entry {entry.seq - 1}",
                )
            # The link points at a hash no entry has: either entry seq-1 was edited and its hash recomputed to
            # hide the edit, or the entry between them was deleted and the rest renumbered. Name the earlier one.
            return checked, ChainBreak(
                entry.seq - 1,
                "edited_or_deleted",
                f"entry {entry.seq} no longer links to entry {entry.seq - 1}: entry {entry.seq - 1} was edited and"
                f" its hash recomputed, or an entry after it was deleted and the later entries renumbered",
            )
        expected_prev = entry.entry_hash
        expected_seq = entry.seq + 1
        checked += 1
    return checked, None


# ── Merkle trees (RFC 6962 hashing) ──────────────────────────────────────────────────────────────────────


def leaf_hash(entry_hash_hex: str) -> bytes:
    return hashlib.sha256(b"\x00" + bytes.fromhex(entry_hash_hex)).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def merkle_root(entry_hashes: Sequence[str]) -> str:
    if not entry_hashes:
        raise ValueError("a Merkle root needs at least one entry")
    level = [leaf_hash(h) for h in entry_hashes]
    while len(level) > 1:
        level = [_node(level[i], level[i + 1]) if i + 1 < len(level) else level[i] for i in range(0, len(level), 2)]
    return level[0].hex()


def inclusion_proof(entry_hashes: Sequence[str], index: int) -> list[dict[str, str]]:
    """Sibling hashes from leaf ``index`` up to the root, each with the side it sits on."""
    if not 0 <= index < len(entry_hashes):
        raise IndexError(f"leaf {index} is outside a block of {len(entry_hashes)} entries")
    level = [leaf_hash(h) for h in entry_hashes]
    path: list[dict[str, str]] = []
    position = index
    while len(level) > 1:
        sibling = position ^ 1
        if sibling < len(level):
            path.append({"side": "left" if sibling < position else "right", "hash": level[sibling].hex()})
        level = [_node(level[i], level[i + 1]) if i + 1 < len(level) else level[i] for i in range(0, len(level), 2)]
        position //= 2
    return path


def verify_inclusion(entry_hash_hex: str, path: Sequence[dict[str, str]], root_hex: str) -> bool:
    node = leaf_hash(entry_hash_hex)
    for step in path:
        sibling = bytes.fromhex(step["hash"])
        node = _node(sibling, node) if step["side"] == "left" else _node(node, sibling)
    return node.hex() == root_hex
