"""``riskdesk registry import FILE`` and ``riskdesk verify [CUSTOMER_ID] [--incomplete]``."""

from __future__ import annotations

from pathlib import Path

import typer

from riskdesk.cli.common import cli_actor, container, echo_json, fail, handles_errors, session_scope

registry_app = typer.Typer(help="Import registry snapshots for verification.", no_args_is_help=True)
verify_app = typer.Typer(help="Verify customers against the registry and their screening hits.")


@registry_app.callback()
def registry() -> None:
    """Registry data."""


@registry_app.command("import")
@handles_errors
def import_file(path: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True)) -> None:
    """Import registry records (CSV or JSON Lines with name, uscc, legal_representative, status,
    registered_capital, established_on, address, former_names, abnormal_operations, dishonest_debtor,
    penalties); every row or none."""
    from riskdesk.verification import service

    with session_scope() as session:
        count = service.import_registry(session, raw=path.read_bytes(), filename=path.name, actor=cli_actor())
    typer.echo(f"imported {count} registry records from {path.name}")


@verify_app.command()
@handles_errors
def verify(
    customer_id: int = typer.Argument(None, help="the customer to verify"),
    incomplete: bool = typer.Option(False, "--incomplete", help="re-run every customer whose last check is incomplete"),
) -> None:
    """Print the verification report(s) as JSON; exit 1 when a check failed."""
    from riskdesk.verification import service

    if (customer_id is None) == (not incomplete):
        raise fail("give a customer id or --incomplete")
    c = container()
    with session_scope() as session:
        provider = c.registry_provider(session)
        checks = (
            service.retry_incomplete(session, provider=provider, actor=cli_actor())
            if incomplete
            else [service.verify_customer(session, customer_id=customer_id, provider=provider, actor=cli_actor())]
        )
        reports = [
            {
                "customer_id": ch.customer_id,
                "check": ch.id,
                "outcome": ch.outcome,
                "source": ch.source,
                "findings": ch.findings,
                "reasons": ch.reasons,
            }
            for ch in checks
        ]
    echo_json(reports)
    if any(r["outcome"] == "failed" for r in reports):
        raise typer.Exit(1)


documents_app = typer.Typer(help="Documents: turn documents expiring soon into tasks.", no_args_is_help=True)


@documents_app.callback()
def documents_group() -> None:
    """Documents."""


@documents_app.command()
@handles_errors
def expiring(days: int = typer.Option(30, "--days", min=1, max=365)) -> None:
    """Create a task for the owner of every document expiring within DAYS (run daily, e.g. from cron)."""
    from datetime import date

    from riskdesk.verification import documents

    with session_scope() as session:
        created = documents.create_expiry_tasks(session, today=date.today(), actor=cli_actor(), days=days)
        typer.echo(f"{len(created)} new tasks")
