"""Hybrid ranking: the semantic and keyword rankings fused into one.

A weighted sum of min-max normalised scores over each ranking's top
FUSION_DEPTH, chosen over reciprocal rank fusion by ``bench/fusion.py`` (the
docs/search.md has its numbers). The semantic weight grows with the query's
length: BM25 ORs the words of a query, so the longer the query, the more papers
match some of its words by chance and the less its ranking says, while the
encoder reads a long query as one text. Fixed weights (0.4 semantic) let
BM25 pull a collection of long queries 10% below semantic search alone.

"Quoted phrases" boost the hybrid ranking rather than filter it: ``bench/phrases.py``
quoted a pair of each query's own words (at least 10 papers containing it) and found
that keeping only the papers that contain it cost 30 to 42% of nDCG@10 on SciFact
train and Cranfield (relevant papers often say it otherwise), while adding
PHRASE_BOOST to their fused score never cost anything (worst case 1.000 × unquoted,
best 1.005); larger boosts cost up to 15%.
"""

from __future__ import annotations

FUSION_DEPTH = 100  # candidates taken from each ranking
# The semantic weight: 0.45 for a query of 9 words (after stopwords), 0.02 more for
# each word more, within [0.3, 0.85]: measured on SciFact train (9.4 words a query on
# average) and Cranfield (10.5) by bench/fusion.py.
SEMANTIC_WEIGHT = 0.45
TYPICAL_TERMS = 9
WEIGHT_PER_TERM = 0.02
WEIGHT_RANGE = (0.3, 0.85)
PHRASE_BOOST = 0.05  # added to the fused score of papers that contain the quoted phrases


def semantic_weight(terms: int) -> float:
    """The semantic score's weight for a query of ``terms`` words (after stopwords)."""
    low, high = WEIGHT_RANGE
    return min(high, max(low, SEMANTIC_WEIGHT + WEIGHT_PER_TERM * (terms - TYPICAL_TERMS)))


def fuse_scores(
    semantic: list[tuple[int, float]], keyword: list[tuple[int, float]], terms: int
) -> list[tuple[int, float, float | None]]:
    """Hybrid ranking from (id, distance) and (id, BM25) lists for a query of ``terms``
    words: (id, score, distance or None), best first.

    score = w · s + (1 − w) · b, where w = :func:`semantic_weight` and s and b are the
    paper's semantic closeness (from its distance) and BM25 score, each min-max
    normalised over this query's candidates to [0, 1]; a paper missing from one
    list gets 0 there.
    """
    weight = semantic_weight(terms)
    closeness = _min_max({i: -d for i, d in semantic})
    bm25 = _min_max(dict(keyword))
    scores = {
        i: weight * closeness.get(i, 0.0) + (1 - weight) * bm25.get(i, 0.0)
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


def boost_phrases(
    ranked: list[tuple[int, float, float | None]], containing: set[int]
) -> list[tuple[int, float, float | None]]:
    """A fused ranking with PHRASE_BOOST added for the papers that contain the query's
    quoted phrases (``containing``), re-sorted."""
    boosted = [(i, s + PHRASE_BOOST if i in containing else s, d) for i, s, d in ranked]
    return sorted(boosted, key=lambda row: (-row[1], row[0]))
