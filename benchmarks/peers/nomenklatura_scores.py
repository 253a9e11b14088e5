"""Score name pairs with nomenklatura's logic-v2, the algorithm yente uses. Runs in the peers' own virtual
environment (benchmarks/peers/requirements.txt), never in riskdesk's: `python nomenklatura_scores.py PAIRS.csv`
prints one score per line, in the order of the rows."""

from __future__ import annotations

import csv
import sys

from followthemoney import EntityProxy
from nomenklatura.matching import get_algorithm
from nomenklatura.matching.types import ScoringConfig


def entity(name: str, kind: str, number: int) -> EntityProxy:
    schema = "Person" if kind == "person" else "Company"
    return EntityProxy.from_dict({"id": f"e{number}", "schema": schema, "properties": {"name": [name]}})


def main(path: str) -> None:
    algorithm = get_algorithm("logic-v2")
    assert algorithm is not None
    config = ScoringConfig.defaults()
    with open(path, encoding="utf-8") as handle:
        for number, row in enumerate(csv.DictReader(handle)):
            kind = row.get("kind") or "person"
            result = algorithm.compare(
                entity(row["name1"], kind, 2 * number), entity(row["name2"], kind, 2 * number + 1), config
            )
            print(f"{result.score:.6f}")


if __name__ == "__main__":
    main(sys.argv[1])
