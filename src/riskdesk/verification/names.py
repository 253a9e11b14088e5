"""Names as a screening engine compares them: normalised, simplified, romanised, split into parts.

Pure: no I/O. The engines our peers use read an unspaced Chinese name as one opaque token and score 习近平 against
Xi Jinping as 0 (see ``shared/reference/identifiers-screening-pipl.md``). Here every name becomes:

- ``han``: its Chinese characters in simplified form (traditional converted), when it has any;
- ``tokens``: romanised parts — a Chinese person name as [surname, given name] in pinyin (习近平 → xi, jinping);
  a Chinese company name as brand pinyin plus the English of common business words (华为技术有限公司 → huawei,
  technology); Latin names as words — with legal-form words (有限公司, Co., Ltd., GmbH…) removed;
- ``region``: a leading place name of a Chinese company (北京, 深圳市…), which English names usually leave out.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 上官 诸葛 东方 皇甫 令狐 慕容 尉迟 公孙 长孙 宇文 司徒 夏侯 轩辕 端木 独孤 南宫 西门 百里 呼延 澹台 公冶 "
    "太史 申屠 钟离 闻人 万俟 赫连 司空 左丘 东郭 濮阳".split()
)
# Surnames read differently from the same character in ordinary words.
SURNAME_READINGS = {
    "单": "shan",
    "曾": "zeng",
    "解": "xie",
    "仇": "qiu",
    "区": "ou",
    "朴": "piao",
    "查": "zha",
    "盖": "ge",
    "乐": "yue",
    "覃": "qin",
    "缪": "miao",
    "召": "shao",
    "尉迟": "yuchi",
    "长孙": "zhangsun",
    "万俟": "moqi",
    "秘": "bi",
    "种": "chong",
    "翟": "zhai",
    "黑": "he",
    "过": "guo",
    "员": "yun",
    "燕": "yan",
    "纪": "ji",
}

# Legal-form words, longest first. They say what kind of entity a name is, not which one.
COMPANY_FORMS_ZH = (
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "股份公司",
    "分公司",
    "总公司",
    "合伙企业",
    "有限合伙",
    "公司",
    "企业",
    "工厂",
    "厂",
)
COMPANY_FORMS_LATIN = frozenset(
    "co company corp corporation inc incorporated ltd limited llc plc lp llp gmbh ag sa sas sarl bv nv kg oy ab as "
    "spa srl pte pty kk jsc pjsc ooo oao zao the and of aktiengesellschaft gesellschaft societe anonyme limitada "
    "sociedad".split()
)
# Common business words in Chinese company names and the English word their translations use.
BUSINESS_WORDS = {
    "技术": "technology",
    "科技": "technology",
    "贸易": "trading",
    "商贸": "trading",
    "实业": "industrial",
    "工业": "industrial",
    "投资": "investment",
    "控股": "holding",
    "集团": "group",
    "国际": "international",
    "电子": "electronics",
    "网络": "network",
    "信息": "information",
    "银行": "bank",
    "证券": "securities",
    "保险": "insurance",
    "能源": "energy",
    "医药": "pharmaceutical",
    "物流": "logistics",
    "建设": "construction",
    "工程": "engineering",
    "机械": "machinery",
    "化工": "chemical",
    "汽车": "automobile",
    "进出口": "import export",
    "发展": "development",
    "咨询": "consulting",
    "管理": "management",
    "服务": "services",
    "软件": "software",
    "通信": "communications",
    "航空": "airlines",
    "钢铁": "steel",
    "石油": "petroleum",
    "矿业": "mining",
    "船舶": "shipping",
    "航运": "shipping",
    "地产": "real estate",
    "置业": "real estate",
    "房地产": "real estate",
    "食品": "food",
    "电气": "electric",
    "电器": "electric",
    "材料": "materials",
    "设备": "equipment",
    "移动": "mobile",
    "招商": "merchants",
    "数字": "digital",
    "电力": "power",
    "水泥": "cement",
    "纺织": "textile",
    "计算机": "computer",
    "系统": "systems",
    "工商": "industrial commercial",
    "数据": "data",
    "智能": "intelligent",
    "环保": "environmental",
    "新能源": "new energy",
    "生物": "biotechnology",
    "半导体": "semiconductor",
    "中国": "china",
    "中华": "china",
    "香港": "hong kong",
    "澳门": "macau",
    "台湾": "taiwan",
}
# Plural and spelling variants of the English words on the right of BUSINESS_WORDS.
LATIN_CANONICAL = {
    "technologies": "technology",
    "tech": "technology",
    "holdings": "holding",
    "electronic": "electronics",
    "pharmaceuticals": "pharmaceutical",
    "pharma": "pharmaceutical",
    "industries": "industrial",
    "industry": "industrial",
    "investments": "investment",
    "chemicals": "chemical",
    "communication": "communications",
    "telecommunications": "communications",
    "trade": "trading",
    "service": "services",
    "group": "group",
    "intl": "international",
    "machines": "machinery",
    "material": "materials",
    "automotive": "automobile",
    "realty": "real estate",
    "logistic": "logistics",
    "engineering": "engineering",
    "system": "systems",
    "computers": "computer",
    "biotech": "biotechnology",
    "semiconductors": "semiconductor",
    "motor": "automobile",
    "motors": "automobile",
    "auto": "automobile",
    "air": "airlines",
    "airline": "airlines",
}
PROVINCES_AND_CITIES = (
    "北京 天津 上海 重庆 河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 广东 海南 四川 贵州 云南 陕西 "
    "甘肃 青海 台湾 内蒙古 广西 西藏 宁夏 新疆 香港 澳门 深圳 广州 杭州 南京 苏州 成都 武汉 西安 青岛 宁波 厦门 长沙 郑州 合肥 "
    "大连 沈阳 济南 福州 无锡 东莞 佛山 珠海 昆明 南昌 哈尔滨 长春 石家庄 太原 南宁 贵阳 兰州 乌鲁木齐 温州 绍兴 常州 "
    "烟台 泉州 嘉兴 金华 台州 徐州 南通 扬州 中山 惠州"
).split()
_REGION_SUFFIXES = ("特别行政区", "自治区", "省", "市", "区", "县")
_PUNCTUATION = re.compile(r"[\s·•.,，。、;；:：'\"“”‘’()（）\[\]【】{}<>《》/\\|&＆+\-—_!?！？*#@]+")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_RUNS = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+|[a-z0-9]+(?: [a-z0-9]+)*")  # Han runs, Latin word runs


@functools.cache
def _t2s() -> Any:
    import opencc  # imported on first use: building the converter reads its dictionaries

    return opencc.OpenCC("t2s")


def simplified(text: str) -> str:
    return str(_t2s().convert(text)) if _HAN.search(text) else text


def normalize(text: str) -> str:
    """NFKC (full width to half width), lower case, traditional to simplified, punctuation to spaces."""
    folded = unicodedata.normalize("NFKC", text).lower()
    # Accents and pinyin tone marks go: Xí Jìnpíng is Xi Jinping.
    folded = unicodedata.normalize(
        "NFKC", "".join(ch for ch in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(ch))
    )
    return " ".join(_PUNCTUATION.sub(" ", simplified(folded)).split())


def _pinyin(han: str) -> list[str]:
    from pypinyin import lazy_pinyin  # imported on first use: it loads a large dictionary

    return [syllable for syllable in lazy_pinyin(han) if syllable.isascii() and syllable.isalpha()]


def split_chinese_person(han: str) -> tuple[str, str]:
    """习近平 → (习, 近平); 欧阳修 → (欧阳, 修)."""
    if len(han) >= 3 and han[:2] in COMPOUND_SURNAMES:
        return han[:2], han[2:]
    return han[:1], han[1:]


def surname_pinyin(surname: str) -> str:
    return SURNAME_READINGS.get(surname) or "".join(_pinyin(surname))


@dataclass(frozen=True)
class NameParts:
    original: str
    kind: str  # "person" | "company"
    han: str  # simplified Chinese characters of the name's core, "" when it has none
    tokens: tuple[str, ...]  # romanised parts, legal forms removed, order as written
    region: tuple[str, ...] = ()  # romanised leading place names of a Chinese company
    region_han: str = ""  # the same place names in characters

    @property
    def squashed(self) -> str:
        return "".join(self.tokens)


def _strip_region(han: str) -> tuple[str, list[str]]:
    regions: list[str] = []
    changed = True
    while changed:
        changed = False
        for place in sorted(PROVINCES_AND_CITIES, key=len, reverse=True):
            if han.startswith(place) and len(han) > len(place) + 1:
                rest = han[len(place) :]
                for suffix in _REGION_SUFFIXES:
                    if rest.startswith(suffix) and len(rest) > len(suffix) + 1:
                        rest = rest[len(suffix) :]
                        break
                regions.append(place)
                han, changed = rest, True
                break
    return han, regions


def _company_han(han: str) -> tuple[str, list[str]]:
    """Chinese company core → (core characters, tokens): forms dropped, business words translated."""
    stripped = True
    while stripped:  # forms stand at the end, sometimes stacked (万科企业股份有限公司)
        stripped = False
        for form in COMPANY_FORMS_ZH:
            if han.endswith(form):
                han, stripped = han[: -len(form)], True
                break
    tokens: list[str] = []
    brand = ""
    position = 0
    words = sorted(BUSINESS_WORDS, key=len, reverse=True)
    while position < len(han):
        word = next((w for w in words if han.startswith(w, position)), None)
        if word is None:
            brand += han[position]
            position += 1
            continue
        if brand:
            tokens.append("".join(_pinyin(brand)))
            brand = ""
        tokens.extend(BUSINESS_WORDS[word].split())
        position += len(word)
    if brand:
        tokens.append("".join(_pinyin(brand)))
    return han, tokens


def _join_letters(words: list[str]) -> list[str]:
    """G.m.b.H. and S.A. arrive as single letters: each run of them becomes one word (gmbh, sa)."""
    joined: list[str] = []
    run = ""
    for word in words:
        if len(word) == 1 and word.isalpha():
            run += word
            continue
        if run:
            joined.append(run)
            run = ""
        joined.append(word)
    return [*joined, run] if run else joined


@functools.cache
def _region_pinyin() -> frozenset[str]:
    return frozenset("".join(_pinyin(place)) for place in PROVINCES_AND_CITIES)


def _latin_tokens(text: str, kind: str) -> list[str]:
    words = _join_letters(text.split()) if kind == "company" else text.split()
    tokens = []
    for word in words:
        if kind == "company":
            if word in COMPANY_FORMS_LATIN:
                continue
            word = LATIN_CANONICAL.get(word, word)
            tokens.extend(word.split())
        else:
            tokens.append(word)
    return tokens


@functools.lru_cache(maxsize=65_536)  # a query is compared with tens of candidates; parse it once
def parse(name: str, kind: str) -> NameParts:
    """Split a person's or company's name into comparable parts (see the module docstring)."""
    text = normalize(name)
    han_runs = "".join(_HAN.findall(text))
    tokens: list[str] = []
    region: list[str] = []
    core_han = ""
    region_han = ""
    if kind == "company":
        for run in _RUNS.findall(text):
            if _HAN.match(run):
                stripped, places = _strip_region(run) if not tokens and not core_han else (run, [])
                region.extend("".join(_pinyin(p)) for p in places)
                region_han += "".join(places)
                core, words = _company_han(stripped)
                core_han += core
                tokens.extend(words)
            else:
                for word in _latin_tokens(run, kind):
                    if not tokens and word in _region_pinyin():  # Shenzhen Tencent… : the place leads
                        region.append(word)
                    else:
                        tokens.append(word)
    elif han_runs and not re.search(r"[a-z]", text):
        # A Chinese person: surname and given name, each one token (Xi Jinping, not Xi Jin Ping).
        core_han = han_runs
        surname, given = split_chinese_person(han_runs)
        tokens = [surname_pinyin(surname)] + (["".join(_pinyin(given))] if given else [])
    else:
        for run in _RUNS.findall(text):
            tokens.extend(["".join(_pinyin(run))] if _HAN.match(run) else _latin_tokens(run, kind))
            core_han += run if _HAN.match(run) else ""
    return NameParts(name, kind, core_han, tuple(t for t in tokens if t), tuple(region), region_han)
