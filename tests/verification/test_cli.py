"""``riskdesk ids check`` and ``riskdesk screen compare``."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskdesk.cli.main import app
from riskdesk.demo.portfolio import make_uscc

runner = CliRunner()


def test_ids_check_decodes_a_valid_code_and_exits_0() -> None:
    code = make_uscc(random.Random(5), "110105")
    result = runner.invoke(app, ["ids", "check", code])
    assert result.exit_code == 0
    body = json.loads(result.stdout)
    assert (body["valid"], body["type"], body["normalized"]) == (True, "uscc", code)
    assert body["facts"]["registration_authority"] == "9 工商"
    assert body["facts"]["division_name"] == "北京市朝阳区"


def test_ids_check_names_the_broken_rule_and_exits_1() -> None:
    code = make_uscc(random.Random(6), "110105")
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    result = runner.invoke(app, ["ids", "check", wrong, "--type", "uscc"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["rule"] == f"check character should be {code[-1]}, found {wrong[-1]}"


def test_ids_check_converts_a_legacy_id_and_warns_on_an_unknown_region() -> None:
    legacy = json.loads(runner.invoke(app, ["ids", "check", "110105850615123"]).stdout)
    assert legacy["valid"] and legacy["normalized"].startswith("11010519850615123")
    assert "legacy 15-digit" in legacy["warnings"][0]
    from riskdesk.identifiers import ric_check_character

    unknown = "99042619900101001"
    result = runner.invoke(app, ["ids", "check", unknown + ric_check_character(unknown)])
    assert result.exit_code == 0
    assert "not in the GB/T 2260 table" in json.loads(result.stdout)["warnings"][0]


@pytest.mark.parametrize(("value", "kind"), [("5493001KJTIIGC8Y1R12", "lei"), ("12345", "unknown")])
def test_ids_check_guesses_the_type(value: str, kind: str) -> None:
    assert json.loads(runner.invoke(app, ["ids", "check", value]).stdout)["type"] == kind


def test_screen_compare_prints_score_match_and_explanation() -> None:
    result = runner.invoke(app, ["screen", "compare", "习近平", "Xi Jinping"])
    assert result.exit_code == 0
    body = json.loads(result.stdout)
    assert (body["score"], body["match"]) == (1.0, True)
    assert body["explanation"]["name"]["left"] == ["xi", "jinping"]


def test_screen_compare_pairs_prints_one_line_per_row_in_order(tmp_path: Path) -> None:
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(
        "name1,name2,kind\n华为技术有限公司,Huawei Technologies Co. Ltd.,company\n张伟,张伟明,\n", encoding="utf-8"
    )
    result = runner.invoke(app, ["screen", "compare", "--pairs", str(pairs)])
    assert result.exit_code == 0
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["match"] for line in lines] == [True, False]


def test_screen_compare_refuses_a_pairs_file_without_the_columns(tmp_path: Path) -> None:
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("a,b\nx,y\n", encoding="utf-8")
    result = runner.invoke(app, ["screen", "compare", "--pairs", str(pairs)])
    assert result.exit_code == 1
    assert "name1,name2" in result.output


def test_ids_check_auto_reads_a_valid_uscc_that_looks_like_an_id_number() -> None:
    body = json.loads(runner.invoke(app, ["ids", "check", "911101191000000089"]).stdout)
    assert (body["valid"], body["type"]) == (True, "uscc")
