"""``riskdesk serve``."""

from __future__ import annotations

import typer

from riskdesk.cli.common import fail, handles_errors

app = typer.Typer(help="Serve the web desk and the API.")


@app.command()
@handles_errors
def serve(
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port", min=1, max=65535),
    workers: int = typer.Option(1, "--workers", min=1, help="uvicorn worker processes (PostgreSQL for more than 1)"),
) -> None:
    """Serve an existing, migrated database (see `riskdesk db upgrade`)."""
    import uvicorn

    from riskdesk.cli.common import container
    from riskdesk.db import migrate

    state = migrate.state(container().engine)
    if not state.at_head:
        raise fail("the database is not at the newest migration; run `riskdesk db upgrade` first")
    typer.echo(f"riskdesk desk on http://{host}:{port}/  (API: http://{host}:{port}/api/docs)")
    uvicorn.run(
        "riskdesk.web.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
    )
