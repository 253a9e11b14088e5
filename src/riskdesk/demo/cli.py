"""``riskdesk demo``: a fresh embedded database with a seeded portfolio, then the desk."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from riskdesk.cli.common import err, handles_errors

app = typer.Typer(help="Build a seeded demo portfolio in a fresh database and serve the desk.")


@app.command()
@handles_errors
def demo(
    seed: int = typer.Option(7, "--seed", help="the same seed builds the same portfolio"),
    customers: int = typer.Option(500, "--customers", min=0, max=100_000, help="companies to generate"),
    individuals: int = typer.Option(200, "--individuals", min=0, max=100_000),
    database: Path = typer.Option(Path("var/demo.db"), "--database", help="SQLite file to (re)create"),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="serve the desk when the portfolio is built"),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
) -> None:
    """Replace the demo database file (never RISKDESK_DATABASE_URL's) with a new seeded portfolio."""
    from riskdesk.bootstrap import build_container
    from riskdesk.config import get_settings
    from riskdesk.db import migrate
    from riskdesk.db.session import unit_of_work
    from riskdesk.demo.service import DEMO_PASSWORD, DEMO_USERS, load

    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    settings = get_settings(database_url=f"sqlite:///{database.as_posix()}", models_dir=database.parent / "demo-models")
    container = build_container(settings)
    migrate.upgrade(container.engine)
    with Progress(
        TextColumn("building demo portfolio"), BarColumn(), MofNCompleteColumn(), console=err, transient=True
    ) as progress:
        task = progress.add_task("demo", total=None)
        with unit_of_work(container.session_factory) as session:
            summary = load(
                session,
                container=container,
                seed=seed,
                companies=customers,
                individuals=individuals,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
    typer.echo(
        f"demo database {database}: {summary.companies} companies, {summary.individuals} individuals,"
        f" {summary.groups} groups, {summary.relationships} relationships; a demo blacklist of"
        f" {summary.watchlist_entries} names ({summary.screening_hits} screening hits to review) and"
        f" {summary.registry_records} registry records to verify against"
    )
    typer.echo(f"demo users (password for all: {DEMO_PASSWORD}):")
    for username, role in DEMO_USERS.items():
        note = "  (approval level 2: up to 10,000,000 CNY, grades 1–8)" if username == "approver" else ""
        typer.echo(f"  {username:12} {role.value}{note}")
    if not serve:
        container.dispose()
        return
    import uvicorn

    from riskdesk.bootstrap import freeze_start_up_objects
    from riskdesk.web.app import create_app

    typer.echo(f"serving the desk on http://{host}:{port}/  (Ctrl-C to stop)")
    app = create_app(container)
    freeze_start_up_objects()
    uvicorn.run(app, host=host, port=port, log_level="warning")
