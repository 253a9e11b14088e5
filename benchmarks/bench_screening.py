"""Screening quality: riskdesk's name matcher next to nomenklatura's logic-v2 (yente's default) on the labelled
pairs in data/name_pairs.csv (make_name_pairs.py), in one run.

Each is judged at its own product threshold (riskdesk 0.85, yente's SCORE_THRESHOLD 0.70) and, to be fair to
both, at the threshold that gives each its best F1 on this set. The peer runs in its own virtual environment
(.venv-peers, from peers/requirements.txt) so its pins never touch riskdesk's.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from riskdesk.verification.matching import DEFAULT_THRESHOLD, Subject, compare

HERE = Path(__file__).parent
PAIRS = HERE / "data" / "name_pairs.csv"
PEER_VENV = HERE.parent / ".venv-peers"
YENTE_THRESHOLD = 0.70


def peer_python() -> Path:
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "-r", str(HERE / "peers" / "requirements.txt")], check=True
        )
    return python


def rows() -> list[dict[str, str]]:
    with PAIRS.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def riskdesk_scores(pairs: list[dict[str, str]]) -> list[float]:
    return [compare(Subject(p["name1"], p["kind"]), Subject(p["name2"], p["kind"])).score for p in pairs]


def peer_scores() -> list[float]:
    script = HERE / "peers" / "nomenklatura_scores.py"
    output = subprocess.run([str(peer_python()), str(script), str(PAIRS)], check=True, capture_output=True, text=True)
    return [float(line) for line in output.stdout.split()]


def quality(labels: list[int], scores: list[float], threshold: float) -> dict[str, float]:
    tp = sum(1 for y, s in zip(labels, scores, strict=True) if y and s >= threshold)
    fp = sum(1 for y, s in zip(labels, scores, strict=True) if not y and s >= threshold)
    fn = sum(1 for y, s in zip(labels, scores, strict=True) if y and s < threshold)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"threshold": threshold, "precision": precision, "recall": recall, "f1": f1}


def best(labels: list[int], scores: list[float]) -> dict[str, float]:
    candidates = sorted(s for s in set(scores) if s > 0)  # a score of 0 is never a match
    return max((quality(labels, scores, t) for t in candidates), key=lambda q: q["f1"])


def run() -> dict[str, Any]:
    pairs = rows()
    labels = [int(p["label"]) for p in pairs]
    ours, theirs = riskdesk_scores(pairs), peer_scores()
    by_category: dict[str, list[int]] = defaultdict(list)
    for index, pair in enumerate(pairs):
        by_category[pair["category"]].append(index)
    categories = []
    for category, indexes in sorted(by_category.items()):

        def correct(scores: list[float], threshold: float, chosen: list[int] = indexes) -> int:
            return sum(1 for i in chosen if (scores[i] >= threshold) == bool(labels[i]))

        categories.append(
            {
                "category": category,
                "pairs": len(indexes),
                "matches": sum(labels[i] for i in indexes),
                "riskdesk": correct(ours, DEFAULT_THRESHOLD),
                "peer": correct(theirs, YENTE_THRESHOLD),
            }
        )
    return {
        "pairs": len(pairs),
        "chinese": sum(1 for p in pairs if p["category"].startswith("zh_")),
        "matches": sum(labels),
        "riskdesk": quality(labels, ours, DEFAULT_THRESHOLD),
        "riskdesk_best": best(labels, ours),
        "peer": quality(labels, theirs, YENTE_THRESHOLD),
        "peer_best": best(labels, theirs),
        "categories": categories,
    }


def report(result: dict[str, Any]) -> list[str]:
    def row(name: str, q: dict[str, float]) -> str:
        return f"| {name} | {q['threshold']:.2f} | {q['precision']:.3f} | {q['recall']:.3f} | {q['f1']:.3f} |"

    lines = [
        "## Screening quality",
        "",
        f"{result['pairs']} labelled pairs ({result['chinese']} Chinese, {result['matches']} true matches), "
        "`benchmarks/data/name_pairs.csv`.",
        "",
        "| matcher | threshold | precision | recall | F1 |",
        "|---|---:|---:|---:|---:|",
        row("riskdesk-v1 (product threshold)", result["riskdesk"]),
        row("nomenklatura logic-v2 (yente threshold)", result["peer"]),
        row("riskdesk-v1 (best threshold on this set)", result["riskdesk_best"]),
        row("nomenklatura logic-v2 (best threshold on this set)", result["peer_best"]),
        "",
        "| category | pairs | true matches | riskdesk correct | logic-v2 correct |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {c['category']} | {c['pairs']} | {c['matches']} | {c['riskdesk']} | {c['peer']} |"
        for c in result["categories"]
    ]
    return lines


if __name__ == "__main__":
    print("\n".join(report(run())))
