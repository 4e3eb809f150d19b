"""Every page of every ranking is cut from one total order.

A reader paging through results (the pages' "Next", a script walking ``offset``)
must never see a paper twice, miss one, or see scores go up. This walks every mode,
sort and filter to the deepest offset the API allows, over more papers than the
deepest page reaches, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from indexer.pipeline import index_corpus
from search.engine.engine import SearchEngine
from search.query.filters import Filters
from search.query.limits import DEEPEST_RANK, MAX_K, MAX_OFFSET, MODES, SORTS
from tests.corpus import corpus_rows, write_corpus
from tests.helpers import settings_on

SHARD_COUNTS = (1, 3)  # the engines here are built in one shard and in three

N_PAPERS = DEEPEST_RANK + 200  # every page full, to the deepest
# Common words: keyword mode matches past the deepest page too.
QUERY = "a model of learning from data with networks, methods and results"
FILTERS = {
    "none": Filters(),
    "years": Filters.parse(year="2003-2016"),
    "category and venue": Filters.parse(category="cs,math,physics", venue="NeurIPS,Nature"),
    "author": Filters.parse(author="Wang;Zhang;Li;Chen;Liu"),
}


@pytest.fixture(scope="module")
def engine(tmp_path_factory, tiny_encoder, module_backend, postgres, shards):
    home = tmp_path_factory.mktemp("paging")
    settings = settings_on(module_backend, home / "data", postgres, f"paging{shards}",
                           shards=shards)  # fmt: skip
    corpus = write_corpus(home / "corpus.jsonl", corpus_rows(N_PAPERS))
    index_corpus(settings, [corpus], encoder=tiny_encoder)
    return SearchEngine.open(settings, encoder=tiny_encoder)


@pytest.fixture(scope="module")
def rankings(engine) -> dict:
    """Every (mode, sort, filters) ranking read page by page, each read once."""
    return {
        (mode, sort, name): every_page(engine, mode, sort, filters)
        for mode in MODES
        for sort in SORTS
        for name, filters in FILTERS.items()
    }


def every_page(engine, mode: str, sort: str, filters: Filters, k: int = MAX_K) -> list:
    """The hits of every page from offset 0 to the deepest, in order."""
    hits = []
    for offset in range(0, MAX_OFFSET + 1, k):
        page = engine.search(QUERY, k=k, offset=offset, mode=mode, filters=filters, sort=sort)
        hits += page.results
    return hits


def in_order(hits, sort: str) -> bool:
    if sort == "date":
        keys = [(h.year or 0, h.date or "") for h in hits]
    else:
        keys = [h.score for h in hits]
    return all(a >= b for a, b in zip(keys, keys[1:], strict=False))


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("mode", MODES)
def test_pages_never_repeat_a_paper_and_keep_scores_in_order(engine, rankings, mode, sort):
    for name, filters in FILTERS.items():
        hits = rankings[mode, sort, name]
        ids = [h.id for h in hits]
        assert len(ids) == len(set(ids)), f"{mode}, {sort}, {name}: a paper twice"
        assert in_order(hits, sort), f"{mode}, {sort}, {name}: out of order"
        first = engine.search(QUERY, k=MAX_K, mode=mode, filters=filters, sort=sort)
        expected = min(first.total, DEEPEST_RANK)
        assert len(ids) == expected, f"{mode}, {sort}, {name}: {len(ids)} of {expected}"
    # The unfiltered rankings reach the deepest page.
    if sort == "relevance":
        assert len(rankings[mode, sort, "none"]) == DEEPEST_RANK


@hypothesis_settings(max_examples=40, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    mode=st.sampled_from(MODES),
    sort=st.sampled_from(SORTS),
    filters=st.sampled_from(sorted(FILTERS)),
    k=st.integers(1, MAX_K),
    offset=st.integers(0, MAX_OFFSET),
)
def test_any_page_is_the_same_slice_of_one_ranking(
    engine, rankings, mode, sort, filters, k, offset
):
    """A page of any size at any offset is that slice of the ranking read 100 at a time."""
    whole = [h.id for h in rankings[mode, sort, filters]]
    page = engine.search(QUERY, k=k, offset=offset, mode=mode, filters=FILTERS[filters],
                         sort=sort)  # fmt: skip
    assert [h.id for h in page.results] == whole[offset : offset + k]
