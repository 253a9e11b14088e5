"""``riskdesk credit reviews``: review tasks for limits about to expire."""

from __future__ import annotations

from datetime import date

import typer

from riskdesk.cli.common import cli_actor, handles_errors, session_scope

app = typer.Typer(help="Credit limits: open reviews of limits about to expire.", no_args_is_help=True)


@app.callback()
def credit() -> None:
    """Credit."""


@app.command()
@handles_errors
def reviews(days: int = typer.Option(30, "--days", min=1, max=365)) -> None:
    """A review task for the owner of each customer whose limit expires within DAYS (run daily)."""
    from riskdesk.credit import proposals

    with session_scope() as session:
        created = proposals.open_reviews(session, today=date.today(), actor=cli_actor(), days=days)
    typer.echo(f"{created} new review tasks")
