"""Tantivy queries from a parsed keyword query and filters, built term by term in code.

The user's text never reaches Tantivy's query parser: each word is run through the
index's own analyzer and becomes term queries on named fields, each quoted phrase a
phrase query, each filter a term, term-set or range query, so ``title:x``, ``AND``,
``*``, ``~2``, ``^5`` or ``[a TO b]`` are searched as the words they contain.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache

from search.keyword_index.documents import (
    PHRASE_ANALYZER,
    RANK_ANALYZER,
    TITLE_BOOST,
    analyzers,
    schema,
)
from search.query.filter_keys import author_filter_key, venue_key
from search.query.filters import Filters
from search.query.keywords import KeywordQuery, Phrases

RANKED = (("body", 1.0), ("title", TITLE_BOOST))  # the fields BM25 sums, with their boosts
# What a request's quoted phrase adds to the score of a paper that holds it: about a
# tenth of what a rare word matched adds, enough to break near ties (bench/keyword.py).
REQUEST_PHRASE_BOOST = 0.5
Weigh = Callable[[str, tuple[str, ...]], float]  # (field, stems) → a factor on their BM25


def term_weight(times: int) -> float:
    """A word typed ``times`` times weighs 1 + ln(times): a long request that repeats its
    subject ("associative memories ... associative processors ... associative stores")
    says what it is about, but sublinearly (SMART's logarithmic query term frequency)."""
    return 1.0 + math.log(times)


@cache
def _schema():
    return schema()


@cache
def _analyzers() -> dict:
    return analyzers()


def tokens(text: str, analyzer: str = RANK_ANALYZER) -> list[str]:
    """``text`` as the index holds it: for ranking, lower case, accents folded, stopwords
    dropped and stemmed; for phrases, every word kept."""
    return _analyzers()[analyzer].analyze(text)


def ranking(query: KeywordQuery, filters: Filters, weigh: Weigh | None = None):
    """Papers with any of the words (ranked by BM25 over ``body``, plus ``title``
    boosted, each word by its ``term_weight``; a request's quoted phrases add
    REQUEST_PHRASE_BOOST) that contain every phrase and pass the filters; None when
    nothing could match (every word was a stopword, a phrase had no word).

    ``weigh(field, stems)`` multiplies the BM25 score of a term (or a phrase) on a field:
    a shard's index scales its own IDF to the whole corpus's with it."""
    from tantivy import Occur, Query

    weigh = weigh or _unweighed
    typed: dict[str, int] = {}  # each stem, and how often the words that make it were typed
    for term, times in query.counted_terms():
        for stem in tokens(term):
            typed[stem] = typed.get(stem, 0) + times
    should = [
        (Occur.Should, _boosted(Query.term_query(_schema(), field, word, "freq"),
                                boost * term_weight(times) * weigh(field, (word,))))
        for word, times in typed.items()
        for field, boost in RANKED
    ]  # fmt: skip
    should += [
        (Occur.Should, Query.const_score_query(found, REQUEST_PHRASE_BOOST))
        for found in map(phrase_query, query.boosts)
        if found is not None
    ]
    must = [phrase_query(phrase, weigh) for phrase in query.phrases]
    if any(q is None for q in must) or not (should or must):
        return None
    clauses = [(Occur.Must, q) for q in must] + [
        (Occur.Must, Query.const_score_query(f, 0.0)) for f in filter_queries(filters)
    ]  # filters select, they do not score
    if should:
        clauses.append((Occur.Must, Query.boolean_query(should)))
    if len(clauses) == 1:
        return clauses[0][1]
    return Query.boolean_query(clauses)


def weighed(query: KeywordQuery, filters: Filters) -> list[tuple[str, tuple[str, ...]]] | None:
    """The (field, stems) whose BM25 :func:`ranking` weighs, in order (what a shard needs
    the corpus's statistics of); None when nothing could match."""
    seen: list[tuple[str, tuple[str, ...]]] = []

    def record(field: str, stems: tuple[str, ...]) -> float:
        if (field, stems) not in seen:
            seen.append((field, stems))
        return 1.0

    return seen if ranking(query, filters, record) is not None else None


def containing(phrases: Phrases, filters: Filters):
    """Papers that contain every phrase (no phrase: every paper) and pass the filters
    (unranked); None when a phrase has no word to match."""
    from tantivy import Occur, Query

    must = [phrase_query(phrase) for phrase in phrases] or [Query.all_query()]
    if any(q is None for q in must):
        return None
    clauses = [(Occur.Must, q) for q in must] + [(Occur.Must, f) for f in filter_queries(filters)]
    return Query.const_score_query(Query.boolean_query(clauses), 1.0)


def phrase_query(words: tuple[str, ...], weigh: Weigh | None = None):
    """A quoted phrase: its words in order, in the title, the abstract or the authors."""
    from tantivy import Query

    stems = tokens(" ".join(words), PHRASE_ANALYZER)
    if not stems:
        return None
    if len(stems) == 1:
        found = Query.term_query(_schema(), "phrases", stems[0], "position")
    else:
        found = Query.phrase_query(_schema(), "phrases", stems)
    return _boosted(found, weigh("phrases", tuple(stems))) if weigh else found


def filter_queries(filters: Filters) -> list:
    """One query per active filter; a paper must match each (alternatives within one)."""
    from tantivy import FieldType, Query

    found = []
    if filters.year_min is not None or filters.year_max is not None:
        found.append(Query.range_query(_schema(), "year", FieldType.Integer,
                                       filters.year_min, filters.year_max))  # fmt: skip
    venues = [venue_key(v) for v in filters.venues]
    authors = [k for k in map(author_filter_key, filters.authors) if k]
    for field, values, asked in (
        ("venue", venues, filters.venues),
        ("category_key", list(filters.categories), filters.categories),
        ("author_key", authors, filters.authors),
    ):
        if asked:  # names without a letter match no one
            found.append(Query.term_set_query(_schema(), field, values) if values
                         else Query.empty_query())  # fmt: skip
    return found


def _unweighed(field: str, stems: tuple[str, ...]) -> float:
    return 1.0


def _boosted(query, boost: float):
    from tantivy import Query

    return query if boost == 1.0 else Query.boost_query(query, boost)
