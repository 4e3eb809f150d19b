"""What a search asks, parsed and checked before any index is touched: filters, the
keyword query, filter keys, paper references and the bounds on every request."""

from __future__ import annotations

from search.query.filters import Filters
from search.query.keywords import KeywordQuery, parse_keywords
from search.query.limits import DEFAULT_MODE, MODES, SORTS
from search.query.paper_refs import paper_ref

__all__ = [
    "DEFAULT_MODE",
    "Filters",
    "KeywordQuery",
    "MODES",
    "SORTS",
    "paper_ref",
    "parse_keywords",
]
