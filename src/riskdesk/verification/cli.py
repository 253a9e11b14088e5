"""``riskdesk screen NAME``, ``riskdesk screen compare``, ``riskdesk screen rescreen``."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from typer.core import TyperGroup

from riskdesk.cli.common import cli_actor, container, echo_json, err, fail, handles_errors, session_scope


class _NameOrCommand(TyperGroup):
    """``riskdesk screen NAME`` screens NAME; ``riskdesk screen compare …`` and ``rescreen`` are commands."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["name", *args]
        return super().resolve_command(ctx, args)


app = typer.Typer(cls=_NameOrCommand, help="Screen names against the imported watchlists.", no_args_is_help=True)


@app.callback()
def screen() -> None:
    """Name screening: `riskdesk screen NAME [--kind person|company]`, `compare`, `rescreen`."""


@app.command("name", hidden=True)
@handles_errors
def screen_one(
    name: str = typer.Argument(..., help="the name to screen"),
    kind: str = typer.Option("person", "--kind", help="person or company"),
    limit: int = typer.Option(10, "--limit", min=1, max=100),
) -> None:
    """Screen one name against the imported lists and print the hits as JSON (nothing is stored)."""
    from riskdesk.verification import screening
    from riskdesk.verification.matching import Subject

    with session_scope() as session:
        echo_json(
            screening.screen_name(
                session, subject=Subject(name, _kind(kind)), cache=container().screening_index, limit=limit
            )
        )


@app.command()
@handles_errors
def rescreen() -> None:
    """Screen every customer that is not closed against the lists now, with a progress bar."""
    from riskdesk.verification import screening

    c = container()
    with (
        Progress(TextColumn("screening"), BarColumn(), MofNCompleteColumn(), console=err, transient=True) as bar,
        session_scope() as session,
    ):
        task = bar.add_task("screen", total=None)
        raised = screening.rescreen_all(
            session,
            keyring=c.keyring,
            cache=c.screening_index,
            actor=cli_actor(),
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    typer.echo(f"{raised} new hits")


def _kind(value: str | None) -> str:
    kind = (value or "person").strip().lower()
    if kind not in ("person", "company"):
        raise fail(f"kind must be person or company, not {value!r}")
    return kind


@app.command()
def compare(
    name1: str = typer.Argument(None, help="first name (omit with --pairs)"),
    name2: str = typer.Argument(None, help="second name"),
    kind: str = typer.Option("person", "--kind", help="person or company"),
    pairs: Path = typer.Option(
        None,
        "--pairs",
        exists=True,
        dir_okay=False,
        help="CSV with columns name1,name2[,kind]: one JSON line per row, in order",
    ),
    threshold: float = typer.Option(None, "--threshold", min=0.0, max=1.0, help="match threshold (default 0.85)"),
) -> None:
    """Print the score, the verdict and the explanation per feature as JSON."""
    from riskdesk.verification.matching import DEFAULT_THRESHOLD, Subject
    from riskdesk.verification.matching import compare as compare_names

    limit = DEFAULT_THRESHOLD if threshold is None else threshold
    if pairs is not None:
        if name1 or name2:
            raise fail("give two names or --pairs FILE, not both")
        with pairs.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or not {"name1", "name2"} <= set(reader.fieldnames):
                raise fail(f"{pairs} needs a header with the columns name1,name2 (and optionally kind)")
            for line, row in enumerate(reader, start=2):
                if not (row.get("name1") or "").strip() or not (row.get("name2") or "").strip():
                    raise fail(f"{pairs}, line {line}: name1 and name2 must both be given")
                result = compare_names(
                    Subject(row["name1"], _kind(row.get("kind") or kind)),
                    Subject(row["name2"], _kind(row.get("kind") or kind)),
                    threshold=limit,
                )
                sys.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False) + "\n")
        return
    if not name1 or not name2:
        raise fail("give two names, e.g. riskdesk screen compare 习近平 'Xi Jinping', or --pairs FILE.csv")
    result = compare_names(Subject(name1, _kind(kind)), Subject(name2, _kind(kind)), threshold=limit)
    typer.echo(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
