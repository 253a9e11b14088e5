"""Screening speed: queries per second and p50/p99 latency against generated watchlists of 100k and 1M entries,
riskdesk's candidate index next to a brute-force rapidfuzz baseline (process.extract, token_sort_ratio), in one
run; and recall@5 of the true entry for both, on queries that are perturbed copies of listed names.

Run: `make bench` (RISKDESK_BENCH_SCREEN_SIZES=100000,1000000 by default; the baseline answers so slowly at 1M
that it gets RISKDESK_BENCH_BASELINE_QUERIES queries, default 20).
"""

from __future__ import annotations

import os
import random
import statistics
import time
from typing import Any

from riskdesk.verification.index import ScreeningIndex
from riskdesk.verification.matching import Subject

SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志海东晓文龙辉鹏飞云红玉兰梅丹萍婷雪琳斌宇浩凯健俊峰")
GIVEN += list("鑫博文哲睿思嘉怡欣悦涵晨阳宏伟亮成林波宁德福贵荣昌盛兴旺春秋冬夏彬杨柳松柏竹菊莲")
SYLLABLES = [
    "an",
    "bel",
    "car",
    "dan",
    "el",
    "fer",
    "gor",
    "han",
    "is",
    "jo",
    "kar",
    "lin",
    "mar",
    "nor",
    "ol",
    "per",
    "qui",
    "ros",
    "sam",
    "tor",
    "ul",
    "ver",
    "wil",
    "xan",
    "yor",
    "zen",
    "ber",
    "cas",
    "del",
    "ric",
]
BRANDS = list(
    "华信恒达金盛瑞丰鼎立宏远中科天成永泰博远嘉禾国泰新元海川东方联创安盛鑫源正启明德润昊万通汇力拓锦程泰和蓝卓越润达合众凯旋晨光"
)
WORDS = ["贸易", "科技", "实业", "投资", "物流", "电子", "化工", "机械", "建设", "置业"]


def chinese_person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


def latin_person(rng: random.Random) -> str:
    def word() -> str:
        return "".join(rng.choice(SYLLABLES) for _ in range(rng.choice((2, 3)))).capitalize()

    return f"{word()} {word()}"


def chinese_company(rng: random.Random) -> str:
    return "".join(rng.choice(BRANDS) for _ in range(rng.choice((2, 3)))) + rng.choice(WORDS) + "有限公司"


def watchlist(size: int, seed: int) -> list[tuple[int, Subject]]:
    rng = random.Random(seed)
    entries = []
    for entry_id in range(size):
        roll = rng.random()
        if roll < 0.45:
            entries.append((entry_id, Subject(chinese_person(rng), "person")))
        elif roll < 0.75:
            entries.append((entry_id, Subject(latin_person(rng), "person")))
        else:
            entries.append((entry_id, Subject(chinese_company(rng), "company")))
    return entries


def perturb(rng: random.Random, subject: Subject) -> Subject:
    """A listed name as a user might type it: romanised, reordered or with a typo."""
    from pypinyin import lazy_pinyin

    name = subject.name
    if subject.kind == "person" and not name.isascii():
        syllables = lazy_pinyin(name)
        name = f"{syllables[0].capitalize()} {''.join(syllables[1:]).capitalize()}"
    elif subject.kind == "person":
        first, last = name.split(" ")
        name = f"{last} {first}" if rng.random() < 0.5 else f"{first} {last[:-2]}{last[-1]}{last[-2]}"
    return Subject(name, subject.kind)


def timed_queries(search: Any, queries: list[tuple[int, Subject]], names: list[str]) -> tuple[list[float], float]:
    """Latencies, and recall@5: the listed entry — or an entry with exactly its name, which no matcher can tell
    apart (a generated list of a million has many namesakes) — among the first five answers."""
    latencies, found = [], 0
    for entry_id, query in queries:
        start = time.perf_counter()
        results = search(query)
        latencies.append(time.perf_counter() - start)
        found += any(names[i] == names[entry_id] for i in results[:5])
    return latencies, found / len(queries)


def summary(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "qps": len(ordered) / sum(ordered),
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
    }


def measure(size: int, baseline_queries: int) -> dict[str, Any]:
    from rapidfuzz import fuzz, process, utils

    entries = watchlist(size, seed=size)
    rng = random.Random(1)
    queries = [(entry_id, perturb(rng, subject)) for entry_id, subject in rng.sample(entries, 300)]
    start = time.perf_counter()
    index = ScreeningIndex()
    index.extend(entries)
    build_seconds = time.perf_counter() - start
    names = [subject.name for _, subject in entries]

    def ours(query: Subject) -> list[int]:
        return [hit.entry_id for hit in index.search(query, limit=5, threshold=0.0)]

    def brute(query: Subject) -> list[int]:
        found = process.extract(
            query.name, names, scorer=fuzz.token_sort_ratio, limit=5, processor=utils.default_process
        )
        return [i for _, _, i in found]

    ours_latency, ours_recall = timed_queries(ours, queries, names)
    brute_latency, brute_recall = timed_queries(brute, queries[:baseline_queries], names)
    ours_recall_same = timed_queries(ours, queries[:baseline_queries], names)[1]
    return {
        "entries": size,
        "build_s": build_seconds,
        "ours": summary(ours_latency),
        "ours_recall": ours_recall,
        "ours_recall_same": ours_recall_same,
        "queries": len(queries),
        "brute": summary(brute_latency),
        "brute_recall": brute_recall,
        "brute_queries": baseline_queries,
    }


def run() -> list[dict[str, Any]]:
    sizes = [int(s) for s in os.environ.get("RISKDESK_BENCH_SCREEN_SIZES", "100000,1000000").split(",")]
    baseline_queries = int(os.environ.get("RISKDESK_BENCH_BASELINE_QUERIES", "20"))
    return [measure(size, baseline_queries) for size in sizes]


def report(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "## Screening speed",
        "",
        "Queries are listed names romanised (习近平 → Xi Jinping), reordered or with a typo; recall@5 counts the "
        "listed entry (or a namesake with exactly its name) among the first five answers. One thread.",
        "",
        "| entries | matcher | queries | queries/s | p50 ms | p99 ms | recall@5 | riskdesk / brute force (qps) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        ours, brute = row["ours"], row["brute"]
        lines.append(
            f"| {row['entries']:,} | riskdesk index (built in {row['build_s']:.0f} s) | {row['queries']} | "
            f"{ours['qps']:,.0f} | {ours['p50_ms']:.2f} | {ours['p99_ms']:.2f} | {row['ours_recall']:.3f} "
            f"({row['ours_recall_same']:.3f} on the baseline's queries) | {ours['qps'] / brute['qps']:,.0f}× |"
        )
        lines.append(
            f"| {row['entries']:,} | rapidfuzz extract, token_sort_ratio | {row['brute_queries']} | "
            f"{brute['qps']:,.2f} | {brute['p50_ms']:.0f} | {brute['p99_ms']:.0f} | {row['brute_recall']:.3f} | 1× |"
        )
    return lines


if __name__ == "__main__":
    print("\n".join(report(run())))
