"""Keyword queries: what the user typed → a safe SQLite FTS5 expression.

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
