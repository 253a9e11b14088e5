"""``riskdesk ids check VALUE [--type uscc|ric|lei|auto]``."""

from __future__ import annotations

import json
from dataclasses import asdict

import typer

from riskdesk.cli.common import fail

app = typer.Typer(help="Check unified social credit codes, resident ID numbers and LEIs.", no_args_is_help=True)


@app.callback()
def ids() -> None:
    """Identifiers."""


@app.command()
def check(
    value: str = typer.Argument(..., help="the identifier"),
    id_type: str = typer.Option("auto", "--type", help="uscc, ric, lei or auto"),
) -> None:
    """Print the verdict as JSON: valid, type, normalized, decoded facts, or the rule broken. Exit 1 if invalid."""
    from riskdesk import identifiers

    if id_type not in ("auto", "uscc", "ric", "lei"):
        raise fail(f"--type must be uscc, ric, lei or auto, not {id_type!r}")
    verdict = identifiers.check(value, id_type)
    details = asdict(verdict)
    body = {
        "valid": verdict.valid,
        "type": verdict.kind,
        "normalized": verdict.normalized,
        "rule": verdict.rule,
        "facts": details["facts"],
        "warnings": details["warnings"],
    }
    typer.echo(json.dumps(body, ensure_ascii=False, indent=2))
    if not verdict.valid:
        raise typer.Exit(1)
