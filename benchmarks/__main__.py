"""``make bench``: run every benchmark, print a table, and write it to benchmarks/results/."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import bench_foundation, bench_scorecard, bench_screening, bench_screening_speed, machine

RESULTS = Path(__file__).parent / "results"


def main() -> int:
    started = datetime.now(UTC)
    rows = bench_foundation.run()
    lines = [
        "# Foundation benchmark",
        "",
        f"Run {started:%Y-%m-%d %H:%M} UTC on {machine.describe()}.",
        "",
        "| backend | measure | riskdesk | baseline | riskdesk / baseline | baseline is |",
        "|---|---|---:|---:|---:|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['backend']} | {row['measure']} | {row['riskdesk']:,.0f} {row['unit']} | "
            f"{row['baseline']:,.0f} {row['unit']} | {row['riskdesk'] / row['baseline']:.2f} | {row['baseline_name']} |"
        )
    text = "\n".join(lines) + "\n"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "foundation.md").write_text(text)
    print(text)
    screening = (
        "\n".join(
            [
                "# Screening benchmark",
                "",
                f"Run {started:%Y-%m-%d %H:%M} UTC on {machine.describe()}.",
                "",
                *bench_screening.report(bench_screening.run()),
            ]
        )
        + "\n"
    )
    (RESULTS / "screening.md").write_text(screening)
    print(screening)
    speed = (
        "\n".join(
            [
                "# Screening speed benchmark",
                "",
                f"Run {started:%Y-%m-%d %H:%M} UTC on {machine.describe()}.",
                "",
                *bench_screening_speed.report(bench_screening_speed.run()),
            ]
        )
        + "\n"
    )
    (RESULTS / "screening-speed.md").write_text(speed)
    print(speed)
    cards = (
        "\n".join(
            [
                "# Scorecard benchmark",
                "",
                f"Run {started:%Y-%m-%d %H:%M} UTC on {machine.describe()}.",
                "",
                *bench_scorecard.report(bench_scorecard.run()),
            ]
        )
        + "\n"
    )
    (RESULTS / "scorecard.md").write_text(cards)
    print(cards)
    return 0


if __name__ == "__main__":
    sys.exit(main())
