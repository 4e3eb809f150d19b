"""Snippets: the part of an abstract with the most query words, and where those words are.

Matching is by a crude prefix stem, so that "networks" also marks "network" and
"networking"; the spans let pages and API clients highlight the words without
parsing HTML.
"""

from __future__ import annotations

import re


def _prefix(word: str) -> str:
    """A crude stem, so that "networks" also marks "network" and "networking"."""
    return word if len(word) <= 4 else word[: max(4, len(word) - 3)]


def snippet(
    text: str | None, words: tuple[str, ...], width: int = 280
) -> tuple[str, list[list[int]]]:
    """The part of ``text`` (about ``width`` characters) with the most query words, and the
    [start, end) character spans of those words in it, for highlighting."""
    if not text:
        return "", []
    pattern = (
        re.compile(r"\b(?:" + "|".join(re.escape(_prefix(w)) for w in words) + r")\w*", re.I)
        if words
        else None
    )
    matches = [m.span() for m in pattern.finditer(text)] if pattern else []
    start = 0
    if len(text) > width and matches:
        best = max(range(len(matches)), key=lambda i: _count_within(matches, i, width))
        start = max(0, matches[best][0] - width // 6)
        start = text.rfind(" ", 0, start) + 1 if start else 0
    end = min(len(text), start + width)
    if end < len(text):
        cut = text.rfind(" ", start, end)
        end = cut if cut > start else end
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    body = text[start:end]
    spans = [
        [a - start + len(prefix), b - start + len(prefix)]
        for a, b in matches
        if a >= start and b <= end
    ]
    return prefix + body + suffix, spans


def _count_within(matches: list[tuple[int, int]], first: int, width: int) -> int:
    limit = matches[first][0] + width
    return sum(1 for a, _ in matches[first:] if a < limit)
