"""docs/monitoring.md stays true: its example rules compile and it names every field of the vocabulary."""

from __future__ import annotations

import re
from pathlib import Path

from riskdesk.monitoring.indicators import BUILTIN_RULES
from riskdesk.monitoring.rules import compile_rule
from riskdesk.monitoring.vocabulary import VOCABULARY, WINDOWS

DOC = Path(__file__).parents[2] / "docs" / "monitoring.md"


def test_the_example_rules_in_the_docs_compile() -> None:
    blocks = re.findall(r"```\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    examples = [e.strip() for block in blocks for e in re.split(r"\n\s*\n", block) if e.strip()]
    assert len(examples) >= 5
    for example in examples:
        compile_rule(example)


def test_the_docs_name_every_field_and_builtin() -> None:
    text = DOC.read_text(encoding="utf-8")
    for root, fields in VOCABULARY.items():
        for name in fields:
            if any(name.endswith(f"_{w}") and ("_count_" in name or "_amount_" in name) for w in WINDOWS):
                continue  # the window features are given as one pattern
            assert f"`{name}`" in text, f"{root}.{name}"
    for rule in BUILTIN_RULES:
        assert f"`{rule.id}`" in text and rule.name_zh in text
