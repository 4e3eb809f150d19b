"""Hybrid ranking: the semantic and keyword rankings fused into one.

A weighted sum of min-max normalised scores over each ranking's top
FUSION_DEPTH, chosen over reciprocal rank fusion by ``bench/fusion.py`` (the
docs/search.md has its numbers).
"""

from __future__ import annotations

FUSION_DEPTH = 100  # candidates taken from each ranking
SEMANTIC_WEIGHT = 0.4


def fuse_scores(
    semantic: list[tuple[int, float]], keyword: list[tuple[int, float]]
) -> list[tuple[int, float, float | None]]:
    """Hybrid ranking from (id, distance) and (id, BM25) lists: (id, score, distance or
    None), best first.

    score = SEMANTIC_WEIGHT · s + (1 − SEMANTIC_WEIGHT) · b, where s and b are the
    paper's semantic closeness (from its distance) and BM25 score, each min-max
    normalised over this query's candidates to [0, 1]; a paper missing from one
    list gets 0 there.
    """
    closeness = _min_max({i: -d for i, d in semantic})
    bm25 = _min_max(dict(keyword))
    scores = {
        i: SEMANTIC_WEIGHT * closeness.get(i, 0.0) + (1 - SEMANTIC_WEIGHT) * bm25.get(i, 0.0)
        for i in closeness.keys() | bm25.keys()
    }
    distance = dict(semantic)
    order = sorted(scores, key=lambda i: (-scores[i], i))
    return [(i, scores[i], distance.get(i)) for i in order]


def _min_max(values: dict[int, float]) -> dict[int, float]:
    if not values:
        return {}
    low, high = min(values.values()), max(values.values())
    if high == low:
        return dict.fromkeys(values, 1.0)
    return {i: (v - low) / (high - low) for i, v in values.items()}
