"""Filters (year, venue, category, author) on every kind of search, their property
test against an independent reading of their meaning, and their errors.

The corpus is tests.corpus's 800 sample papers, indexed once per session on each store
(the ``engine`` and ``papers`` fixtures in conftest.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from search.query.filters import FilterError, Filters, parse_year_range
from tests.corpus import (
    N_PAPERS,
    RARE_VENUE,
    filter_strategy,
    satisfies,
)

SHARD_COUNTS = (1, 3)  # the engines here are built in one shard and in three


def test_filtered_search_keeps_only_matches_and_returns_k_when_k_match(engine, papers):
    @hypothesis_settings(
        max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    @given(filters=filter_strategy(papers), k=st.integers(1, 30),
           mode=st.sampled_from(["semantic", "hybrid", "keyword"]))  # fmt: skip
    def check(filters, k, mode):
        matching = [p for p in papers if satisfies(p, filters)]
        result = engine.search("neural networks for images", k=k, mode=mode, filters=filters)
        by_id = {p.id: p for p in papers}
        assert all(satisfies(by_id[hit.id], filters) for hit in result.results)
        assert len({hit.id for hit in result.results}) == len(result.results)
        if mode == "semantic":
            assert len(result.results) == min(k, len(matching))
            assert result.total == len(matching)
        elif mode == "hybrid":  # the semantic half alone fills the page
            assert len(result.results) == min(k, len(matching))

    check()


def test_the_database_and_the_keyword_index_select_the_same_papers(engine, papers):
    """One key per filter, used by both paths: semantic search filters in SQL, keyword and
    hybrid in the build's keyword index, and for any filter, non-ASCII venues typed in any
    case among them, they select the same papers as the filters' meaning does."""

    @hypothesis_settings(max_examples=80, deadline=None, database=None,
                         suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(filters=filter_strategy(papers))
    def check(filters):
        by_sql = engine.store.papers.matching_ids(filters).tolist()
        by_keywords = engine.keywords.containing((), filters).tolist()
        meant = sorted(p.id for p in papers if satisfies(p, filters))
        assert by_sql == by_keywords == meant

    check()
    accented = Filters.parse(venue="ÉTUDES  économiques")
    assert len(engine.store.papers.matching_ids(accented)) > 0


def test_a_one_percent_filter_on_the_ivf_index_still_returns_k(engine):
    rare = Filters.parse(venue=RARE_VENUE)
    for k in (1, 5, 8, 20):
        result = engine.search("protein folding", k=k, filters=rare)
        assert len(result.results) == min(k, 8)
        assert {hit.venue for hit in result.results} == {RARE_VENUE}
    # The ranking among the allowed papers is the exact one (every allowed paper is scanned).
    allowed = engine.store.papers.matching_ids(rare)
    vector = engine.encoder.encode_query("protein folding")
    stored = np.stack([engine.store.vectors.get(int(i), engine.build.model_key) for i in allowed])
    exact = allowed[np.argsort(((stored - vector) ** 2).sum(axis=1))]
    got = [hit.id for hit in engine.search("protein folding", k=8, filters=rare).results]
    assert got == exact.tolist()


def test_filters_apply_to_similar_by_example_and_recommendations(engine):
    rare = Filters.parse(venue=RARE_VENUE)
    some = engine.search("graph", k=2).results
    for result in (
        engine.similar(some[0].id, k=5, filters=rare),
        engine.search_by_example("Graph networks", "An abstract.", k=5, filters=rare),
        engine.recommendations.recommend([some[0].id], [some[1].id], k=5, filters=rare),
    ):
        assert result.results and {hit.venue for hit in result.results} == {RARE_VENUE}


def test_year_ranges_and_filter_errors():
    assert parse_year_range("2019") == (2019, 2019)
    assert parse_year_range("2019-2021") == (2019, 2021)
    assert parse_year_range("2020-") == (2020, None)
    assert parse_year_range(" -2015 ") == (None, 2015)
    assert parse_year_range("") == (None, None)
    for bad in ("20", "2021-2019", "x", "2019-2020-2021", "-", "0999"):
        with pytest.raises(FilterError):
            parse_year_range(bad)
    assert Filters.parse(year="2020-", venue=" A ,B,,A").to_params() == {
        "year": "2020-",
        "venue": "A,B",
    }
    with pytest.raises(FilterError, match="at most"):
        Filters.parse(author=";".join(f"name{i}" for i in range(30)))
    assert not Filters.parse().active and Filters.parse(year="2020").active


def test_filter_values_are_data_not_sql(engine):
    """Quotes, LIKE wildcards and SQL in filter values select nothing they should not."""
    for hostile in ("' OR 1=1 --", "%", "_", "\\", '"); DROP TABLE papers; --'):
        result = engine.search("graph", k=10, filters=Filters.parse(author=hostile, venue=hostile))
        assert result.results == [] and result.total == 0
    assert engine.store.papers.count() == N_PAPERS
