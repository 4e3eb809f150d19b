"""A search request checked once, into the plan that every ranking mode follows."""

from __future__ import annotations

from dataclasses import dataclass

from search.base.errors import InvalidRequest
from search.query.filters import Filters
from search.query.keywords import KeywordQuery, parse_keywords
from search.query.limits import SORT_POOL, SORT_POOL_KEYWORD, check_page, check_query


@dataclass(frozen=True)
class SearchPlan:
    """A search request, checked once: what every mode ranks from."""

    query: str  # whitespace collapsed
    keywords: KeywordQuery
    k: int
    offset: int
    mode: str
    filters: Filters
    sort: str
    depth: int  # how deep the ranking is read: the page's end, or the sort's pool

    @classmethod
    def of(cls, query: str, k: int, offset: int, mode: str, filters: Filters | None,
           sort: str) -> SearchPlan:  # fmt: skip
        """The plan, or InvalidRequest: an empty or over-long query, an unknown mode or
        sort, a page out of range, or no words for the keyword ranking the mode needs."""
        query = check_query(query, mode, sort)
        check_page(k, offset)
        keywords = parse_keywords(query)
        if mode == "keyword" and keywords.empty or mode == "hybrid" and not keywords.typed:
            raise InvalidRequest(keywords.empty_message, "empty_query")
        depth = k + offset
        if sort != "relevance":  # the pool that is sorted by date or citations
            depth = SORT_POOL_KEYWORD if mode == "keyword" else SORT_POOL
        return cls(query, keywords, k, offset, mode, filters or Filters(), sort, depth)
