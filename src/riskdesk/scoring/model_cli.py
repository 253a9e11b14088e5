"""``riskdesk model train | evaluate | score``: probability-of-default models (docs/risk-prediction.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from riskdesk.cli.common import err, handles_errors
from riskdesk.errors import ValidationFailed

app = typer.Typer(
    help="Train, evaluate and score probability-of-default models (scorecard, gradient boosting, or both).",
    no_args_is_help=True,
)

SCORE_BATCH_ROWS = 100_000


def _monotone(values: list[str]) -> dict[str, int]:
    parsed = {}
    for value in values:
        name, _, direction = value.rpartition("=")
        if not name or direction.strip() not in ("+1", "1", "-1"):
            raise ValidationFailed(f"--monotone {value!r}: write FEATURE=+1 (PD rises with it) or FEATURE=-1")
        parsed[name.strip()] = int(direction.strip())
    return parsed


@app.command()
@handles_errors
def train(
    data: Path = typer.Option(..., "--data", dir_okay=False, help="labelled CSV or Parquet file"),
    target: str = typer.Option(..., "--target", help="the column saying good/bad (0/1, true/false, good/bad)"),
    out: Path = typer.Option(..., "--out", file_okay=False, help="new folder for the model (never overwritten)"),
    kind: str = typer.Option("auto", "--kind", help="auto (both, the better is champion), scorecard or gbm"),
    time_column: str | None = typer.Option(None, "--time-column", help="validate out of time on the latest rows"),
    id_column: list[str] = typer.Option([], "--id-column", help="a column that identifies rows; not learned from"),
    monotone: list[str] = typer.Option([], "--monotone", help="FEATURE=+1 or FEATURE=-1: gbm PD only rises/falls"),
    calibration: str = typer.Option("platt", "--calibration", help="platt or isotonic (gbm)"),
    allow_leaks: bool = typer.Option(False, "--allow-leaks", help="train although a column alone gives the answer"),
    version: str | None = typer.Option(None, "--version", help="the model's version (default: file-time-hash)"),
    labels: Path | None = typer.Option(
        None, "--labels", dir_okay=False, help="readable names for reasons: CSV column,en,zh or JSON"
    ),
) -> None:
    """Train, validate, and save the model; the validation metrics are the last line of standard output, as one
    JSON object."""
    from riskdesk.cli.common import cli_actor
    from riskdesk.scoring.pd_model import check_target
    from riskdesk.scoring.tabular import read_labels, read_table
    from riskdesk.scoring.training import Source, train_models

    check_target(out)
    constraints = _monotone(monotone)
    frame = read_table(data)
    named = read_labels(labels) if labels is not None else None
    trained = train_models(
        frame,
        target=target,
        source=Source.of(data),
        kind=kind,
        time_column=time_column,
        id_columns=tuple(id_column),
        monotone=constraints,
        calibration=calibration,
        feature_labels=named,
        allow_leaks=allow_leaks,
        trained_by=cli_actor().name,
        version=version,
        progress=lambda line: err.print(line, highlight=False, soft_wrap=True),
    )
    trained.save(out)
    summary = trained.summary()
    err.print(f"model {summary['version']} saved to {out}; champion {summary['champion']}", highlight=False)
    typer.echo(json.dumps(summary, ensure_ascii=False))


@app.command()
@handles_errors
def evaluate(
    model_dir: Path = typer.Option(..., "--model", file_okay=False, help="a folder from `riskdesk model train`"),
    data: Path = typer.Option(..., "--data", dir_okay=False, help="labelled CSV or Parquet file"),
    target: str = typer.Option(..., "--target"),
    challenger: bool = typer.Option(False, "--challenger", help="also measure the challenger"),
) -> None:
    """Measure the champion on labelled data: AUC, Gini, KS, Brier, log loss, n, bad rate and calibration by decile,
    as one JSON object on the last line."""
    from riskdesk.scoring import pd_model
    from riskdesk.scoring.tabular import read_table, target_labels
    from riskdesk.scoring.validation import evaluate as measure

    model = pd_model.load(model_dir)
    frame = read_table(data)
    labels, labelled = target_labels(frame, target)
    rows = frame.loc[labelled].reset_index(drop=True)
    result: dict[str, Any] = {"model_version": model.version, "kind": model.champion_kind}
    result.update(measure(labels, model.champion.score(rows, reasons=False).probability_of_default))
    if challenger and model.challenger_kind:
        scored = model.scorer(model.challenger_kind).score(rows, reasons=False)
        result["challenger"] = {"kind": model.challenger_kind, **measure(labels, scored.probability_of_default)}
    typer.echo(json.dumps(result, ensure_ascii=False))


@app.command()
@handles_errors
def score(
    model_dir: Path = typer.Option(..., "--model", file_okay=False, help="a folder from `riskdesk model train`"),
    data: Path = typer.Option(..., "--data", dir_okay=False, help="CSV or Parquet file of customers to score"),
    out: Path = typer.Option(..., "--out", dir_okay=False, help="CSV or Parquet file to write"),
    shadow: bool = typer.Option(False, "--shadow", help="add the challenger's PD beside the champion's"),
) -> None:
    """Per row: the champion's probability of default, its grade on the credit policy's master scale, and the top
    three reasons (feature, English, Chinese)."""
    import pandas as pd

    from riskdesk.cli.common import container
    from riskdesk.scoring import pd_model
    from riskdesk.scoring.tabular import read_table

    if out.suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise ValidationFailed(f"{out.name}: the output must be a .csv or .parquet file")
    model = pd_model.load(model_dir)
    # The master scale belongs to credit; the CLI, which may import every feature, hands it to scoring.
    scale = [(g.grade, float(g.pd_max)) for g in container().credit_policy.grades]
    frame = read_table(data)
    parts = []
    partial = out.with_name(f".{out.name}.partial")
    try:
        for start in range(0, len(frame), SCORE_BATCH_ROWS):
            batch = frame.iloc[start : start + SCORE_BATCH_ROWS]
            scored = pd_model.score_frame(model, batch, scale=scale, shadow=shadow, first_row=start + 1)
            if out.suffix.lower() == ".csv":
                scored.to_csv(partial, mode="a" if start else "w", header=not start, index=False)
            else:
                parts.append(scored)
        if parts:
            pd.concat(parts, ignore_index=True).to_parquet(partial, index=False)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    err.print(f"scored {len(frame)} rows with {model.version} ({model.champion_kind}) into {out}", highlight=False)


@app.command()
@handles_errors
def register(
    model_dir: Path = typer.Argument(..., file_okay=False, exists=True, help="a folder from `riskdesk model train`"),
) -> None:
    """Register a trained model directory as a version (copied under RISKDESK_MODELS_DIR); it starts as a
    candidate, and becomes champion once its promotion is asked for and approved by another person (desk: Models)."""
    from riskdesk.cli.common import cli_actor, container, session_scope
    from riskdesk.scoring import registry

    with session_scope() as session:
        record = registry.register(
            session, source=model_dir, models_dir=container().settings.resolved_models_dir, actor=cli_actor()
        )
        typer.echo(f"registered model {record.version} (id {record.id}) as a candidate")


@app.command("list")
@handles_errors
def list_versions() -> None:
    """Registered versions with their role and validation AUC, as JSON lines."""
    from riskdesk.cli.common import session_scope
    from riskdesk.scoring import registry

    with session_scope() as session:
        for record in registry.versions(session):
            out = registry.version_out(record)
            typer.echo(json.dumps({k: out[k] for k in ("id", "version", "kind", "role", "promotion", "metrics")}))


@app.command()
@handles_errors
def recalibrate(
    version: str = typer.Option(..., "--model-version", help="a registered version, usually the champion"),
    data: Path = typer.Option(..., "--data", dir_okay=False, help="recent customers with their outcomes"),
    target: str = typer.Option(..., "--target", help="the outcome column (0/1, true/false, good/bad)"),
    new_version: str | None = typer.Option(None, "--version", help="the new version (default: VERSION-recal-time)"),
) -> None:
    """Refit the PD level of a version on recent outcomes into a new candidate version; it scores customers once
    its promotion is approved (desk: Models). The last line is the calibration before and after, as JSON."""
    from sqlalchemy import select

    from riskdesk.cli.common import cli_actor, container, session_scope
    from riskdesk.scoring import registry
    from riskdesk.scoring.models import ModelVersion
    from riskdesk.scoring.tabular import file_sha256, read_table

    frame = read_table(data)
    with session_scope() as session:
        found = session.scalar(select(ModelVersion.id).where(ModelVersion.version == version))
        if found is None:
            raise ValidationFailed(f"no registered model version {version!r}; see `riskdesk model list`")
        record = registry.recalibrate(
            session,
            version_id=found,
            frame=frame,
            target=target,
            data_sha256=file_sha256(data),
            models_dir=container().settings.resolved_models_dir,
            actor=cli_actor(),
            new_version=new_version,
        )
        err.print(f"registered {record.version} (recalibrated from {version}) as a candidate", highlight=False)
        typer.echo(
            json.dumps({k: record.manifest["recalibration"][k] for k in ("slope", "intercept", "before", "after")})
        )
