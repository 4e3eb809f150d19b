"""Keyword search on SQLite: FTS5 with BM25.

The index is the FTS5 table that migration 0003 made: external content over
``papers``, kept in step by triggers, holding only searchable papers, with
Porter stemming. Every word and phrase goes into the MATCH expression as a
quoted FTS5 string, so nothing a user types is FTS5 syntax.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
from sqlalchemy import Integer, column, func, literal_column, select, table
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from search.errors import FulltextUnavailable
from search.filters import Filters
from search.keywords import KeywordQuery, Phrases
from search.schema import Paper
from search.store.fulltext import FullText
from search.store.sql import fetch_ids, filter_conditions

# The FTS5 table made by migration 0003 (external content over ``papers``).
FTS = table("papers_fts", column("rowid", Integer))
# bm25() column weights: title, abstract, authors. Equal (not tuned: SciFact has no authors).
BM25_WEIGHTS = (1.0, 1.0, 1.0)


class SqliteFullText(FullText):
    """FTS5's BM25 (negated, so that higher is better)."""

    def _rank(
        self, query: KeywordQuery, limit: int, filters: Filters
    ) -> tuple[list[tuple[int, float]], int]:
        """Without filters the papers table is not touched: the full-text index holds only
        searchable papers, and a join costs as much as the ranking."""
        rank = func.bm25(literal_column("papers_fts"), *BM25_WEIGHTS)
        match = _matches(_match_expression(query.phrases, query.terms))
        with self.sessions() as session, _fulltext_errors():
            source, where = FTS, self._served(match, session)
            if filters.active:
                source = FTS.join(Paper, Paper.id == FTS.c.rowid)
                where = [match, *self.papers.searchable(), *filter_conditions(filters, "sqlite")]
            rows = session.execute(
                select(FTS.c.rowid, rank.label("rank"))
                .select_from(source)
                .where(*where)
                .order_by(rank, FTS.c.rowid)
                .limit(limit)
            ).all()
            total = session.scalar(select(func.count()).select_from(source).where(*where))
        return [(paper_id, -float(score)) for paper_id, score in rows], int(total or 0)

    def _document_counts(self, terms: tuple[str, ...]) -> dict[str, int]:
        """One lookup a word: each reads the word's posting list in the FTS5 index."""
        counts = {}
        with self.sessions() as session, _fulltext_errors():
            for term in terms:
                query = select(func.count()).select_from(FTS).where(_matches(quote_fts(term)))
                counts[term] = int(session.scalar(query) or 0)
        return counts

    def _matching_ids(self, phrases: Phrases, filters: Filters) -> np.ndarray:
        match = _matches(_match_expression(phrases, ()))
        with self.sessions() as session, _fulltext_errors():
            if not filters.active:
                query = select(FTS.c.rowid).where(*self._served(match, session))
            else:
                query = (
                    select(Paper.id)
                    .join(FTS, FTS.c.rowid == Paper.id)
                    .where(match, *self.papers.searchable(), *filter_conditions(filters, "sqlite"))
                )
            return np.sort(fetch_ids(session, query))

    def _served(self, match, session: Session) -> list:
        """Conditions for a query on the full-text index alone, which holds every paper not
        withdrawn: ``match``, less the papers the build served does not hold (a short list
        from an index on ``papers.first_build``; a join would cost as much as the ranking)."""
        unserved = self.papers.unserved_ids(session)
        return [match] if unserved is None else [match, FTS.c.rowid.not_in(unserved)]


def quote_fts(text: str) -> str:
    """``text`` as one FTS5 string (a word or phrase), never as query syntax."""
    return '"' + text.replace('"', '""') + '"'


def _match_expression(phrases: Phrases, terms: tuple[str, ...]) -> str:
    """Every phrase, and any of the words: ``"a b" AND ("c" OR "d")``."""
    parts = [quote_fts(" ".join(words)) for words in phrases]
    if terms:
        parts.append("(" + " OR ".join(quote_fts(term) for term in terms) + ")")
    return " AND ".join(parts)


def _matches(expression: str):
    return literal_column("papers_fts").op("MATCH")(expression)


@contextlib.contextmanager
def _fulltext_errors() -> Iterator[None]:
    try:
        yield
    except OperationalError as exc:
        if "papers_fts" in str(exc) or "no such module" in str(exc):
            raise FulltextUnavailable(
                "Keyword search needs the full-text index of schema 0003 or later "
                "(papersearch db upgrade)."
            ) from exc
        raise
