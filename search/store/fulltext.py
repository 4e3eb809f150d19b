"""Keyword ranking: BM25-style ranking over the papers' title, abstract and authors.

Each database has its own full-text engine, behind one interface: SQLite's
FTS5 (``fulltext_sqlite``) and PostgreSQL's ``tsvector`` (``fulltext_postgres``).
Both index only searchable papers, stem English, and take queries already
parsed (``search.keywords``), passing every word and phrase as data, so no
user text is ever query syntax. What they share lives here: ranking skips the
words that most papers contain when the query has rarer ones (they barely move
the ranking but cost most of its time), and answers that hold while the corpus
does not change are cached.
"""

from __future__ import annotations

import functools

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from search.errors import FulltextUnavailable
from search.filters import Filters
from search.keywords import KeywordQuery, Phrases
from search.store.papers import Papers, dialect_of

# A word in more than this share of the papers is skipped when the query has rarer ones.
COMMON_TERM_SHARE = 0.2
MAX_REMEMBERED_COUNTS = 65_536


class FullText:
    """Keyword ranking and phrase matching over one database. Word counts and phrase id
    sets are cached for the life of this object (servers open a fresh store for each index
    build). Subclasses implement the three queries for their database."""

    def __init__(self, sessions: sessionmaker[Session], papers: Papers) -> None:
        self.sessions = sessions
        self.papers = papers
        self._counts: dict[str, int] = {}  # word → papers containing it, while they fit
        self.matching_ids = functools.lru_cache(maxsize=64)(self._matching_ids)

    @staticmethod
    def for_database(sessions: sessionmaker[Session], papers: Papers) -> FullText:
        from search.store.fulltext_postgres import PostgresFullText
        from search.store.fulltext_sqlite import SqliteFullText

        kinds = {"sqlite": SqliteFullText, "postgresql": PostgresFullText}
        return kinds.get(dialect_of(sessions), FullText)(sessions, papers)

    def rank(
        self, query: KeywordQuery, limit: int, filters: Filters
    ) -> tuple[list[tuple[int, float]], int]:
        """The ranking of ``query``: ([(id, score)] best first, higher is better; how many
        papers match), among the searchable papers that pass ``filters``."""
        return self._rank(self.informative(query), limit, filters)

    def informative(self, query: KeywordQuery) -> KeywordQuery:
        """``query`` without the words that more than COMMON_TERM_SHARE of the papers
        contain, when it has rarer ones (one word alone is always kept)."""
        if len(query.terms) < 2:
            return query
        counts = self.document_counts(query.terms)
        limit = COMMON_TERM_SHARE * self._searchable
        kept = tuple(term for term in query.terms if counts[term] <= limit)
        return query.with_terms(kept or (min(query.terms, key=counts.__getitem__),))

    def document_counts(self, terms: tuple[str, ...]) -> dict[str, int]:
        """How many searchable papers contain each word (after the index's stemming);
        remembered, and the ones not yet known asked for together."""
        unknown = [term for term in dict.fromkeys(terms) if term not in self._counts]
        if unknown:
            if len(self._counts) + len(unknown) > MAX_REMEMBERED_COUNTS:
                self._counts.clear()
            self._counts.update(self._document_counts(tuple(unknown)))
        return {term: self._counts[term] for term in terms}

    def document_count(self, term: str) -> int:
        return self.document_counts((term,))[term]

    @functools.cached_property
    def _searchable(self) -> int:
        return self.papers.count()

    # -- what each database implements ----------------------------------------------

    def _rank(
        self, query: KeywordQuery, limit: int, filters: Filters
    ) -> tuple[list[tuple[int, float]], int]:
        raise self._unavailable()

    def _document_counts(self, terms: tuple[str, ...]) -> dict[str, int]:
        """How many searchable papers contain each of ``terms``."""
        raise self._unavailable()

    def _matching_ids(self, phrases: Phrases, filters: Filters) -> np.ndarray:
        """Sorted ids (int64) of the searchable papers that contain every phrase and pass
        ``filters``."""
        raise self._unavailable()

    def _unavailable(self) -> FulltextUnavailable:
        return FulltextUnavailable(
            f"Keyword search needs SQLite or PostgreSQL; this store is {dialect_of(self.sessions)}."
        )
