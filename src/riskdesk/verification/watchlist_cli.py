"""``riskdesk watchlist import FILE --list NAME [--format csv|ftm]`` and ``riskdesk watchlist list``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from riskdesk.cli.common import cli_actor, container, echo_json, err, handles_errors, session_scope

app = typer.Typer(help="Import watchlists (CSV or FollowTheMoney JSON Lines) and list them.", no_args_is_help=True)


@app.callback()
def watchlist() -> None:
    """Watchlists."""


@app.command("import")
@handles_errors
def import_file(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    name: str = typer.Option(..., "--list", help="the list's name; importing again updates it and keeps history"),
    file_format: str = typer.Option("csv", "--format", help="csv or ftm (FollowTheMoney JSON Lines)"),
    kind: str = typer.Option(
        None, "--kind", help="sanctions, pep, blacklist, dishonest_debtors, adverse_media, other (kept when omitted)"
    ),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="import the good rows, report the bad ones"),
) -> None:
    """Import a list, then re-screen every customer if entries were added or changed."""
    from riskdesk.verification import screening

    c = container()
    with (
        Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err, transient=True
        ) as bar,
        session_scope() as session,
    ):
        task = bar.add_task(f"importing {path.name}", total=None)
        result = screening.import_watchlist(
            session,
            name=name,
            raw=path.read_bytes(),
            file_format=file_format,
            actor=cli_actor(),
            kind=kind,
            skip_invalid=skip_invalid,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
        raised = 0
        if result.added or result.changed:
            bar.update(task, description="re-screening customers", completed=0, total=None)
            raised = screening.rescreen_all(
                session,
                keyring=c.keyring,
                cache=c.screening_index,
                actor=cli_actor(),
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    echo_json({**result.as_dict(), "new_hits": raised})


@app.command("list")
@handles_errors
def list_lists() -> None:
    from riskdesk.verification import screening

    with session_scope() as session:
        echo_json(screening.list_watchlists(session))
