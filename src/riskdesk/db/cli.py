"""``riskdesk db upgrade`` and ``riskdesk db check``."""

from __future__ import annotations

import typer

from riskdesk.cli.common import container, err, fail, handles_errors
from riskdesk.db import migrate

app = typer.Typer(help="Migrate the database and check it is at head.", no_args_is_help=True)


@app.command()
@handles_errors
def upgrade(revision: str = typer.Argument("head", help="target revision")) -> None:
    """Apply migrations (a new embedded database is created under RISKDESK_DATA_DIR)."""
    engine = container().engine
    migrate.upgrade(engine, revision)
    state = migrate.state(engine)
    typer.echo(f"database at {', '.join(state.current) or 'base'} (head {state.head})")


@app.command()
@handles_errors
def check() -> None:
    """Exit 0 when the database is at the newest migration, 1 (and say why) when it is not."""
    state = migrate.state(container().engine)
    if not state.at_head:
        current = ", ".join(state.current) or "empty (no migrations applied)"
        raise fail(f"database is at {current}, not at head {state.head}; run `riskdesk db upgrade`")
    err.print(f"database is at head {state.head}")
