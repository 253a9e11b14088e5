"""Screening scores: how likely two records name the same person or company, with a reason per feature.

Pure. Scorers live in a registry chosen by name (as in yente); every result carries ``explanation`` (feature →
score and words) and ``match = score >= threshold``. The default, ``riskdesk-v1``:

1. Name (0-1), the best of
   - characters: when both names are written in Chinese, the simplified characters are compared; the same
     characters score 1, the same sounds with other characters (a homophone: 张伟 / 章伟) 0.8;
   - parts: romanised parts aligned in any order (Jinping Xi = Xi Jinping), each pair scored by Jaro-Winkler,
     an initial matching a part that starts with it (J. / John); unmatched parts cost their share;
   - squashed: all parts run together and compared by edit distance (Xi Jin Ping = Xi Jinping).
   A Chinese company's leading place name (北京…) counts only when both names have one.
2. Identifiers: the same USCC, ID or LEI lifts the score to at least 0.95; a different one of the same type
   multiplies it by 0.5 — two companies cannot share a unified social credit code.
3. Qualifiers for people: birth dates in different years −0.15 (same date +0.05); different countries −0.10.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from riskdesk.verification.names import BUSINESS_WORDS, LATIN_CANONICAL, NameParts, parse

DEFAULT_ALGORITHM = "riskdesk-v1"
DEFAULT_THRESHOLD = 0.85
GENERIC_PARTS = frozenset(
    word for phrase in (*BUSINESS_WORDS.values(), *LATIN_CANONICAL.values()) for word in phrase.split()
) - {"china"}


@dataclass(frozen=True)
class Subject:
    """One side of a comparison: a customer, a related person, or a watchlist entry."""

    name: str
    kind: str = "person"  # person | company
    identifiers: Mapping[str, str] = field(default_factory=dict)  # type (uscc, ric, lei, passport…) → value
    birth_date: str | None = None  # ISO date or year
    country: str | None = None  # ISO 3166-1 alpha-2
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class MatchResult:
    score: float
    match: bool
    threshold: float
    algorithm: str
    explanation: dict[str, dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "score": round(self.score, 4),
            "match": self.match,
            "threshold": self.threshold,
            "algorithm": self.algorithm,
            "explanation": self.explanation,
        }


def _jaro_winkler(a: str, b: str) -> float:
    from rapidfuzz.distance import JaroWinkler

    return float(JaroWinkler.normalized_similarity(a, b))


def _part_similarity(a: str, b: str) -> float:
    """Jaro-Winkler forgives a typo but also finds John ~ Jane at 0.7; averaging it with the edit-distance
    similarity keeps typos high (Jonathan / Jonathon 0.91) and different names low (John / Jane 0.6)."""
    from rapidfuzz.distance import Levenshtein

    if a == b:
        return 1.0
    if len(a) == 1 or len(b) == 1:  # an initial
        return 0.9 if a[0] == b[0] else 0.0
    return (_jaro_winkler(a, b) + float(Levenshtein.normalized_similarity(a, b))) / 2


def _weight(part: str) -> float:
    """Generic business words (technology, trading, bank) say little about which company it is."""
    return len(part) * (0.3 if part in GENERIC_PARTS else 1.0)


def _aligned(left: tuple[str, ...], right: tuple[str, ...]) -> float:
    """Greedy best alignment of parts in any order; each side's unmatched parts lower the score."""
    if not left or not right:
        return 0.0
    pairs = sorted(
        ((_part_similarity(a, b), i, j) for i, a in enumerate(left) for j, b in enumerate(right)), reverse=True
    )
    used_left: set[int] = set()
    used_right: set[int] = set()
    matched = 0.0
    for similarity, i, j in pairs:
        if i in used_left or j in used_right:
            continue
        used_left.add(i)
        used_right.add(j)
        matched += similarity * (_weight(left[i]) + _weight(right[j]))
    total = sum(map(_weight, left)) + sum(map(_weight, right))
    return matched / total


def _squashed(left: str, right: str) -> float:
    from rapidfuzz.distance import Levenshtein

    if not left or not right:
        return 0.0
    return float(Levenshtein.normalized_similarity(left, right))


def name_score(left: NameParts, right: NameParts) -> tuple[float, dict[str, Any]]:
    if left.han and right.han:
        if left.region_han and right.region_han:  # 北京恒达 and 上海恒达 are two companies
            left = replace(left, han=left.region_han + left.han, tokens=left.region + left.tokens)
            right = replace(right, han=right.region_han + right.han, tokens=right.region + right.tokens)
        if left.han == right.han:
            return 1.0, {"method": "characters", "left": left.han, "right": right.han}
        if left.tokens == right.tokens:
            return 0.8, {"method": "same sounds, other characters", "left": left.han, "right": right.han}
        from rapidfuzz.distance import Levenshtein

        score = float(Levenshtein.normalized_similarity(left.han, right.han))
        return score, {"method": "characters", "left": left.han, "right": right.han}
    left_tokens, right_tokens = left.tokens, right.tokens
    if left.region and right.region:
        left_tokens, right_tokens = left.region + left_tokens, right.region + right_tokens
    parts = _aligned(left_tokens, right_tokens)
    squashed = _squashed("".join(left_tokens), "".join(right_tokens))
    method, score = ("parts", parts) if parts >= squashed else ("squashed", squashed)
    return score, {"method": method, "left": list(left_tokens), "right": list(right_tokens)}


def _normalized_identifier(value: str) -> str:
    return "".join(ch for ch in value.upper() if ch.isalnum())


WEAK_NAME_CAP = 0.7


def _weak(parts: NameParts) -> bool:
    """A name of initials only (J S) or generic business words only (Tech, Trading Co) identifies nobody."""
    if parts.han:
        return False
    return bool(parts.tokens) and all(len(t) == 1 or t in GENERIC_PARTS for t in parts.tokens)


def _best_name(query: Subject, candidate: Subject) -> tuple[float, dict[str, Any]]:
    best: tuple[float, dict[str, Any]] = (0.0, {})
    for left_name in (query.name, *query.aliases):
        for right_name in (candidate.name, *candidate.aliases):
            left_parts, right_parts = parse(left_name, query.kind), parse(right_name, candidate.kind)
            score, detail = name_score(left_parts, right_parts)
            if _weak(left_parts) or _weak(right_parts):
                score = min(score, WEAK_NAME_CAP)
                detail = {**detail, "capped": "a name of initials or generic words only"}
            if score > best[0] or not best[1]:
                best = (score, {**detail, "names": [left_name, right_name]})
    return best


def compare_v1(query: Subject, candidate: Subject, threshold: float = DEFAULT_THRESHOLD) -> MatchResult:
    score, name_detail = _best_name(query, candidate)
    explanation: dict[str, dict[str, Any]] = {"name": {"score": round(score, 4), **name_detail}}
    for id_type, value in query.identifiers.items():
        other = candidate.identifiers.get(id_type)
        if not value or not other:
            continue
        if _normalized_identifier(value) == _normalized_identifier(other):
            score = max(score, 0.95)
            explanation["identifier"] = {"effect": "at least 0.95", "reason": f"same {id_type}"}
        else:
            score *= 0.5
            # No values: an ID number is sensitive personal information and explanations are shown to every reader.
            explanation["identifier"] = {"effect": "× 0.5", "reason": f"different {id_type}"}
        break
    if query.kind == "person" and query.birth_date and candidate.birth_date:
        if query.birth_date[:4] != candidate.birth_date[:4]:
            score -= 0.15
            explanation["birth_date"] = {"effect": "−0.15", "reason": "born in different years"}
        elif len(query.birth_date) >= 10 and query.birth_date[:10] == candidate.birth_date[:10]:
            score += 0.05
            explanation["birth_date"] = {"effect": "+0.05", "reason": "same birth date"}
    if query.country and candidate.country and query.country.upper() != candidate.country.upper():
        score -= 0.10
        explanation["country"] = {
            "effect": "−0.10",
            "reason": f"countries differ: {query.country} / {candidate.country}",
        }
    score = min(1.0, max(0.0, score))
    return MatchResult(score, score >= threshold, threshold, DEFAULT_ALGORITHM, explanation)


ALGORITHMS: dict[str, Callable[[Subject, Subject, float], MatchResult]] = {DEFAULT_ALGORITHM: compare_v1}


def compare(
    query: Subject, candidate: Subject, *, algorithm: str = DEFAULT_ALGORITHM, threshold: float = DEFAULT_THRESHOLD
) -> MatchResult:
    try:
        scorer = ALGORITHMS[algorithm]
    except KeyError:
        raise ValueError(f"unknown matching algorithm {algorithm!r}; known: {', '.join(ALGORITHMS)}") from None
    return scorer(query, candidate, threshold)
