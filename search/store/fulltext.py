"""Keyword ranking: BM25 over the papers' title, abstract and authors (SQLite FTS5).

The index is the FTS5 table that migration 0003 made: external content over
``papers``, kept in step by triggers, holding only searchable papers, with
Porter stemming. Queries arrive parsed (``search.keywords``), so no user text
is ever FTS5 syntax. Ranking skips the words that most papers contain, when
the query has rarer ones: they barely move BM25 but cost most of its time.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

import numpy as np
from sqlalchemy import Integer, column, func, literal_column, select, table
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from search.errors import FulltextUnavailable
from search.filters import Filters
from search.keywords import KeywordQuery, quote_fts
from search.schema import Paper
from search.store.papers import Papers, fetch_ids, filter_conditions, require_sqlite

# The FTS5 table made by migration 0003 (external content over ``papers``).
FTS = table("papers_fts", column("rowid", Integer))
# bm25() column weights: title, abstract, authors. Equal (not tuned: SciFact has no authors).
BM25_WEIGHTS = (1.0, 1.0, 1.0)
# A word in more than this share of the papers is skipped when the query has rarer ones.
COMMON_TERM_SHARE = 0.2


class FullText:
    """BM25 ranking and phrase matching. Word counts and phrase id sets are cached for the
    life of this object (servers open a fresh store for each index build)."""

    def __init__(self, sessions: sessionmaker[Session], papers: Papers) -> None:
        self.sessions = sessions
        self.papers = papers
        self.document_count = functools.lru_cache(maxsize=65_536)(self._document_count)
        self.matching_ids = functools.lru_cache(maxsize=64)(self._matching_ids)

    def rank(
        self, query: KeywordQuery, limit: int, filters: Filters
    ) -> tuple[list[tuple[int, float]], int]:
        """BM25 ranking of ``query``: ([(id, score)] best first, how many papers match).

        The score is SQLite's bm25() negated, so that higher is better. The
        full-text index holds only searchable papers, so without filters the
        papers table is not touched (a join costs as much as the ranking).
        """
        require_sqlite(self.sessions, "Keyword search")
        match = self.informative(query).match
        rank = func.bm25(literal_column("papers_fts"), *BM25_WEIGHTS)
        source, where = FTS, [_fts_match(match)]
        if filters.active:
            source = FTS.join(Paper, Paper.id == FTS.c.rowid)
            where += filter_conditions(filters)
        with self.sessions() as session, _fulltext_errors():
            rows = session.execute(
                select(FTS.c.rowid, rank.label("rank"))
                .select_from(source)
                .where(*where)
                .order_by(rank, FTS.c.rowid)
                .limit(limit)
            ).all()
            total = session.scalar(select(func.count()).select_from(source).where(*where))
        return [(paper_id, -float(score)) for paper_id, score in rows], int(total or 0)

    def informative(self, query: KeywordQuery) -> KeywordQuery:
        """``query`` without the words that more than COMMON_TERM_SHARE of the papers
        contain, when it has rarer ones (one word alone is always kept)."""
        if len(query.terms) < 2:
            return query
        counts = {term: self.document_count(term) for term in query.terms}
        limit = COMMON_TERM_SHARE * self._searchable
        kept = tuple(term for term in query.terms if counts[term] <= limit)
        return query.with_terms(kept or (min(query.terms, key=counts.__getitem__),))

    @functools.cached_property
    def _searchable(self) -> int:
        return self.papers.count()

    def _document_count(self, term: str) -> int:
        """How many searchable papers contain ``term`` (after the index's stemming)."""
        require_sqlite(self.sessions, "Keyword search")
        query = select(func.count()).select_from(FTS).where(_fts_match(quote_fts(term)))
        with self.sessions() as session, _fulltext_errors():
            return int(session.scalar(query) or 0)

    def _matching_ids(self, match: str, filters: Filters) -> np.ndarray:
        """Sorted ids (int64) of the searchable papers that match the full-text expression
        ``match`` (quoted phrases, say) and satisfy ``filters``."""
        require_sqlite(self.sessions, "Keyword search")
        if not filters.active:  # the index holds only searchable papers
            query = select(FTS.c.rowid).where(_fts_match(match))
        else:
            query = (
                select(Paper.id)
                .join(FTS, FTS.c.rowid == Paper.id)
                .where(Paper.withdrawn_at.is_(None), _fts_match(match), *filter_conditions(filters))
            )
        with self.sessions() as session, _fulltext_errors():
            return np.sort(fetch_ids(session, query))


def _fts_match(match: str):
    return literal_column("papers_fts").op("MATCH")(match)


@contextlib.contextmanager
def _fulltext_errors() -> Iterator[None]:
    try:
        yield
    except OperationalError as exc:
        if "papers_fts" in str(exc) or "no such module" in str(exc):
            raise FulltextUnavailable(
                "Keyword search needs the full-text index, which exists only in SQLite "
                "databases at schema 0003 or later (papersearch db upgrade)."
            ) from exc
        raise
