"""An in-memory candidate index over watchlist entries, so a query scores tens of entries, not a million.

Pure. Each entry is parsed once (``names.parse``) and filed under blocking keys: its romanised parts, their first
four letters (typos late in a word), their squashed concatenation, and the bigrams of its Chinese characters.
A query collects entries from its rarest keys first — a common surname's posting list (wang, li) is read only
when nothing rarer is shared — ranks them by keys shared and scores the best ``depth`` with the full matcher.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from riskdesk.verification.matching import DEFAULT_THRESHOLD, MatchResult, Subject, compare
from riskdesk.verification.names import NameParts, parse

_MAX_POSTINGS_READ = 20_000  # entries read from postings per query, rarest keys first
_MAX_TIED = 500  # entries tied with the last candidate that are scored too


def blocking_keys(parts: NameParts) -> set[str]:
    keys: set[str] = set()
    for token in (*parts.tokens, *parts.region):
        if len(token) >= 2:
            keys.add(f"t:{token}")
            keys.add(f"p:{token[:4]}")
    if len(parts.tokens) > 1:
        keys.add(f"s:{''.join(parts.tokens)}")
    han = parts.han
    keys.update(f"h:{han[i : i + 2]}" for i in range(len(han) - 1))
    if len(han) == 1:
        keys.add(f"h:{han}")
    return keys


def identifier_keys(subject: Subject) -> list[str]:
    return [
        f"i:{kind}:{''.join(ch for ch in value.upper() if ch.isalnum())}"
        for kind, value in subject.identifiers.items()
        if value
    ]


@dataclass(frozen=True)
class Hit:
    entry_id: int
    subject: Subject
    result: MatchResult


class ScreeningIndex:
    def __init__(self) -> None:
        self._subjects: dict[int, Subject] = {}
        self._postings: dict[str, list[int]] = defaultdict(list)

    def __len__(self) -> int:
        return len(self._subjects)

    def add(self, entry_id: int, subject: Subject) -> None:
        self._subjects[entry_id] = subject
        keys: set[str] = set(identifier_keys(subject))
        for name in (subject.name, *subject.aliases):
            keys |= blocking_keys(parse(name, subject.kind))
        for key in keys:  # name keys per kind: a person query never wades through companies
            self._postings[key if key.startswith("i:") else f"{subject.kind}|{key}"].append(entry_id)

    def extend(self, entries: Iterable[tuple[int, Subject]]) -> None:
        for entry_id, subject in entries:
            self.add(entry_id, subject)

    def candidates(self, query: Subject, *, depth: int = 50) -> list[int]:
        """Entries sharing the query's identifiers always; then by blocking keys shared, entries of the query's
        kind only, with every entry tied with the last one kept (up to ``_MAX_TIED``): a list of two hundred
        namesakes must not hide the one with the query's ID number or birth date."""
        by_identifier = [e for key in identifier_keys(query) for e in self._postings.get(key, [])]
        keys: set[str] = set()
        for name in (query.name, *query.aliases):
            keys |= {f"{query.kind}|{key}" for key in blocking_keys(parse(name, query.kind))}
        postings = sorted((self._postings[key] for key in keys if key in self._postings), key=len)
        shared: Counter[int] = Counter()
        read = 0
        for entries in postings:
            if read and read + len(entries) > _MAX_POSTINGS_READ:
                break  # the rarer keys already gave candidates; a common surname adds only noise
            shared.update(entries)
            read += len(entries)
        ranked = shared.most_common()
        chosen = ranked[:depth]
        # Namesakes tie on every name key; only a birth date or country can tell them apart, so only then are the
        # tied ones scored too (an ID number already brought its entry in above).
        if len(ranked) > depth and (query.birth_date or query.country):
            last = chosen[-1][1]
            chosen += [item for item in ranked[depth : depth + _MAX_TIED] if item[1] == last]
        return list(dict.fromkeys([*by_identifier, *(entry_id for entry_id, _ in chosen)]))

    def search(
        self, query: Subject, *, limit: int = 10, threshold: float = DEFAULT_THRESHOLD, depth: int = 50
    ) -> list[Hit]:
        """The best ``limit`` entries scoring at least ``threshold``, best first."""
        hits = []
        for entry_id in self.candidates(query, depth=depth):
            subject = self._subjects[entry_id]
            result = compare(query, subject, threshold=threshold)
            if result.match:
                hits.append(Hit(entry_id, subject, result))
        hits.sort(key=lambda hit: -hit.result.score)
        return hits[:limit]
