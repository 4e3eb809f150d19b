"""Keyword queries: what the user typed → words and "quoted phrases".

Users type free text, sometimes with "quoted phrases". Nothing else is
syntax: the keyword index's own query language (Tantivy's field names, AND,
``*``, ``~``, ``^``, ranges) is never used, so no input can be a syntax error
or change the query's structure (``search.keyword_index.queries`` builds term
and phrase queries from the words as data). Words are alternatives ranked by
BM25 (a paper need not contain every word, as in any search engine), a word typed
several times weighing more; quoted phrases must appear.

Except in a request: quotes in a query of LONG_REQUEST_WORDS words or more outside
them (a sentence or a paragraph, often quoting a title it cites) mark words to
search for, not a filter. Their words are searched as the others and the papers
that hold the phrase rank a little higher (``boosts``): required, such a phrase
lost a third of the ranking's quality on the long requests of bench/keyword.py
(docs/benchmarks.md), as relevant papers say it otherwise.
"""

from __future__ import annotations

import re
from collections import Counter
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
LONG_REQUEST_WORDS = 10  # words outside the quotes that make a query a request


Phrases = tuple[tuple[str, ...], ...]  # each a sequence of lower-cased words (stopwords kept)


@dataclass(frozen=True)
class KeywordQuery:
    phrases: Phrases  # required
    terms: tuple[str, ...]  # words outside quotes, lower-cased, stopwords dropped, distinct
    stopwords: tuple[str, ...] = ()  # the stopwords dropped from them
    counts: tuple[int, ...] = ()  # how often each term was typed (none given: once each)
    boosts: Phrases = ()  # a request's quoted phrases: they rank higher, not required

    def counted_terms(self) -> list[tuple[str, int]]:
        """(term, times typed) for each term."""
        counts = self.counts or (1,) * len(self.terms)
        return list(zip(self.terms, counts, strict=True))

    @property
    def empty(self) -> bool:
        """Nothing to match: no word and no phrase."""
        return not (self.phrases or self.terms or self.boosts)

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
        counted = Counter(w for phrase in self.phrases for w in phrase)
        counted.update(dict(self.counted_terms()))
        kept = Counter({w: n for w, n in counted.items() if w not in STOPWORDS}) or counted
        return _query((), kept, (), self.boosts)

    def phrases_notice(self, matching: int) -> str:
        """What a page says when the phrases were dropped because only ``matching`` (fewer
        than asked for) papers match the query with them."""
        quoted = ", ".join(f'"{" ".join(phrase)}"' for phrase in self.phrases)
        if matching == 0:
            return f"No papers contain {quoted}; showing results without the quotes."
        papers = "1 paper matches" if matching == 1 else f"{matching} papers match"
        return f"Only {papers} {quoted}; showing results without the quotes."

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
    dropped = tuple(dict.fromkeys(w for w in words if w in STOPWORDS))
    if phrases and len(words) >= LONG_REQUEST_WORDS:  # a request: its quotes boost
        words += [w for phrase in phrases for w in phrase]
        return _query((), Counter(w for w in words if w not in STOPWORDS), dropped, phrases)
    return _query(tuple(phrases), Counter(w for w in words if w not in STOPWORDS), dropped)


def _query(phrases: Phrases, counted: Counter, dropped: tuple[str, ...],
           boosts: Phrases = ()) -> KeywordQuery:  # fmt: skip
    """A query of these phrases and terms (in the order first typed, at most MAX_TERMS)."""
    terms = tuple(counted)[:MAX_TERMS]
    return KeywordQuery(tuple(phrases), terms, dropped, tuple(counted[t] for t in terms),
                        tuple(boosts))  # fmt: skip


def semantic_text(text: str) -> str:
    """The query as the encoder should see it: quotes are search syntax, not content."""
    return " ".join(text.replace('"', " ").split())
