"""Build benchmarks/data/name_pairs.csv: labelled name pairs for the screening quality benchmark.

The romanisations here are written by hand (surname and character readings below), not produced by the pypinyin
library riskdesk uses, so the labels do not echo the matcher. Real company pairs include ones no romaniser can
get (腾讯 / Tencent, 联想 / Lenovo): they are counted as misses, not left out. Deterministic: run it again and
the file is the same.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

OUT = Path(__file__).parent / "data" / "name_pairs.csv"

SURNAMES = {
    "王": "Wang",
    "李": "Li",
    "张": "Zhang",
    "刘": "Liu",
    "陈": "Chen",
    "杨": "Yang",
    "黄": "Huang",
    "赵": "Zhao",
    "吴": "Wu",
    "周": "Zhou",
    "徐": "Xu",
    "孙": "Sun",
    "马": "Ma",
    "朱": "Zhu",
    "胡": "Hu",
    "郭": "Guo",
    "林": "Lin",
    "罗": "Luo",
    "郑": "Zheng",
    "谢": "Xie",
    "韩": "Han",
    "冯": "Feng",
    "邓": "Deng",
    "许": "Xu",
    "叶": "Ye",
    "苏": "Su",
    "欧阳": "Ouyang",
    "司马": "Sima",
    "曾": "Zeng",
    "单": "Shan",
}
GIVEN = {
    "伟": "wei",
    "芳": "fang",
    "娜": "na",
    "敏": "min",
    "静": "jing",
    "丽": "li",
    "强": "qiang",
    "磊": "lei",
    "军": "jun",
    "洋": "yang",
    "勇": "yong",
    "艳": "yan",
    "杰": "jie",
    "涛": "tao",
    "明": "ming",
    "超": "chao",
    "华": "hua",
    "平": "ping",
    "刚": "gang",
    "辉": "hui",
    "鹏": "peng",
    "飞": "fei",
    "云": "yun",
    "红": "hong",
    "建": "jian",
    "国": "guo",
    "志": "zhi",
    "海": "hai",
    "东": "dong",
    "晓": "xiao",
    "文": "wen",
    "龙": "long",
}
TRADITIONAL = {
    "张": "張",
    "陈": "陳",
    "杨": "楊",
    "黄": "黃",
    "赵": "趙",
    "吴": "吳",
    "孙": "孫",
    "马": "馬",
    "郑": "鄭",
    "谢": "謝",
    "韩": "韓",
    "冯": "馮",
    "邓": "鄧",
    "许": "許",
    "叶": "葉",
    "苏": "蘇",
    "刘": "劉",
    "罗": "羅",
    "伟": "偉",
    "丽": "麗",
    "军": "軍",
    "强": "強",
    "涛": "濤",
    "辉": "輝",
    "鹏": "鵬",
    "飞": "飛",
    "云": "雲",
    "红": "紅",
    "华": "華",
    "国": "國",
    "东": "東",
    "晓": "曉",
    "龙": "龍",
    "艳": "艷",
    "欧": "歐",
}

COMPANIES_MATCH = [
    ("华为技术有限公司", "Huawei Technologies Co., Ltd."),
    ("中国工商银行股份有限公司", "Industrial and Commercial Bank of China Limited"),
    ("中国银行股份有限公司", "Bank of China Limited"),
    ("中国建设银行股份有限公司", "China Construction Bank Corporation"),
    ("海尔集团公司", "Haier Group Corporation"),
    ("中国石油化工股份有限公司", "China Petroleum & Chemical Corporation"),
    ("万科企业股份有限公司", "China Vanke Co., Ltd."),
    ("招商银行股份有限公司", "China Merchants Bank Co., Ltd."),
    ("中国平安保险（集团）股份有限公司", "Ping An Insurance (Group) Company of China, Ltd."),
    ("小米科技有限责任公司", "Xiaomi Technology Co., Ltd."),
    ("美的集团股份有限公司", "Midea Group Co., Ltd."),
    ("海康威视数字技术股份有限公司", "Hikvision Digital Technology Co., Ltd."),
    ("宁德时代新能源科技股份有限公司", "Contemporary Amperex Technology Co., Limited"),
    ("深圳市腾讯计算机系统有限公司", "Shenzhen Tencent Computer Systems Co., Ltd."),
    ("联想集团有限公司", "Lenovo Group Limited"),
    ("北京字节跳动科技有限公司", "Beijing ByteDance Technology Co., Ltd."),
    ("中兴通讯股份有限公司", "ZTE Corporation"),
    ("比亚迪股份有限公司", "BYD Company Limited"),
    ("阿里巴巴（中国）有限公司", "Alibaba (China) Co., Ltd."),
    ("中国移动通信集团有限公司", "China Mobile Communications Group Co., Ltd."),
    ("上海汽车集团股份有限公司", "SAIC Motor Corporation Limited"),
    ("大疆创新科技有限公司", "DJI Technology Co., Ltd."),
    ("中国国际航空股份有限公司", "Air China Limited"),
    ("中国远洋海运集团有限公司", "China COSCO Shipping Corporation Limited"),
    ("浙江吉利控股集团有限公司", "Zhejiang Geely Holding Group Co., Ltd."),
    ("恒大地产集团有限公司", "Evergrande Real Estate Group Limited"),
    ("中国恒大集团", "China Evergrande Group"),
    ("杭州海康威视数字技术股份有限公司", "海康威视数字技术股份有限公司"),
    ("华为技术有限公司", "華為技術有限公司"),
    ("中国工商银行股份有限公司", "中國工商銀行股份有限公司"),
    ("小米科技有限责任公司", "小米科技有限公司"),
    ("美的集团股份有限公司", "美的集团有限公司"),
    ("Huawei Technologies Co Ltd", "HUAWEI TECHNOLOGIES CO., LTD."),
    ("Hua Wei Technologies", "Huawei Technologies Co., Ltd."),
]
COMPANIES_NONMATCH = [
    ("华为技术有限公司", "华夏技术有限公司"),
    ("北京恒达贸易有限公司", "上海恒达贸易有限公司"),
    ("中国银行股份有限公司", "中国建设银行股份有限公司"),
    ("小米科技有限责任公司", "小米物流有限公司"),
    ("海尔集团公司", "海信集团有限公司"),
    ("Huawei Technologies Co., Ltd.", "Hualu Technologies Co., Ltd."),
    ("美的集团股份有限公司", "美达集团股份有限公司"),
    ("深圳市腾讯计算机系统有限公司", "深圳市迅雷网络技术有限公司"),
    ("招商银行股份有限公司", "招商证券股份有限公司"),
    ("中国平安保险（集团）股份有限公司", "中国人寿保险（集团）公司"),
    ("比亚迪股份有限公司", "长城汽车股份有限公司"),
    ("Bank of China Limited", "Bank of Communications Co., Ltd."),
    ("China Mobile Communications Group Co., Ltd.", "China Unicom Group Co., Ltd."),
    ("宁波恒达机械有限公司", "宁波恒通机械有限公司"),
    ("苏州瑞丰电子有限公司", "苏州瑞华电子有限公司"),
    ("杭州鼎立置业有限公司", "杭州鼎盛置业有限公司"),
    ("Air China Limited", "China Southern Airlines Company Limited"),
    ("万科企业股份有限公司", "万达集团股份有限公司"),
    ("中兴通讯股份有限公司", "中天通讯股份有限公司"),
    ("Xiaomi Technology Co., Ltd.", "Xiaoyu Technology Co., Ltd."),
]
LATIN_PEOPLE = [
    "John Smith",
    "Maria Garcia",
    "Ahmed Hassan",
    "Olga Petrova",
    "James O'Brien",
    "Anna Kowalski",
    "Mohammed Al-Rashid",
    "Pierre Dubois",
    "Hans Mueller",
    "Yuki Tanaka",
    "Carlos Mendoza",
    "Fatima Zahra",
    "Igor Ivanov",
    "Sophie Martin",
    "Luca Rossi",
    "Elena Popescu",
    "David Cohen",
    "Aisha Bello",
    "Kim Min-jun",
    "Nguyen Van An",
    "Robert Johnson",
    "Michael Brown",
    "William Davis",
    "Richard Miller",
    "Thomas Wilson",
    "Charles Moore",
    "Daniel Taylor",
    "Matthew Anderson",
    "Anthony Thomas",
    "Mark Jackson",
]
# Different people with the same family name; spelling variants of one name (Ahmed / Ahmad) are not here.
GIVEN_SWAPS = {
    "John": "Jane",
    "Maria": "Mario",
    "Ahmed": "Khalid",
    "Olga": "Irina",
    "James": "Janet",
    "Anna": "Julia",
    "Pierre": "Paul",
    "Hans": "Hanna",
    "Carlos": "Carla",
    "Igor": "Ivan",
    "Sophie": "Claire",
    "Luca": "Lucia",
    "David": "Daniel",
    "Robert": "Roberta",
    "Michael": "Michelle",
    "William": "Wilma",
    "Richard": "Rachel",
    "Thomas": "Tomasz",
    "Charles": "Charlotte",
    "Daniel": "Danielle",
    "Matthew": "Martha",
    "Anthony": "Antonia",
    "Mark": "Marta",
}
LATIN_COMPANIES = [
    "Acme Trading Ltd",
    "Global Shipping Inc",
    "Northwind Logistics LLC",
    "Blue River Holdings Plc",
    "Sunrise Pharmaceuticals GmbH",
    "Atlas Mining Corporation",
    "Pacific Energy Co",
    "Orion Metals AG",
    "Silverline Investments Ltd",
    "Crescent Chemicals SA",
    "Evergreen Foods Ltd",
    "Summit Engineering Group",
    "Horizon Telecom Limited",
    "Redwood Capital Partners LP",
    "Golden Gate Electronics Inc",
]
FORM_SWAPS = {
    "Ltd": "Limited",
    "Inc": "Incorporated",
    "LLC": "L.L.C.",
    "Plc": "PLC",
    "GmbH": "G.m.b.H.",
    "Corporation": "Corp.",
    "Co": "Company",
    "AG": "Aktiengesellschaft",
    "SA": "S.A.",
    "Group": "Group Ltd",
    "Limited": "Ltd.",
    "LP": "L.P.",
}


def typo(rng: random.Random, word: str) -> str:
    position = rng.randrange(1, len(word) - 1)
    action = rng.choice(("swap", "drop", "double", "replace"))
    if action == "swap":
        return word[:position] + word[position + 1] + word[position] + word[position + 2 :]
    if action == "drop":
        return word[:position] + word[position + 1 :]
    if action == "double":
        return word[:position] + word[position] + word[position:]
    return word[:position] + rng.choice("aeiou") + word[position + 1 :]


def chinese_person(rng: random.Random) -> tuple[str, str, str]:
    """(characters, surname in pinyin, given name in pinyin), romanised from the hand-written tables."""
    surname = rng.choice(list(SURNAMES))
    given = "".join(rng.choice(list(GIVEN)) for _ in range(rng.choice((1, 2))))
    return surname + given, SURNAMES[surname], "".join(GIVEN[ch] for ch in given)


def build() -> list[tuple[str, str, str, int, str]]:
    rng = random.Random(20261128)
    rows: list[tuple[str, str, str, int, str]] = [
        ("习近平", "Xi Jinping", "person", 1, "zh_person_pinyin"),
        ("习近平", "習近平", "person", 1, "zh_person_traditional"),
        ("李克强", "Li Keqiang", "person", 1, "zh_person_pinyin"),
        ("马云", "Jack Ma", "person", 1, "zh_person_alias"),
        ("马化腾", "Pony Ma", "person", 1, "zh_person_alias"),
        ("贝拉克·奥巴马", "Barack Obama", "person", 1, "zh_person_transliterated"),
    ]
    for _ in range(45):
        han, surname, given = chinese_person(rng)
        variant = rng.choice(("{s} {G}", "{G} {s}", "{S} {G}", "{s} {g1}-{g2}", "{s}{g}"))
        g1, g2 = (given[: len(given) // 2], given[len(given) // 2 :]) if len(given) > 3 else (given, "")
        latin = variant.format(
            s=surname, S=surname.upper(), G=given.capitalize(), g=given, g1=g1.capitalize(), g2=g2
        ).strip("-")
        rows.append((han, latin, "person", 1, "zh_person_pinyin"))
    for _ in range(25):
        han, _, _ = chinese_person(rng)
        traditional = "".join(TRADITIONAL.get(ch, ch) for ch in han)
        if traditional != han:
            rows.append((han, traditional, "person", 1, "zh_person_traditional"))
    for _ in range(30):
        han, surname, given = chinese_person(rng)
        other_given = rng.choice(list(GIVEN))
        other = han + other_given if len(han) < 3 else han[:-1] + other_given
        if other != han:
            rows.append((han, other, "person", 0, "zh_person_shared_surname"))
    for _ in range(15):
        han, surname, given = chinese_person(rng)
        _, other_surname, other_given = chinese_person(rng)
        if other_surname == surname and other_given != given:
            rows.append((han, f"{other_surname} {other_given.capitalize()}", "person", 0, "zh_person_shared_surname"))
        elif other_surname != surname:
            rows.append((han, f"{other_surname} {other_given.capitalize()}", "person", 0, "zh_person_other"))
    rows += [(a, b, "company", 1, "zh_company") for a, b in COMPANIES_MATCH]
    rows += [(a, b, "company", 0, "zh_company_other") for a, b in COMPANIES_NONMATCH]
    for name in LATIN_PEOPLE:
        given, *rest = name.split(" ")
        family = " ".join(rest)
        rows.append(
            (
                name,
                f"{given} {typo(rng, family)}" if len(family) > 3 else name.upper(),
                "person",
                1,
                "latin_person_typo",
            )
        )
        rows.append((name, f"{family} {given}", "person", 1, "latin_person_order"))
        rows.append((name, f"{given[0]}. {family}", "person", 1, "latin_person_initial"))
        if given in GIVEN_SWAPS:
            rows.append((name, f"{GIVEN_SWAPS[given]} {family}", "person", 0, "latin_person_other_given"))
        other = rng.choice([p for p in LATIN_PEOPLE if p != name])
        rows.append((name, other, "person", 0, "latin_person_other"))
    for name in LATIN_COMPANIES:
        words = name.split(" ")
        swapped = " ".join(FORM_SWAPS.get(w, w) for w in words)
        rows.append((name, swapped, "company", 1, "latin_company_form"))
        rows.append((name, " ".join([typo(rng, words[0]), *words[1:]]), "company", 1, "latin_company_typo"))
        rows.append((name, " ".join(words[:-1]), "company", 1, "latin_company_no_form"))
        other = rng.choice([c for c in LATIN_COMPANIES if c != name])
        rows.append((name, " ".join([other.split(" ")[0], *words[1:]]), "company", 0, "latin_company_other_brand"))
    return rows


def main() -> None:
    rows = build()
    OUT.parent.mkdir(exist_ok=True)
    with OUT.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name1", "name2", "kind", "label", "category"])
        writer.writerows(rows)
    chinese = sum(1 for row in rows if row[4].startswith("zh_"))
    print(f"{len(rows)} pairs, {chinese} Chinese, {sum(r[3] for r in rows)} matches -> {OUT}")


if __name__ == "__main__":
    main()
