"""``riskdesk customers import FILE``."""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from riskdesk.cli.common import cli_actor, container, echo_json, err, fail, handles_errors
from riskdesk.db.session import unit_of_work

app = typer.Typer(help="Import customers from CSV or JSON Lines.", no_args_is_help=True)


@app.callback()
def customers() -> None:
    """Customer master data commands."""


class _Rejected(Exception):
    """Rolls the import's transaction back when any row was rejected."""


@app.command("import")
@handles_errors
def import_file(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    file_format: str = typer.Option(None, "--format", help="csv or jsonl (default: from the file name)"),
) -> None:
    """Import every row or none; on rejection print each row's line, field and reason and exit 1."""
    from riskdesk.customers import importer

    c = container()
    raw = path.read_bytes()
    if len(raw) > c.settings.max_upload_bytes:
        raise fail(f"{path} is larger than RISKDESK_MAX_UPLOAD_BYTES ({c.settings.max_upload_bytes} bytes); split it")
    report = None
    with Progress(
        TextColumn("importing {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task(path.name, total=None)

        def tick(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        # _Rejected rolls the transaction back; it is then suppressed and the report below says why.
        with suppress(_Rejected), unit_of_work(c.session_factory) as session:
            report = importer.import_customers(
                session,
                raw=raw,
                filename=path.name,
                keyring=c.keyring,
                actor=cli_actor(),
                file_format=file_format,
                progress=tick,
            )
            if not report.ok:
                raise _Rejected
            progress.update(task, description=f"{path.name}: screening")
            c.dispatch_events(session)
    assert report is not None
    echo_json(report.as_dict())
    if not report.ok:
        raise fail(f"{len({d.line for d in report.rejected})} rows rejected; nothing was imported")
    err.print(f"imported {report.imported} customers from {path.name}")
