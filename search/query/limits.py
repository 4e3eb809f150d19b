"""What a search request may ask: its modes, its sorts and the bounds on its sizes. The
engine enforces them; the OpenAPI document and the pages read them from here."""

from __future__ import annotations

from search.base.errors import InvalidRequest

MAX_K = 100
MAX_OFFSET = 1000
MAX_QUERY_CHARS = 2000
MAX_EXAMPLE_CHARS = 20_000  # a title and abstract pasted as a query
MAX_RECOMMENDATION_IDS = 100  # positive and negative together
DEEPEST_RANK = MAX_OFFSET + MAX_K  # the last rank a page can show
# Every page up to the deepest one is cut from one ranking (see VectorIndex.search).
RANKING_DEPTH = DEEPEST_RANK + MAX_RECOMMENDATION_IDS

# sort=date and sort=citations reorder a pool of the ranking: in semantic and hybrid modes
# (where every paper is ranked) the most relevant this many; in keyword mode, the matches
# as deep as pages go.
SORT_POOL = 100
SORT_POOL_KEYWORD = DEEPEST_RANK

MODES = ("semantic", "keyword", "hybrid")
# Hybrid ranks best on every collection measured (bench/fusion.py), and the keyword index
# keeps it fast at scale (bench/scale.py): the mode when none is asked for.
DEFAULT_MODE = "hybrid"
# sort=: the ranking; or the same matches newest first, or most cited first
SORTS = ("relevance", "date", "citations")


def check_query(query: str | None, mode: str, sort: str) -> str:
    """The query with its whitespace collapsed, if it, its mode and its sort are usable."""
    query = not_empty(" ".join((query or "").split()))
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidRequest(
            f"The query is longer than {MAX_QUERY_CHARS} characters.", "query_too_long"
        )
    if mode not in MODES:
        raise InvalidRequest(f"mode must be one of {', '.join(MODES)}, not {mode[:40]!r}.")
    if sort not in SORTS:
        raise InvalidRequest(f"sort must be one of {', '.join(SORTS)}, not {sort[:40]!r}.")
    return query


def not_empty(query: str) -> str:
    """``query``, or ``empty_query`` (400) when there is nothing in it to search for."""
    if not query:
        raise InvalidRequest("The query is empty.", "empty_query")
    return query


def check_page(k: int, offset: int) -> None:
    if not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise InvalidRequest(f"k must be an integer from 1 to {MAX_K}.", "out_of_range")
    if not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET:
        raise InvalidRequest(f"offset must be an integer from 0 to {MAX_OFFSET}.", "out_of_range")
