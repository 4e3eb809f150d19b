"""search.ranking.fusion on its own: weights, one total order, the phrase boost."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from search.ranking.fusion import (
    FUSION_DEPTH,
    PHRASE_BOOST,
    WEIGHT_RANGE,
    fuse_scores,
    semantic_weight,
)


def test_the_semantic_weight_grows_with_the_query_and_stays_in_range():
    weights = [semantic_weight(terms) for terms in range(0, 60)]
    assert weights == sorted(weights)
    assert min(weights) == WEIGHT_RANGE[0] and max(weights) == WEIGHT_RANGE[1]


rankings = st.lists(st.integers(1, 400), unique=True, max_size=250)


@given(rankings, rankings, st.integers(1, 30), st.sets(st.integers(1, 400), max_size=40))
def test_every_paper_once_in_one_order_with_the_head_above_the_tail(sem, kw, terms, phrases):
    semantic = [(i, float(rank)) for rank, i in enumerate(sem)]  # distances grow
    keyword = [(i, float(len(kw) - rank)) for rank, i in enumerate(kw)]  # BM25 falls
    fused = fuse_scores(semantic, keyword, semantic_weight(terms), frozenset(phrases))
    ids = [i for i, _, _ in fused]
    assert len(ids) == len(set(ids)) == len(set(sem) | set(kw))
    scores = [score for _, score, _ in fused]
    assert scores == sorted(scores, reverse=True)
    head = set(sem[:FUSION_DEPTH]) | set(kw[:FUSION_DEPTH])
    assert set(ids[: len(head)]) == head  # the tops first, then the rest
    assert all(score <= 0 for i, score, _ in fused if i not in head)
    distances = dict(semantic)
    assert all(d == distances.get(i) for i, _, d in fused)


def test_a_phrase_lifts_a_paper_by_the_boost():
    semantic = [(1, 0.1), (2, 0.2), (3, 0.3)]
    keyword = [(3, 9.0), (2, 5.0), (1, 1.0)]
    plain = {i: s for i, s, _ in fuse_scores(semantic, keyword, 0.4)}
    boosted = {i: s for i, s, _ in fuse_scores(semantic, keyword, 0.4, frozenset({2}))}
    assert boosted[2] - plain[2] == pytest.approx(PHRASE_BOOST) and boosted[1] == plain[1]
