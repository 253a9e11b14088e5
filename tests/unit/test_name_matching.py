"""The screening matcher on the cases the well-known engines miss, and the ones it must not confuse."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskdesk.verification.matching import DEFAULT_THRESHOLD, Subject, compare
from riskdesk.verification.names import parse


@pytest.mark.parametrize(
    ("name", "kind", "tokens"),
    [
        ("习近平", "person", ("xi", "jinping")),
        ("習近平", "person", ("xi", "jinping")),
        ("欧阳修", "person", ("ouyang", "xiu")),
        ("单雄信", "person", ("shan", "xiongxin")),
        ("Xí Jìnpíng", "person", ("xi", "jinping")),
        ("华为技术有限公司", "company", ("huawei", "technology")),
        ("Huawei Technologies Co., Ltd.", "company", ("huawei", "technology")),
        ("万科企业股份有限公司", "company", ("wanke",)),
        ("Sunrise Pharmaceuticals G.m.b.H.", "company", ("sunrise", "pharmaceutical")),
    ],
)
def test_names_become_comparable_parts(name: str, kind: str, tokens: tuple[str, ...]) -> None:
    assert parse(name, kind).tokens == tokens


def test_a_leading_place_is_kept_apart() -> None:
    parts = parse("深圳市腾讯计算机系统有限公司", "company")
    assert (parts.region, parts.region_han, parts.han) == (("shenzhen",), "深圳", "腾讯计算机系统")
    assert parse("Shenzhen Tencent Computer Systems Co., Ltd.", "company").region == ("shenzhen",)


def score(a: str, b: str, kind: str = "person") -> float:
    return compare(Subject(a, kind), Subject(b, kind)).score


@pytest.mark.parametrize(
    ("a", "b", "kind"),
    [
        ("习近平", "Xi Jinping", "person"),
        ("习近平", "習近平", "person"),
        ("习近平", "Jinping XI", "person"),
        ("张伟", "Zhang Wei", "person"),
        ("Xi Jin Ping", "Xi Jinping", "person"),
        ("John Smith", "J. Smith", "person"),
        ("Jonathan Smith", "Jonathon Smith", "person"),
        ("华为技术有限公司", "Huawei Technologies Co., Ltd.", "company"),
        ("华为技术有限公司", "華為技術股份有限公司", "company"),
        ("中国工商银行股份有限公司", "Industrial and Commercial Bank of China Limited", "company"),
        ("Acme Trading Ltd", "ACME Trading Limited", "company"),
    ],
)
def test_the_same_name_written_differently_matches(a: str, b: str, kind: str) -> None:
    assert score(a, b, kind) >= DEFAULT_THRESHOLD


@pytest.mark.parametrize(
    ("a", "b", "kind"),
    [
        ("张伟", "张伟明", "person"),
        ("John Smith", "Jane Smith", "person"),
        ("华为技术有限公司", "华夏技术有限公司", "company"),
        ("北京恒达贸易有限公司", "上海恒达贸易有限公司", "company"),
        ("Acme Trading Ltd", "Apex Trading Ltd", "company"),
    ],
)
def test_different_names_do_not_match(a: str, b: str, kind: str) -> None:
    assert score(a, b, kind) < DEFAULT_THRESHOLD


def test_homophones_in_characters_are_suspicious_but_not_a_match() -> None:
    result = compare(Subject("张伟"), Subject("章伟"))
    assert result.score == 0.8
    assert result.explanation["name"]["method"] == "same sounds, other characters"


def test_the_same_code_is_strong_evidence_and_a_different_one_evidence_against() -> None:
    same = compare(
        Subject("甲公司", "company", {"uscc": "91110105MA00000001"}),
        Subject("乙有限公司", "company", {"uscc": "91110105MA00000001"}),
    )
    assert same.match
    assert same.explanation["identifier"]["reason"] == "same uscc"
    different = compare(
        Subject("华为技术有限公司", "company", {"uscc": "91440300192203821X"}),
        Subject("华为技术有限公司", "company", {"uscc": "91440300708461136T"}),
    )
    assert not different.match
    assert different.score == 0.5


def test_birth_date_and_country_qualify_a_person() -> None:
    base = compare(Subject("Zhang Wei"), Subject("张伟")).score
    assert compare(Subject("Zhang Wei", birth_date="1970"), Subject("张伟", birth_date="1985-02-01")).score == (
        pytest.approx(base - 0.15)
    )
    assert compare(Subject("Zhang Wei", country="CN"), Subject("张伟", country="US")).score == pytest.approx(base - 0.1)


def test_aliases_are_compared_too() -> None:
    result = compare(Subject("马云"), Subject("Jack Ma", aliases=("Ma Yun",)))
    assert result.match
    assert result.explanation["name"]["names"] == ["马云", "Ma Yun"]


def test_unknown_algorithm_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown matching algorithm"):
        compare(Subject("a"), Subject("b"), algorithm="logic-v9")


@given(st.text(min_size=1, max_size=30), st.text(min_size=1, max_size=30), st.sampled_from(["person", "company"]))
def test_scores_are_symmetric_and_bounded(a: str, b: str, kind: str) -> None:
    forward, backward = score(a, b, kind), score(b, a, kind)
    assert 0.0 <= forward <= 1.0
    assert forward == pytest.approx(backward)


@given(st.text(alphabet=st.characters(categories=["Lu", "Ll", "Lo"]), min_size=1, max_size=20))
def test_a_name_always_matches_itself(name: str) -> None:
    from riskdesk.verification.matching import WEAK_NAME_CAP, _weak

    parts = parse(name, "person")
    if parts.tokens or parts.han:
        assert score(name, name) == (WEAK_NAME_CAP if _weak(parts) else 1.0)


@pytest.mark.parametrize(("a", "b", "kind"), [("J S", "Jane Sparrow", "person"), ("Tech", "Technology Inc", "company")])
def test_names_of_initials_or_generic_words_alone_never_match(a: str, b: str, kind: str) -> None:
    result = compare(Subject(a, kind), Subject(b, kind))
    assert not result.match
    assert result.explanation["name"]["capped"]


def test_a_different_id_number_is_explained_without_the_numbers() -> None:
    result = compare(
        Subject("Zhang Wei", identifiers={"id_number": "110101199003071234"}),
        Subject("张伟", identifiers={"id_number": "110101199003075678"}),
    )
    assert result.explanation["identifier"]["reason"] == "different id_number"
    assert "1234" not in str(result.as_dict())
