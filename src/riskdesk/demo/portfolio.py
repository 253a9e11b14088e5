"""A seeded synthetic portfolio: plausible Chinese companies and people with valid identifiers.

Pure: the same seed gives the same portfolio. Nothing here is real; names are drawn from common word lists.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from riskdesk.identifiers import USCC_ALPHABET, ric_check_character, uscc_check_character

# city → (GB/T 2260 district code, province prefix for addresses)
CITIES: dict[str, tuple[str, str]] = {
    "北京": ("110105", "北京市朝阳区"),
    "上海": ("310115", "上海市浦东新区"),
    "深圳": ("440305", "广东省深圳市南山区"),
    "广州": ("440106", "广东省广州市天河区"),
    "杭州": ("330106", "浙江省杭州市西湖区"),
    "宁波": ("330212", "浙江省宁波市鄞州区"),
    "苏州": ("320505", "江苏省苏州市虎丘区"),
    "南京": ("320106", "江苏省南京市鼓楼区"),
    "成都": ("510107", "四川省成都市武侯区"),
    "武汉": ("420106", "湖北省武汉市武昌区"),
    "天津": ("120116", "天津市滨海新区"),
    "重庆": ("500112", "重庆市渝北区"),
    "西安": ("610113", "陕西省西安市雁塔区"),
    "青岛": ("370212", "山东省青岛市崂山区"),
    "厦门": ("350206", "福建省厦门市湖里区"),
    "长沙": ("430104", "湖南省长沙市岳麓区"),
    "郑州": ("410105", "河南省郑州市金水区"),
    "合肥": ("340104", "安徽省合肥市蜀山区"),
}

BRANDS = [
    "华信",
    "恒达",
    "金盛",
    "瑞丰",
    "鼎立",
    "宏远",
    "中科",
    "天成",
    "永泰",
    "博远",
    "嘉禾",
    "国泰",
    "新元",
    "海川",
    "东方",
    "联创",
    "安盛",
    "鑫源",
    "华瑞",
    "正泰",
    "弘毅",
    "远航",
    "银河",
    "启明",
    "德润",
    "昊天",
    "万通",
    "明阳",
    "汇丰",
    "力拓",
    "锦程",
    "盛世",
    "泰和",
    "丰源",
    "蓝海",
    "卓越",
    "润达",
    "合众",
    "凯旋",
    "晨光",
]

# GB/T 4754-2017 class → (words in the name, business scope)
INDUSTRIES: dict[str, tuple[str, str]] = {
    "C3311": ("金属结构制造", "金属结构制造；金属材料销售；机械设备租赁"),
    "C3484": ("机械零部件", "机械零部件加工；通用设备制造；货物进出口"),
    "C3982": ("电子元件", "电子元器件制造；电子产品销售；技术开发、技术服务"),
    "C2927": ("塑料制品", "塑料制品制造；塑料制品销售；模具制造"),
    "C1713": ("纺织", "棉纺纱加工；面料纺织加工；服装服饰批发"),
    "C2614": ("化工", "化工产品销售（不含许可类化工产品）；专用化学产品制造"),
    "C1469": ("食品", "食品生产；食品销售；农副产品销售"),
    "E4790": ("建设工程", "建设工程施工；建筑劳务分包；工程管理服务"),
    "F5174": ("五金交电", "五金产品批发；电气设备销售；建筑材料销售"),
    "F5191": ("贸易", "货物进出口；技术进出口；日用百货销售"),
    "G5430": ("物流", "普通货物仓储服务；道路货物运输；国内货物运输代理"),
    "I6510": ("软件", "软件开发；信息系统集成服务；信息技术咨询服务"),
    "I6450": ("网络科技", "互联网数据服务；网络技术服务；数据处理服务"),
    "K7010": ("置业", "房地产开发经营；物业管理；住房租赁"),
    "M7320": ("工程技术", "工程和技术研究和试验发展；检验检测服务"),
    "L7212": ("投资管理", "以自有资金从事投资活动；企业管理咨询"),
}
FORMS = ("有限公司", "有限公司", "有限公司", "股份有限公司", "有限责任公司")
SURNAMES = [
    "王",
    "李",
    "张",
    "刘",
    "陈",
    "杨",
    "黄",
    "赵",
    "吴",
    "周",
    "徐",
    "孙",
    "马",
    "朱",
    "胡",
    "郭",
    "何",
    "林",
    "罗",
    "高",
    "郑",
    "梁",
    "谢",
    "宋",
    "唐",
    "许",
    "韩",
    "冯",
    "邓",
    "曹",
]
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "霞",
    "平",
    "刚",
    "桂英",
    "建华",
    "志强",
    "晓东",
    "海燕",
    "文博",
    "子涵",
    "雨轩",
    "浩然",
]
STREETS = ["中山路", "人民路", "解放路", "建设路", "和平路", "科技路", "长江路", "黄河路", "新华路", "文化路"]
BANKS = ("中国工商银行", "中国建设银行", "中国农业银行", "中国银行", "招商银行", "交通银行", "兴业银行")
SIZES: dict[str, tuple[int, int]] = {  # registered capital range in 万元
    "micro": (10, 100),
    "small": (100, 1000),
    "medium": (1000, 10000),
    "large": (10000, 200000),
}
STATUS_WEIGHTS = {"active": 75, "prospect": 12, "suspended": 8, "closed": 5}
ORG_BODY_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@dataclass
class Portfolio:
    companies: list[dict[str, Any]] = field(default_factory=list)
    individuals: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)  # name, description, member indexes, parent index
    links: list[Link] = field(default_factory=list)


@dataclass(frozen=True)
class Link:
    """``related`` is the ``kind`` of company ``company``; ``related_individual`` says which list it indexes."""

    company: int
    related: int
    kind: str
    share_percent: Decimal | None = None
    related_individual: bool = False


def _org_check(body8: str) -> str:
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    value = 11 - sum(int(ch, 36) * w for ch, w in zip(body8, weights, strict=True)) % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def make_uscc(rng: random.Random, division: str, entity: str = "91") -> str:
    body = "MA" + "".join(rng.choice(ORG_BODY_ALPHABET) for _ in range(6))
    first17 = entity + division + body + _org_check(body)
    if any(ch not in USCC_ALPHABET for ch in first17):
        return make_uscc(rng, division, entity)
    return first17 + uscc_check_character(first17)


def make_resident_id(rng: random.Random, division: str, born: date, male: bool) -> str:
    sequence = rng.randrange(0, 99) * 10 + (rng.choice((1, 3, 5, 7, 9)) if male else rng.choice((0, 2, 4, 6, 8)))
    first17 = f"{division}{born:%Y%m%d}{sequence:03d}"
    return first17 + ric_check_character(first17)


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def _phone(rng: random.Random) -> str:
    return rng.choice(("13", "15", "17", "18", "19")) + "".join(str(rng.randrange(10)) for _ in range(9))


def _address(rng: random.Random, prefix: str) -> str:
    return f"{prefix}{rng.choice(STREETS)}{rng.randrange(1, 999)}号"


def _bank_account(rng: random.Random) -> str:
    return "6222" + "".join(str(rng.randrange(10)) for _ in range(15))


def build(*, seed: int, companies: int, individuals: int, owners: list[str]) -> Portfolio:
    rng = random.Random(seed)
    portfolio = Portfolio()
    used_names: set[str] = set()
    used_codes: set[str] = set()
    today = date(2026, 1, 1)
    for _ in range(companies):
        city = rng.choice(list(CITIES))
        division, address_prefix = CITIES[city]
        industry = rng.choice(list(INDUSTRIES))
        words, scope = INDUSTRIES[industry]
        for _attempt in range(50):
            name = f"{city}{rng.choice(BRANDS)}{rng.choice(BRANDS)[:1]}{words}{rng.choice(FORMS)}"
            if name not in used_names:
                break
        else:
            name = f"{city}{rng.choice(BRANDS)}{words}{len(used_names)}号{rng.choice(FORMS)}"
        used_names.add(name)
        code = make_uscc(rng, division)
        while code in used_codes:
            code = make_uscc(rng, division)
        used_codes.add(code)
        size = rng.choices(list(SIZES), weights=(30, 40, 22, 8))[0]
        low, high = SIZES[size]
        capital_wan = rng.randrange(low, high)
        established = today - timedelta(days=rng.randrange(365, 30 * 365))
        status = rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()))[0]
        company: dict[str, Any] = {
            "kind": "company",
            "name": name,
            "uscc": code,
            "status": status,
            "industry_code": industry,
            "size": size,
            "legal_representative": person_name(rng),
            "registered_capital": {"amount": str(Decimal(capital_wan) * 10000), "currency": "CNY"},
            "established_on": established.isoformat(),
            "registration_authority": f"{city}市市场监督管理局",
            "address": _address(rng, address_prefix),
            "business_scope": scope,
            "owner": rng.choice(owners) if owners else None,
            "bank_name": rng.choice(BANKS),
            "bank_account": _bank_account(rng),
            "contacts": [
                {
                    "name": person_name(rng),
                    "title": rng.choice(("财务经理", "采购经理", "总经理")),
                    "phone": _phone(rng),
                }
            ],
        }
        if rng.random() < 0.1:
            company["former_names"] = [f"{city}{rng.choice(BRANDS)}{words}有限公司"]
        portfolio.companies.append(company)

    _groups(rng, portfolio)

    for _ in range(individuals):
        city = rng.choice(list(CITIES))
        division, address_prefix = CITIES[city]
        male = rng.random() < 0.55
        born = date(1960, 1, 1) + timedelta(days=rng.randrange(0, 40 * 365))
        portfolio.individuals.append(
            {
                "kind": "individual",
                "name": person_name(rng),
                "id_type": "resident_id",
                "id_number": make_resident_id(rng, division, born, male),
                "phone": _phone(rng),
                "home_address": _address(rng, address_prefix),
                "status": rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()))[0],
                "owner": rng.choice(owners) if owners else None,
                "bank_name": rng.choice(BANKS),
                "bank_account": _bank_account(rng),
            }
        )
    # Some owners guarantee their companies personally.
    for index in rng.sample(range(len(portfolio.companies)), k=min(len(portfolio.companies), individuals // 4)):
        person = rng.randrange(len(portfolio.individuals)) if portfolio.individuals else None
        if person is not None:
            portfolio.links.append(Link(index, person, "guarantor", related_individual=True))
    return portfolio


def _groups(rng: random.Random, portfolio: Portfolio) -> None:
    """Roughly one company in six belongs to a group: a parent with two to five subsidiaries."""
    free = list(range(len(portfolio.companies)))
    rng.shuffle(free)
    group_count = len(portfolio.companies) // 18
    for _ in range(group_count):
        if len(free) < 3:
            break
        size = min(len(free), rng.randrange(3, 7))
        members = [free.pop() for _ in range(size)]
        parent = members[0]
        parent_name = portfolio.companies[parent]["name"]
        group_name = (
            parent_name.removesuffix("股份有限公司").removesuffix("有限责任公司").removesuffix("有限公司") + "集团"
        )
        portfolio.groups.append({"name": group_name, "description": f"以{parent_name}为母公司", "members": members})
        for child in members[1:]:
            portfolio.links.append(Link(child, parent, "parent"))
            if rng.random() < 0.6:
                portfolio.links.append(Link(child, parent, "shareholder", Decimal(rng.choice((51, 60, 70, 80, 100)))))
