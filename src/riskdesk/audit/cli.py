"""``riskdesk audit …``: verify, checkpoint, prove, check-proof."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from riskdesk.cli.common import container, echo_json, err, fail, handles_errors, session_scope

app = typer.Typer(help="Verify the ledger, write Merkle checkpoints, print inclusion proofs.", no_args_is_help=True)


@app.command()
@handles_errors
def verify() -> None:
    """Walk the hash chain and every checkpoint; exit 1 naming the first entry edited, deleted or reordered."""
    from riskdesk.audit import service

    with session_scope() as session:
        report = service.verify(session)
    if report.first_break is not None:
        raise fail(
            f"ledger broken at entry {report.first_break.seq} ({report.first_break.kind}): {report.first_break.message}"
        )
    err.print(f"ledger intact: {report.entries_checked} entries, {report.checkpoints_checked} checkpoints verified")


@app.command()
@handles_errors
def checkpoint(
    block_size: int = typer.Option(0, "--block-size", help="entries per block (default RISKDESK_AUDIT_BLOCK_SIZE)"),
    full_blocks_only: bool = typer.Option(False, "--full-blocks-only", help="leave a last partial block open"),
) -> None:
    """Seal new entries into Merkle blocks and print each block's root, to be kept outside riskdesk."""
    from riskdesk.audit import service

    size = block_size or container().settings.audit_block_size
    if size < 2:
        raise fail("--block-size must be at least 2")
    with session_scope() as session:
        created = service.checkpoint(session, block_size=size, include_partial=not full_blocks_only)
        rows = [
            {
                "checkpoint": c.id,
                "first_seq": c.first_seq,
                "last_seq": c.last_seq,
                "merkle_root": c.merkle_root,
            }
            for c in created
        ]
    if not rows:
        err.print("nothing new to checkpoint")
    echo_json(rows)


@app.command()
@handles_errors
def prove(seq: int = typer.Argument(..., help="the entry's sequence number")) -> None:
    """Print the inclusion proof of one entry as JSON (check it with `riskdesk audit check-proof`)."""
    from riskdesk.audit import service

    with session_scope() as session:
        echo_json(service.prove(session, seq=seq))


@app.command("check-proof")
def check_proof(
    proof_file: Path = typer.Argument(..., exists=True, dir_okay=False, help="JSON printed by `audit prove`"),
    root: str = typer.Option(..., "--root", help="the Merkle root you kept outside riskdesk"),
) -> None:
    """Check a proof against an independently kept root. Reads no database."""
    from riskdesk.audit.ledger import verify_inclusion

    try:
        proof = json.loads(proof_file.read_text())
        ok = verify_inclusion(proof["entry_hash"], proof["path"], root.strip().lower())
    except (ValueError, KeyError, TypeError) as exc:
        raise fail(f"{proof_file} is not a proof printed by `riskdesk audit prove`: {exc}") from None
    if not ok:
        raise fail(f"entry {proof.get('entry')} is NOT included under root {root}")
    typer.echo(f"entry {proof.get('entry')} is included under root {root}")
