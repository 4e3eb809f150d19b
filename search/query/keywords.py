"""Keyword queries: what the user typed → words and "quoted phrases".

Users type free text, sometimes with "quoted phrases". Nothing else is
syntax: the keyword index's own query language (Tantivy's field names, AND,
``*``, ``~``, ``^``, ranges) is never used, so no input can be a syntax error
or change the query's structure (``search.keyword_index.queries`` builds term
and phrase queries from the words as data). Words are alternatives ranked by
BM25 (a paper need not contain every word, as in any search engine); quoted
phrases must appear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

WORD = re.compile(r"\w+", re.UNICODE)
PHRASE = re.compile(r'"([^"]*)"')
# English stopwords, dropped from queries and from the ranked text alike (never from
# "quoted phrases"): the Snowball list as NLTK ships it, without its contractions. A
# standard list, not one tuned here; with it, "what", "which" and "how" in a long
# question rank nothing (bench/keyword.py measures it against bm25s's shorter list).
_STOPWORDS_TEXT = """a about above after again against all am an and any are as at be because
    been before being below between both but by can did do does doing don down during each
    few for from further had has have having he her here hers herself him himself his how i
    if in into is it its itself just me more most my myself no nor not now of off on once
    only or other our ours ourselves out over own s same she should so some such t than that
    the their theirs them themselves then there these they this those through to too under
    until up very was we were what when where which while who whom why will with you your
    yours yourself yourselves"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())
MAX_TERMS = 64


Phrases = tuple[tuple[str, ...], ...]  # each a sequence of lower-cased words (stopwords kept)


@dataclass(frozen=True)
class KeywordQuery:
    phrases: Phrases
    terms: tuple[str, ...]  # words outside quotes, lower-cased, stopwords dropped
    stopwords: tuple[str, ...] = ()  # the stopwords dropped from them

    @property
    def empty(self) -> bool:
        """Nothing to match: no word and no phrase."""
        return not (self.phrases or self.terms)

    @property
    def typed(self) -> bool:
        """The query had words, if only stopwords (which the semantic ranking still reads)."""
        return not self.empty or bool(self.stopwords)

    @property
    def empty_message(self) -> str:
        """Why an empty query cannot be searched by keywords."""
        if not self.stopwords:
            return "The query has no words to search for."
        words = [f'"{w}"' for w in self.stopwords]
        listed = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
        return (
            f"The query has no words to search for: {listed} "
            f"{'is' if len(words) == 1 else 'are'} too common to search by. Add a word "
            'that says what the papers are about, or "quote" a phrase.'
        )

    def without_quotes(self) -> KeywordQuery:
        """The query as if typed without quote marks: the phrases' words become words."""
        words = [w for phrase in self.phrases for w in phrase] + list(self.terms)
        terms = [w for w in words if w not in STOPWORDS] or words
        return KeywordQuery((), tuple(dict.fromkeys(terms))[:MAX_TERMS])

    def phrases_notice(self, matching: int) -> str:
        """What a page says when the phrases were dropped because only ``matching`` (fewer
        than asked for) papers match the query with them."""
        quoted = ", ".join(f'"{" ".join(phrase)}"' for phrase in self.phrases)
        if matching == 0:
            return f"No papers contain {quoted}; showing results without the quotes."
        papers = "1 paper matches" if matching == 1 else f"{matching} papers match"
        return f"Only {papers} {quoted}; showing results without the quotes."

    @property
    def word_count(self) -> int:
        """Words the query searches for: its terms and its phrases' words."""
        return len(self.terms) + sum(len(phrase) for phrase in self.phrases)

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
    terms = [w for w in words if w not in STOPWORDS]
    dropped = tuple(dict.fromkeys(w for w in words if w in STOPWORDS))
    return KeywordQuery(tuple(phrases), tuple(dict.fromkeys(terms))[:MAX_TERMS], dropped)


def semantic_text(text: str) -> str:
    """The query as the encoder should see it: quotes are search syntax, not content."""
    return " ".join(text.replace('"', " ").split())
