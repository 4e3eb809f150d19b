"""Keyword queries: what the user typed → a safe SQLite FTS5 expression, and snippets.

Users type free text, sometimes with "quoted phrases". FTS5's own syntax
(AND, NEAR, column filters, ``*``) is not exposed: a stray quote or colon
would be a syntax error, and every word is passed as a quoted string, so no
input can change the expression's structure. Words are alternatives ranked by
BM25 (a paper need not contain every word, as in any search engine); quoted
phrases must appear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

WORD = re.compile(r"\w+", re.UNICODE)
PHRASE = re.compile(r'"([^"]*)"')
# Words too common to rank by; dropped from the alternatives (never from phrases).
_STOPWORDS_TEXT = """a an and are as at be by can do does for from has have how in into is it
    its of on or than that the their there these this those to was were what when where which
    while who why will with within without"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())
MAX_TERMS = 64


@dataclass(frozen=True)
class KeywordQuery:
    phrases: tuple[tuple[str, ...], ...]  # each a sequence of lower-cased words
    terms: tuple[str, ...]  # words outside quotes, lower-cased, stopwords dropped

    @property
    def match(self) -> str | None:
        """The FTS5 MATCH expression, or None when there is nothing to match."""
        parts = [quote_fts(" ".join(words)) for words in self.phrases]
        if self.terms:
            parts.append("(" + " OR ".join(quote_fts(term) for term in self.terms) + ")")
        return " AND ".join(parts) if parts else None

    @property
    def phrase_match(self) -> str | None:
        """Only the phrases: papers that must match in hybrid mode."""
        if not self.phrases:
            return None
        return " AND ".join(quote_fts(" ".join(words)) for words in self.phrases)

    def with_terms(self, terms: tuple[str, ...]) -> KeywordQuery:
        return KeywordQuery(self.phrases, terms)

    @property
    def highlight_words(self) -> tuple[str, ...]:
        words = [w for phrase in self.phrases for w in phrase] + list(self.terms)
        return tuple(dict.fromkeys(w for w in words if w not in STOPWORDS))


def parse_keywords(text: str) -> KeywordQuery:
    phrases = []
    for inner in PHRASE.findall(text):
        words = tuple(w.lower() for w in WORD.findall(inner))
        if words:
            phrases.append(words)
    outside = PHRASE.sub(" ", text).replace('"', " ")
    words = [w.lower() for w in WORD.findall(outside)]
    terms = [w for w in words if w not in STOPWORDS] or words  # all stopwords: keep them
    return KeywordQuery(tuple(phrases), tuple(dict.fromkeys(terms))[:MAX_TERMS])


def semantic_text(text: str) -> str:
    """The query as the encoder should see it: quotes are search syntax, not content."""
    return " ".join(text.replace('"', " ").split())


def quote_fts(text: str) -> str:
    """``text`` as one FTS5 string (a word or phrase), never as query syntax."""
    return '"' + text.replace('"', '""') + '"'


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
