"""``make bench``: run every benchmark, print its table, and write it to benchmarks/results/<name>.md."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import (
    bench_batch_scoring,
    bench_credit_checks,
    bench_foundation,
    bench_monitoring,
    bench_pd_models,
    bench_reasons,
    bench_scorecard,
    bench_screening,
    bench_screening_speed,
    bench_training_scale,
    machine,
)

RESULTS = Path(__file__).parent / "results"


def foundation_report(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| backend | measure | riskdesk | baseline | riskdesk / baseline | baseline is |",
        "|---|---|---:|---:|---:|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['backend']} | {row['measure']} | {row['riskdesk']:,.0f} {row['unit']} | "
            f"{row['baseline']:,.0f} {row['unit']} | {row['riskdesk'] / row['baseline']:.2f} | {row['baseline_name']} |"
        )
    return lines


# file name, title, run, report
BENCHMARKS: list[tuple[str, str, Callable[[], Any], Callable[[Any], list[str]]]] = [
    ("foundation", "Foundation benchmark", bench_foundation.run, foundation_report),
    ("screening", "Screening benchmark", bench_screening.run, bench_screening.report),
    ("screening-speed", "Screening speed benchmark", bench_screening_speed.run, bench_screening_speed.report),
    ("scorecard", "Scorecard benchmark", bench_scorecard.run, bench_scorecard.report),
    ("batch-scoring", "Batch scoring benchmark", bench_batch_scoring.run, bench_batch_scoring.report),
    ("credit-checks", "Credit-check API benchmark", bench_credit_checks.run, bench_credit_checks.report),
    ("pd-models", "PD model benchmark", bench_pd_models.run, bench_pd_models.report),
    ("reasons", "Reasons benchmark", bench_reasons.run, bench_reasons.report),
    ("monitoring", "Monitoring benchmark", bench_monitoring.run, bench_monitoring.report),
    ("training-30k", "Training time at 30,000 rows", bench_training_scale.run, bench_training_scale.report),
]


def main() -> int:
    RESULTS.mkdir(exist_ok=True)
    for name, title, run, report in BENCHMARKS:
        started = datetime.now(UTC)
        header = [f"# {title}", "", f"Run {started:%Y-%m-%d %H:%M} UTC on {machine.describe()}.", ""]
        text = "\n".join([*header, *report(run())]) + "\n"
        (RESULTS / f"{name}.md").write_text(text)
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
