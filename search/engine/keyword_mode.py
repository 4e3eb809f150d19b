"""Keyword mode: a plan's keyword ranking, as the engine answers it and bench/keyword.py
scores it (one function, so that the benchmark measures what users get)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from search.keyword_index import KeywordIndex
from search.query.filter_keys import looks_like_a_name
from search.query.filters import Filters
from search.query.keywords import KeywordQuery
from search.query.plan import SearchPlan


@dataclass(frozen=True)
class KeywordRanking:
    """(id, BM25 score) best first, how many papers match, the query as searched (without
    its quotes when they were dropped) and the notice that says so."""

    matches: list[tuple[int, float]]
    total: int
    keywords: KeywordQuery
    notice: str | None = None


def rank_by_keywords(index: KeywordIndex, plan: SearchPlan) -> KeywordRanking:
    """The plan's papers by BM25. Quoted phrases are musts, unless fewer than ``k`` papers
    match with them; a query that is an author's name puts that author's papers first."""
    keywords, depth, filters = plan.keywords, plan.depth, plan.filters
    notice = None
    matches, total = index.rank(keywords, depth, filters)
    if keywords.phrases and total < plan.k:  # too few for a page: the quotes are dropped
        notice = keywords.phrases_notice(total)
        keywords = keywords.without_quotes()
        matches, total = index.rank(keywords, depth, filters)
    matches = authors_first(index, plan.query, keywords, depth, filters, matches)
    return KeywordRanking(matches, total, keywords, notice)


def authors_first(
    index: KeywordIndex,
    query: str,
    keywords: KeywordQuery,
    depth: int,
    filters: Filters,
    matches: list[tuple[int, float]],
) -> list[tuple[int, float]]:
    """A keyword query that is an author's name ("Hao Chen", "Chen, Hao", "H. Chen"):
    that author's papers first, by BM25 among themselves, then the rest. BM25 alone
    would let "Guohao Chen" or an abstract citing Chen rank above them.

    Only queries written as names are looked up (``looks_like_a_name``): looking a name
    up costs a scan of the authors on SQLite, which topic queries ("graph neural
    networks") must not pay, a one-word query is never taken for a surname, and a
    request written as a sentence is longer than any name."""
    if keywords.phrases or filters.authors or not looks_like_a_name(query):
        return matches
    first, _ = index.rank(keywords, depth, replace(filters, authors=(query,)))
    if not first:
        return matches
    ids = {paper_id for paper_id, _ in first}
    return (first + [m for m in matches if m[0] not in ids])[:depth]
