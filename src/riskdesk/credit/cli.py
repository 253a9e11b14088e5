"""``riskdesk credit reviews|rates|exposure``: review tasks for expiring limits, exchange rates, open items."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path
from typing import Any

import typer

from riskdesk.cli.common import cli_actor, container, err, fail, handles_errors, session_scope

app = typer.Typer(
    help="Credit: reviews of expiring limits, exchange rates, open orders/deliveries/invoices.", no_args_is_help=True
)


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


def _records(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """Rows of a CSV (line numbers from 2) or JSON Lines file; empty CSV cells are absent values."""
    from riskdesk import jsonlines
    from riskdesk.errors import ValidationFailed

    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot read {path}: {exc}") from None
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        rows = []
        for line, record in jsonlines.objects(text):
            if not isinstance(record, dict):
                raise ValidationFailed(f"line {line}: {record.reason}")
            rows.append((line, record))
        return rows
    if path.suffix.lower() != ".csv":
        raise fail(f"{path.name}: give a .csv or .jsonl file")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    return [(n, {k: v for k, v in row.items() if k and v not in ("", None)}) for n, row in enumerate(reader, 2)]


def _validated(model: type[Any], rows: list[tuple[int, dict[str, Any]]]) -> list[Any]:
    from pydantic import ValidationError

    from riskdesk.errors import ValidationFailed, details_from_pydantic

    parsed = []
    for line, row in rows:
        try:
            parsed.append(model.model_validate(row))
        except ValidationError as exc:
            problems = "; ".join(f"{d.field}: {d.reason}" for d in details_from_pydantic(exc.errors()))
            raise ValidationFailed(f"line {line}: {problems} — nothing was loaded") from None
    return parsed


@app.command()
@handles_errors
def rates(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV/JSONL: currency,rate,valid_on"),
) -> None:
    """Load exchange rates (units of the base currency per unit, per day); all or nothing."""
    from riskdesk.credit import exposure

    records = _validated(exposure.RateIn, _records(file))
    with session_scope() as session:
        base = container().credit_policy.base_currency
        loaded = exposure.load_rates(session, rates=records, base=base, actor=cli_actor())
    typer.echo(f"{loaded} rates loaded")


@app.command("exposure")
@handles_errors
def exposure_items(
    file: Path = typer.Argument(
        ...,
        exists=True,
        dir_okay=False,
        help="CSV/JSONL: customer_id,kind,reference,currency,open_amount,document_date,due_on",
    ),
) -> None:
    """Report open orders, deliveries and invoices from the ERP (0 settles an item); the whole file or nothing."""
    from rich.progress import Progress

    from riskdesk.credit import exposure

    records = _validated(exposure.ItemIn, _records(file))
    totals = {"created": 0, "updated": 0, "unchanged": 0}
    with session_scope() as session, Progress(console=err, transient=True) as progress:
        base = container().credit_policy.base_currency
        task = progress.add_task("open items", total=len(records))
        for start in range(0, len(records), exposure.MAX_BATCH):
            batch = records[start : start + exposure.MAX_BATCH]
            for key, value in exposure.record_items(session, items=batch, base=base, actor=cli_actor()).items():
                totals[key] += value
            progress.advance(task, len(batch))
    typer.echo(", ".join(f"{value} {key}" for key, value in totals.items()))


@app.command()
@handles_errors
def dataset(
    out: Path = typer.Option(..., "--out", dir_okay=False, help="CSV to write: one row per company"),
    labels: Path | None = typer.Option(
        None, "--labels", exists=True, dir_okay=False, help="CSV customer_id,default (else: 90+ days past due today)"
    ),
) -> None:
    """The unit's own history as training data: the customer feature view of every company and its outcome."""
    import pandas as pd
    from rich.progress import Progress

    from riskdesk.credit import portfolio

    given = None
    if labels is not None:
        table = pd.read_csv(labels)
        if not {"customer_id", "default"} <= set(table.columns):
            raise fail(f"{labels.name} needs the columns customer_id and default")
        given = {int(c): int(d) for c, d in zip(table["customer_id"], table["default"], strict=True)}
    with session_scope() as session, Progress(console=err, transient=True) as progress:
        task = progress.add_task("customer features", total=None)
        rows = portfolio.dataset(
            session,
            policy=container().credit_policy,
            today=date.today(),
            labels=given,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    pd.DataFrame(rows, columns=["customer_id", *portfolio.FEATURES, "default"]).to_csv(out, index=False)
    named = out.with_suffix(".labels.csv")
    pd.DataFrame(
        [(column, en, zh) for column, (en, zh) in portfolio.FEATURE_LABELS.items()], columns=["column", "en", "zh"]
    ).to_csv(named, index=False)
    typer.echo(
        f"{len(rows)} companies written to {out}, the features' names to {named.name}; train with: riskdesk model"
        f" train --data {out} --target default --id-column customer_id --labels {named} --out DIR"
    )


@app.command()
@handles_errors
def rescore(
    downgrade_alert: int = typer.Option(2, "--downgrade-alert", min=1, help="grades down that raise an alert"),
    due: bool = typer.Option(
        False, "--due", help="only if a change of champion or overlay made a rescoring due (the scheduled job)"
    ),
) -> None:
    """Score every company by the champion PD model (the challenger in shadow) with the overlays in force, and
    print the grade migration matrix."""
    from rich.progress import Progress

    from riskdesk.credit import portfolio

    with session_scope() as session, Progress(console=err, transient=True) as progress:
        task = progress.add_task("rescoring", total=None)
        rescore = portfolio.rescore_due if due else portfolio.rescore
        result = rescore(
            session,
            policy=container().credit_policy,
            actor=cli_actor(),
            today=date.today(),
            downgrade_alert=downgrade_alert,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    if result is None:
        typer.echo("no rescoring is due")
        return
    typer.echo(
        f"{result.scored} companies scored by {result.model_version}; {result.downgraded} downgraded by"
        f" {downgrade_alert} grades or more (run {result.run})"
    )
    for before, after, count in result.migration_rows():
        typer.echo(f"  {before or '—':>3} → {after:>3}  {count}")


@app.command("model-health")
@handles_errors
def model_health() -> None:
    """Check the champion on its latest rescoring: PSI, CSI, realised AUC/KS; exit 1 when a review is needed."""
    from riskdesk.credit import portfolio

    with session_scope() as session:
        record = portfolio.check_model(session, policy=container().credit_policy, actor=cli_actor())
        review, psi, csi, realised = record.review_needed, record.psi, dict(record.csi), dict(record.realised)
    typer.echo(f"PSI of the PD {psi}; CSI " + ", ".join(f"{k} {v}" for k, v in list(csi.items())[:5]))
    typer.echo(f"realised: {realised}")
    if review:
        raise fail("model review needed: the population or the performance moved past the thresholds")
