from __future__ import annotations

import random
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import lei as stdnum_lei
from stdnum.cn import ric as stdnum_ric
from stdnum.cn import uscc as stdnum_uscc

from riskdesk import identifiers
from riskdesk.demo.portfolio import make_resident_id, make_uscc

divisions = st.sampled_from(["110105", "310115", "440305", "330106", "510107"])


@given(seed=st.integers(0, 10**9), division=divisions)
def test_generated_uscc_is_valid_and_agrees_with_stdnum(seed: int, division: str) -> None:
    code = make_uscc(random.Random(seed), division)
    assert identifiers.check_uscc(code).valid
    assert stdnum_uscc.is_valid(code)


@given(seed=st.integers(0, 10**9), position=st.integers(0, 17), replacement=st.sampled_from(identifiers.USCC_ALPHABET))
def test_any_single_character_change_of_a_uscc_is_rejected(seed: int, position: int, replacement: str) -> None:
    code = make_uscc(random.Random(seed), "110105")
    changed = code[:position] + replacement + code[position + 1 :]
    if changed != code and changed[2:8].isdigit():
        assert not identifiers.check_uscc(changed).valid


def test_uscc_names_the_expected_check_character() -> None:
    code = make_uscc(random.Random(1), "110105")
    wrong = "0" if code[-1] != "0" else "1"
    verdict = identifiers.check_uscc(code[:-1] + wrong)
    assert verdict.rule == f"check character should be {code[-1]}, found {wrong}"


def test_uscc_allows_letters_in_the_first_two_positions_where_stdnum_does_not() -> None:
    body = "Y1110000MA000000"
    org_body = body[8:16]
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    value = 11 - sum(int(c, 36) * w for c, w in zip(org_body, weights, strict=True)) % 11
    first17 = body + {10: "X", 11: "0"}.get(value, str(value))
    code = first17 + identifiers.uscc_check_character(first17)
    assert identifiers.check_uscc(code).valid
    assert not stdnum_uscc.is_valid(code)


@pytest.mark.parametrize(
    ("value", "rule_start"),
    [
        ("91110105MA00000", "length"),
        ("91110105MA0000000I", "character set"),
        ("91AB0105MA00000000", "administrative division"),
    ],
)
def test_uscc_rules_are_named(value: str, rule_start: str) -> None:
    verdict = identifiers.check_uscc(value)
    assert not verdict.valid
    assert verdict.rule is not None and verdict.rule.startswith(rule_start)


def test_uscc_is_normalised_from_full_width_and_lower_case() -> None:
    code = make_uscc(random.Random(3), "310115")
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in code.lower())
    assert identifiers.check_uscc(full_width).normalized == code


@given(
    born=st.dates(min_value=date(1930, 1, 1), max_value=date(2010, 12, 31)),
    male=st.booleans(),
    seed=st.integers(0, 999),
)
def test_resident_id_round_trip(born: date, male: bool, seed: int) -> None:
    number = make_resident_id(random.Random(seed), "110105", born, male)
    verdict = identifiers.check_resident_id(number)
    assert verdict.valid
    assert verdict.facts["birth_date"] == born.isoformat()
    assert verdict.facts["sex"] == ("male" if male else "female")
    assert stdnum_ric.is_valid(number)


def test_resident_id_with_impossible_birth_date_is_rejected() -> None:
    first17 = "11010519990231123"
    verdict = identifiers.check_resident_id(first17 + identifiers.ric_check_character(first17))
    assert verdict.rule is not None and verdict.rule.startswith("birth date")


def test_lei_needs_exactly_twenty_characters() -> None:
    assert identifiers.check_lei("5493001KJTIIGC8Y1R12").valid
    assert not identifiers.check_lei("98").valid
    assert stdnum_lei.is_valid("98")  # python-stdnum checks no length: why we wrap it
    assert not identifiers.check_lei("5493001KJTIIGC8Y1R13").valid


@pytest.mark.parametrize(("raw", "expected"), [("+86 139-1234-5678", "13912345678"), ("12345", None)])
def test_mobile_numbers_are_normalised(raw: str, expected: str | None) -> None:
    assert identifiers.normalize_phone(raw) == expected
