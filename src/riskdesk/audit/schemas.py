"""Shapes of ledger entries, verification reports and proofs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class EntryOut(BaseModel):
    seq: int
    occurred_at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    changes: dict[str, Any]
    reason: str
    request_id: str
    prev_hash: str
    entry_hash: str


class EntryPage(BaseModel):
    items: list[EntryOut]
    total: int
    page: int
    per_page: int


class VerifyOut(BaseModel):
    ok: bool
    entries_checked: int
    checkpoints_checked: int
    first_break_seq: int | None
    kind: str | None
    message: str


class ProofOut(BaseModel):
    entry: int
    entry_hash: str
    checkpoint: int
    first_seq: int
    last_seq: int
    leaf_index: int
    path: list[dict[str, str]]
    merkle_root: str
    algorithm: str
