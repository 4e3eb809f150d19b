"""Keyword search on PostgreSQL: a weighted ``tsvector`` with a GIN index.

Migration 0005 made ``papers.search_vector``, a stored generated column
(title weight A, abstract B, authors C, English stemming) that PostgreSQL
keeps current on every write, and a GIN index over the searchable papers.
Words become ``plainto_tsquery`` and phrases ``phraseto_tsquery``, each from a
bound parameter, so nothing a user types is tsquery syntax.

PostgreSQL's own ``ts_rank`` knows how often a word is in a paper but not how
rare it is in the corpus, so a common word counts as much as a rare one. The
ranking here weighs each word's ``ts_rank`` by its inverse document frequency
(BM25's, from the same cached document counts the common-word rule uses) and
sums them, as BM25 does; ``bench/keyword_postgres.py`` measured the variants.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Iterator

import numpy as np
from sqlalchemy import func, literal_column, select, text
from sqlalchemy.orm import Session

from search.filters import Filters
from search.keywords import KeywordQuery, Phrases
from search.schema import Paper
from search.store.fulltext import FullText
from search.store.papers import Papers
from search.store.sql import fetch_ids, filter_conditions

SEARCH_VECTOR = literal_column("papers.search_vector")  # migration 0005
CONFIG = "english"  # the text search configuration the column was built with
# ts_rank's weights for the D, C (authors), B (abstract) and A (title) labels, and its
# normalisation (1: divide by 1 + the log of the paper's length).
# Chosen by bench/keyword.py on SciFact and Cranfield: the best of the variants on both.
RANK_WEIGHTS = (0.1, 0.2, 0.6, 1.0)
RANK_NORMALIZATION = 1


class PostgresFullText(FullText):
    """IDF-weighted ``ts_rank`` over the weighted ``search_vector``."""

    def _rank(
        self, query: KeywordQuery, limit: int, filters: Filters
    ) -> tuple[list[tuple[int, float]], int]:
        """Each word's (and phrase's) ts_rank, weighted by its IDF, summed. The matching
        papers' vectors are read once each into a subquery: every ts_rank would otherwise
        decompress the stored vector again."""
        counts = self.document_counts(query.terms)
        weighted = [(self._idf(counts[term]), _tsquery((), (term,))) for term in query.terms]
        weighted += [(self._idf(len(self.matching_ids((phrase,), Filters()))),
                      _tsquery((phrase,), ())) for phrase in query.phrases]  # fmt: skip
        once = SEARCH_VECTOR.op("||")(literal_column("''::tsvector")).label("vector")
        matching = (
            select(Paper.id.label("id"), once)
            .where(*_searchable(self.papers, _tsquery(query.phrases, query.terms), filters))
            .offset(0)  # keeps the subquery a subquery: each vector read once
            .subquery()
        )
        rank = sum(idf * _term_rank(matching.c.vector, tsquery) for idf, tsquery in weighted)
        matches = func.count().over().label("matches")  # counted in the same scan
        with self._session() as session:
            rows = session.execute(
                select(matching.c.id, rank.label("rank"), matches)
                .order_by(rank.desc(), matching.c.id)
                .limit(limit)
            ).all()
        total = rows[0].matches if rows else 0
        return [(paper_id, float(score)) for paper_id, score, _ in rows], int(total)

    def _idf(self, documents: int) -> float:
        """BM25's inverse document frequency: rare words count more."""
        papers = max(self._searchable, documents)
        return math.log(1 + (papers - documents + 0.5) / (documents + 0.5))

    def _document_counts(self, terms: tuple[str, ...]) -> dict[str, int]:
        """All in one pass over the papers that contain any of them."""
        counts = [
            func.count().filter(SEARCH_VECTOR.op("@@")(_tsquery((), (term,)))) for term in terms
        ]
        where = _searchable(self.papers, _tsquery((), terms), Filters())
        with self._session() as session:
            row = session.execute(select(*counts).select_from(Paper).where(*where)).one()
        return {term: int(count) for term, count in zip(terms, row, strict=True)}

    def _matching_ids(self, phrases: Phrases, filters: Filters) -> np.ndarray:
        query = select(Paper.id).where(*_searchable(self.papers, _tsquery(phrases, ()), filters))
        with self._session() as session:
            return np.sort(fetch_ids(session, query))

    @contextlib.contextmanager
    def _session(self) -> Iterator[Session]:
        """A session whose queries find their papers through the GIN index. The planner
        prices matching a tsvector like a cheap comparison and scans the table when many
        papers match, which measured two to three times slower (bench/keyword.py)."""
        with self.sessions() as session:
            session.execute(text("SET LOCAL enable_seqscan = off"))
            yield session


def _term_rank(vector, tsquery):
    weights = literal_column("'{" + ",".join(map(str, RANK_WEIGHTS)) + "}'::real[]")  # constants
    return func.ts_rank(weights, vector, tsquery, RANK_NORMALIZATION)


def _tsquery(phrases: Phrases, terms: tuple[str, ...]):
    """Every phrase, and any of the words: ``phraseto(a b) && (plainto(c) || plainto(d))``."""
    parts = [func.phraseto_tsquery(CONFIG, " ".join(words)) for words in phrases]
    if terms:
        words = [func.plainto_tsquery(CONFIG, term) for term in terms]
        parts.append(functools.reduce(lambda a, b: a.op("||")(b), words))
    return functools.reduce(lambda a, b: a.op("&&")(b), parts)


def _searchable(papers: Papers, tsquery, filters: Filters) -> list:
    return [*papers.searchable(), SEARCH_VECTOR.op("@@")(tsquery),
            *filter_conditions(filters, "postgresql")]  # fmt: skip
