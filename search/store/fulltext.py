"""Keyword ranking: BM25-style ranking over the papers' title, abstract and authors.

Each database has its own full-text engine, behind one interface: SQLite's
FTS5 (``fulltext_sqlite``) and PostgreSQL's ``tsvector`` (``fulltext_postgres``).
Both index only searchable papers, stem English, and take queries already
parsed (``search.keywords``), passing every word and phrase as data, so no
user text is ever query syntax. What they share lives here: answers that hold
while the corpus does not change are cached. Every word of a query counts: a
rule that skipped the words in more than 20% of the papers made keyword queries
about a third faster but cost 0.017 nDCG@10 on Cranfield (``bench/keyword.py``),
so it went.
"""

from __future__ import annotations

import functools

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from search.errors import FulltextUnavailable
from search.filters import Filters
from search.keywords import KeywordQuery, Phrases
from search.store.papers import Papers
from search.store.sql import dialect_of

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
        return self._rank(query, limit, filters)

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
