"""sort=date: the same matches newest first, read without a second pass over rows, and
the dates each reader keeps.

The corpus is tests.corpus's 800 sample papers, indexed once per session on each store
(the ``engine`` and ``papers`` fixtures in conftest.py).
"""

from __future__ import annotations

import pytest

from search.base.errors import InvalidRequest
from search.query.filters import Filters

SHARD_COUNTS = (1, 3)  # the engines here are built in one shard and in three


@pytest.mark.parametrize("mode", ["semantic", "keyword", "hybrid"])
def test_sort_by_date_gives_the_same_matches_newest_first(engine, papers, mode):
    by_id = {p.id: p for p in papers}

    def key(paper_id: int) -> tuple[int, str]:
        return by_id[paper_id].year or 0, by_id[paper_id].date or ""

    query = "neural networks for images"
    newest = engine.search(query, k=30, mode=mode, sort="date")
    ids = [hit.id for hit in newest.results]
    assert newest.sort == "date" and len(ids) == 30
    assert [key(i) for i in ids] == sorted((key(i) for i in ids), reverse=True)
    assert all(hit.date == by_id[hit.id].date for hit in newest.results)
    if mode == "keyword":  # every match, newest first
        from search.query.keywords import parse_keywords

        matches, total = engine.keywords.rank(parse_keywords(query), 1000, Filters())
        assert newest.total == total
        expected = sorted((key(i) for i, _ in matches), reverse=True)[:30]
    else:  # the 100 most relevant, newest first
        pool = engine.search(query, k=100, mode=mode)
        assert newest.total == 100 and set(ids) <= {hit.id for hit in pool.results}
        expected = sorted((key(hit.id) for hit in pool.results), reverse=True)[:30]
    assert [key(i) for i in ids] == expected
    page2 = engine.search(query, k=30, offset=30, mode=mode, sort="date")
    assert not {hit.id for hit in page2.results} & set(ids)
    assert key(page2.results[0].id) <= key(ids[-1])
    with pytest.raises(InvalidRequest, match="sort must be one of relevance, date"):
        engine.search(query, sort="newest")


def test_dates_are_read_from_each_layout_and_never_reject_a_paper():
    from indexer.fields import date_of
    from indexer.readers import from_arxiv, from_kaggle_arxiv, from_s2

    assert date_of("2025-03-14") == "2025-03-14"
    assert date_of("2024-01-05T10:00:00Z") == "2024-01-05"
    assert date_of("Mon, 2 Apr 2007 19:18:42 GMT") == "2007-04-02"
    assert [date_of(v) for v in ("2025-02-30", "soon", 20250314, None, "")] == [None] * 5
    arxiv = from_arxiv({"id": "2501.00001", "title": "T", "listing_date": "2025-01-02"})
    assert (arxiv.year, arxiv.date) == (2025, "2025-01-02")
    assert from_arxiv({"id": "2501.00001", "title": "T", "listing_date": "bad"}).date is None
    first = {"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"}
    kaggle = from_kaggle_arxiv({"id": "0704.0001", "title": "T", "versions": [first]})
    assert (kaggle.year, kaggle.date) == (2007, "2007-04-02")
    s2 = from_s2({"corpus_id": 5, "title": "T", "year": 2020, "publicationDate": "2020-06-30"})
    assert s2.date == "2020-06-30"
    dateless = from_arxiv({"id": "2501.00001", "title": "T"})
    assert (
        dateless.date is None
        and dateless.content_hash == from_arxiv({"id": "2501.00001", "title": "T"}).content_hash
    )


@pytest.mark.parametrize("mode", ["semantic", "hybrid"])
def test_sort_by_date_reads_only_the_page_rows(engine, mode):
    """Recency is read once a build; after that a date-sorted page reads the papers table
    once, for the page's rows (the relevance order reads none)."""
    from sqlalchemy import event

    query = "graph neural networks"
    engine.search(query, k=10, mode=mode, sort="date")  # reads recency, once a build
    statements: list[str] = []

    def seen(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    bind = engine.store.sessions.kw["bind"]
    event.listen(bind, "before_cursor_execute", seen)
    try:
        result = engine.search(query, k=10, offset=20, mode=mode, sort="date")
    finally:
        event.remove(bind, "before_cursor_execute", seen)
    on_papers = [s for s in statements if "FROM papers" in s]
    assert len(result.results) == 10 and len(on_papers) == 1, on_papers
    assert "papers.year" not in on_papers[0].split("WHERE")[1]  # the page, by id
