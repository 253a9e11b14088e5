"""``riskdesk keys …``."""

from __future__ import annotations

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from riskdesk.cli.common import cli_actor, container, err, handles_errors, session_scope

app = typer.Typer(help="Generate encryption keys and re-encrypt under a new one.", no_args_is_help=True)


@app.command()
def generate() -> None:
    """Print a new random AES-256 key (base64) for RISKDESK_ENCRYPTION_KEYS."""
    from riskdesk.security.crypto import generate_key

    typer.echo(generate_key())


@app.command()
@handles_errors
def rotate() -> None:
    """Re-encrypt every sensitive value under RISKDESK_ENCRYPTION_ACTIVE_KEY (all or nothing).

    Add the new key to the ring, make it active, run this, then remove the old key from the ring.
    """
    from riskdesk.audit import service as audit
    from riskdesk.comms import service as comms
    from riskdesk.customers import sealing

    keyring = container().keyring
    with (
        Progress(TextColumn("re-encrypting"), BarColumn(), MofNCompleteColumn(), console=err, transient=True) as bar,
        session_scope() as session,
    ):
        task = bar.add_task("rotate", total=None)
        resealed = sealing.rotate_keys(
            session, keyring=keyring, progress=lambda done, total: bar.update(task, completed=done, total=total)
        )
        resealed += comms.reseal_secrets(session, keyring=keyring)  # webhooks' signing secrets
        audit.append(
            session,
            actor=cli_actor(),
            action="keys.rotated",
            entity_type="key_ring",
            entity_id=keyring.active_key_id,
            changes={"values_resealed": resealed},
        )
    typer.echo(f"re-encrypted {resealed} values under key {keyring.active_key_id!r}")
