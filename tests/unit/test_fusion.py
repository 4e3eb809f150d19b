"""search.ranking.fusion on its own: standardised scores, one total order, the phrase
boost."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from search.ranking.fusion import FUSION_DEPTH, PHRASE_BOOST, SEMANTIC_WEIGHT, fuse_scores


def test_scores_are_standardised_then_the_head_scaled_to_one():
    """Each ranking's scores become z-scores over its top (a paper missing from a top
    takes its lowest), w · s + (1 − w) · b, then the head spans [0, 1]."""
    semantic = [(1, 0.5), (2, 0.7), (3, 0.9)]  # distances: lower is closer
    keyword = [(3, 9.0), (4, 5.0)]  # BM25: higher is better
    z_sem = {1: 1.2247449, 2: 0.0, 3: -1.2247449}  # -distance standardised
    z_kw = {3: 1.0, 4: -1.0}
    w = SEMANTIC_WEIGHT
    raw = {i: w * z_sem.get(i, min(z_sem.values())) + (1 - w) * z_kw.get(i, -1.0)
           for i in (1, 2, 3, 4)}  # fmt: skip
    low, high = min(raw.values()), max(raw.values())
    fused = fuse_scores(semantic, keyword)
    assert {i: s for i, s, _ in fused} == pytest.approx(
        {i: (v - low) / (high - low) for i, v in raw.items()}
    )
    assert [i for i, _, _ in fused] == sorted(raw, key=lambda i: -raw[i])
    assert {i: d for i, _, d in fused} == {1: 0.5, 2: 0.7, 3: 0.9, 4: None}
    assert fused[0][1] == pytest.approx(1.0) and fused[-1][1] == pytest.approx(0.0)


def test_a_keyword_top_that_stands_out_outweighs_the_semantic_one():
    """Paper 12 leads the keyword ranking and is sixth by meaning: a narrow lead over
    paper 1, the closest by meaning, is not enough, one far ahead of every other is."""
    semantic = [
        (i, 0.50 + 0.01 * rank) for rank, i in enumerate([1, 2, 3, 4, 5, 12, *range(6, 12)])
    ]
    narrow = [(12, 10.0)] + [(i, 10.0 - 0.2 * rank) for rank, i in enumerate(range(1, 12), 1)]
    far_ahead = [(12, 40.0)] + [(i, 1.0) for i in range(1, 12)]
    for weight in (0.5, SEMANTIC_WEIGHT, 0.6, 0.7):
        assert fuse_scores(semantic, narrow, weight)[0][0] == 1
        assert fuse_scores(semantic, far_ahead, weight)[0][0] == 12
    assert [i for i, _, _ in fuse_scores([(7, 1.0)], [], 0.3)] == [7]
    assert [i for i, _, _ in fuse_scores([], [(7, 2.0), (8, 2.0)], 0.3)] == [7, 8]


rankings = st.lists(st.integers(1, 400), unique=True, max_size=250)


@given(rankings, rankings, st.floats(0.0, 1.0), st.sets(st.integers(1, 400), max_size=40))
def test_every_paper_once_in_one_order_with_the_head_above_the_tail(sem, kw, weight, phrases):
    semantic = [(i, float(rank) ** 1.5) for rank, i in enumerate(sem)]  # distances grow
    keyword = [(i, float(len(kw) - rank)) for rank, i in enumerate(kw)]  # BM25 falls
    fused = fuse_scores(semantic, keyword, weight, frozenset(phrases))
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
