"""``riskdesk scorecard train`` and ``riskdesk scorecard score``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from riskdesk.cli.common import err, fail, handles_errors

app = typer.Typer(help="Train a points scorecard on labelled data and score with it.", no_args_is_help=True)


def _read(path: Path) -> Any:
    import pandas as pd

    if path.suffix.lower() == ".parquet":
        return pd.read_parquet(path)
    if path.suffix.lower() != ".csv":
        raise fail(f"{path.name}: give a .csv or .parquet file")
    return pd.read_csv(path)


@app.command()
@handles_errors
def train(
    data: Path = typer.Option(..., "--data", exists=True, dir_okay=False, help="labelled CSV or Parquet"),
    target: str = typer.Option(..., "--target", help="the column saying good/bad (0/1, true/false, good/bad)"),
    out: Path = typer.Option(..., "--out", file_okay=False, help="folder for scorecard.json"),
    id_column: list[str] = typer.Option([], "--id-column", help="columns that identify rows, not to score on"),
    holdout: float = typer.Option(0.3, "--holdout", min=0.1, max=0.5, help="share kept back for validation"),
    binning: str = typer.Option("riskdesk", "--binning", help="riskdesk (its own optimal binning) or optbinning"),
) -> None:
    """Train on (1 − holdout) of the rows, validate on the rest, save the readable points table; the validation
    metrics are the last line of standard output, as one JSON object."""
    from sklearn.model_selection import train_test_split

    from riskdesk.scoring import scorecard

    frame = _read(data)
    labels = scorecard.target_vector(list(frame[target]), target) if target in frame.columns else None
    if labels is None:
        raise fail(f"there is no column {target!r} in {data.name}")
    fit_part, check_part = train_test_split(frame, test_size=holdout, stratify=labels, random_state=0)
    model = scorecard.train(
        fit_part, target=target, exclude=tuple(id_column), version=f"scorecard:{data.stem}", binning=binning
    )
    check_labels = scorecard.target_vector(list(check_part[target]), target)
    scores = model.score_frame(check_part)["probability_of_default"].tolist()
    model.metrics = scorecard.evaluate(check_labels, scores)
    path = model.save(out)
    err.print(f"scorecard with {len(model.features)} characteristics saved to {path}")
    typer.echo(json.dumps(model.metrics))


@app.command()
@handles_errors
def score(
    model_dir: Path = typer.Option(..., "--model", exists=True, file_okay=False),
    data: Path = typer.Option(..., "--data", exists=True, dir_okay=False),
    out: Path = typer.Option(..., "--out", dir_okay=False, help="CSV with score, PD and the top three reasons"),
) -> None:
    """Score every row: points, probability of default, and the three characteristics that cost the most."""
    from riskdesk.scoring.scorecard import ScorecardModel

    model = ScorecardModel.load(model_dir)
    frame = _read(data)
    scored = model.score_frame(frame)
    columns = ["score", "probability_of_default", "reason_1_en", "reason_2_en", "reason_3_en"]
    table = scored[columns].rename(columns={f"reason_{k}_en": f"reason_{k}" for k in (1, 2, 3)})
    table.insert(0, "row", range(1, len(table) + 1))
    table.to_csv(out, index=False, lineterminator="\r\n", encoding="utf-8")
    err.print(f"scored {len(frame)} rows into {out}")
