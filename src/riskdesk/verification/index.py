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
        keys: set[str] = set()
        for name in (subject.name, *subject.aliases):
            keys |= blocking_keys(parse(name, subject.kind))
        for key in keys:
            self._postings[key].append(entry_id)

    def extend(self, entries: Iterable[tuple[int, Subject]]) -> None:
        for entry_id, subject in entries:
            self.add(entry_id, subject)

    def candidates(self, query: Subject, *, depth: int = 50) -> list[int]:
        keys: set[str] = set()
        for name in (query.name, *query.aliases):
            keys |= blocking_keys(parse(name, query.kind))
        postings = sorted((self._postings[key] for key in keys if key in self._postings), key=len)
        shared: Counter[int] = Counter()
        read = 0
        for entries in postings:
            if read and read + len(entries) > _MAX_POSTINGS_READ:
                break  # the rarer keys already gave candidates; a common surname adds only noise
            shared.update(entries)
            read += len(entries)
        return [entry_id for entry_id, _ in shared.most_common(depth)]

    def search(
        self, query: Subject, *, limit: int = 10, threshold: float = DEFAULT_THRESHOLD, depth: int = 50
    ) -> list[Hit]:
        """The best ``limit`` entries scoring at least ``threshold``, best first."""
        hits = []
        for entry_id in self.candidates(query, depth=depth):
            subject = self._subjects[entry_id]
            if subject.kind != query.kind and query.kind and subject.kind:
                continue
            result = compare(query, subject, threshold=threshold)
            if result.match:
                hits.append(Hit(entry_id, subject, result))
        hits.sort(key=lambda hit: -hit.result.score)
        return hits[:limit]
