"""Reading messy registry values and comparing them with what the customer gave."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskdesk.verification.findings import CompanyFacts, compare
from riskdesk.verification.registry import RegistryRecord, parse_date, parse_money


@pytest.mark.parametrize(
    ("raw", "amount", "currency"),
    [
        ("5000万元人民币", Decimal(50_000_000), "CNY"),
        ("500 万美元", Decimal(5_000_000), "USD"),
        ("1.2亿元", Decimal(120_000_000), "CNY"),
        ("3,000,000", Decimal(3_000_000), "CNY"),
        (1000, Decimal(1000), "CNY"),
        ("", None, "CNY"),
        ("不详", None, "CNY"),
    ],
)
def test_money_in_wan_yuan_and_currencies(raw: object, amount: Decimal | None, currency: str) -> None:
    assert parse_money(raw) == (amount, currency)


@pytest.mark.parametrize(
    "raw", ["2015-03-02", "2015/3/2", "2015年3月2日", "20150302", 1425254400000, 1425225600000, "1425225600"]
)
def test_dates_in_every_registry_format(raw: object) -> None:
    assert parse_date(raw) == date(2015, 3, 2)


@given(st.text(max_size=20))
def test_unreadable_dates_are_none_not_errors(raw: str) -> None:
    parsed = parse_date(raw)
    assert parsed is None or isinstance(parsed, date)


FACTS = CompanyFacts(
    name="华为技术有限公司",
    uscc="91440300192203821X",
    legal_representative="赵明路",
    registered_capital=Decimal(40_410_800_000),
    established_on=date(1987, 9, 15),
    address="深圳市龙岗区坂田华为总部办公楼",
)


def record(**changes: object) -> RegistryRecord:
    values: dict[str, object] = {
        "uscc": FACTS.uscc,
        "name": "華為技術股份有限公司",
        "legal_representative": "趙明路",
        "status": "存续（在营、开业、在册）",
        "registered_capital": Decimal(40_410_800_000),
        "established_on": date(1987, 9, 15),
        "address": "深圳市龙岗区坂田华为总部办公楼",
    }
    values.update(changes)
    return RegistryRecord(**values)  # type: ignore[arg-type]


def test_the_same_facts_written_differently_give_no_finding() -> None:
    assert compare(FACTS, record()) == []


@pytest.mark.parametrize(
    ("changes", "field", "severity"),
    [
        ({"status": "注销"}, "status", "critical"),
        ({"dishonest_debtor": ({"case": "(2024)粤03执1号"},)}, "dishonest_debtor", "critical"),
        ({"legal_representative": "孟晚舟"}, "legal_representative", "high"),
        ({"abnormal_operations": ({"reason": "未按规定报送年报"},)}, "abnormal_operations", "high"),
        ({"registered_capital": Decimal(1_000_000)}, "registered_capital", "medium"),
        ({"established_on": date(1988, 1, 1)}, "established_on", "medium"),
        ({"address": "北京市海淀区中关村大街1号"}, "address", "low"),
        ({"name": "华为终端有限公司", "former_names": ("华为技术有限公司",)}, "name", "low"),
        ({"name": "中兴通讯股份有限公司"}, "name", "high"),
    ],
)
def test_each_difference_is_a_finding_with_its_severity(changes: dict[str, object], field: str, severity: str) -> None:
    findings = compare(FACTS, record(**changes))
    assert [(f.field, f.severity) for f in findings] == [(field, severity)]


def test_inactive_is_not_active_and_dissolved_is_the_end() -> None:
    assert [(f.field, f.severity) for f in compare(FACTS, record(status="Inactive"))] == [("status", "critical")]
    assert [(f.field, f.severity) for f in compare(FACTS, record(status="Dissolved"))] == [("status", "critical")]
    assert compare(FACTS, record(status="Registered (active)")) == []
