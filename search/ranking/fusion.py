"""Hybrid ranking: the semantic and keyword rankings fused into one.

A weighted sum of min-max normalised scores over each ranking's top
FUSION_DEPTH, chosen over reciprocal rank fusion by ``bench/fusion.py``. The
semantic weight grows with the query's length: BM25 ORs the words of a query, so
the longer the query, the more papers match some of its words by chance and the
less its ranking says, while the encoder reads a long query as one text; fixed
weights let BM25 pull a collection of long queries below semantic search alone.

"Quoted phrases" boost the hybrid ranking rather than filter it: keeping only the
papers that contain a phrase costs much of the ranking's quality (relevant papers
often say it otherwise), a small boost almost none (``bench/phrases.py``). The
numbers are in docs/search.md and docs/benchmarks.md.
"""

from __future__ import annotations

FUSION_DEPTH = 100  # candidates taken from each ranking
# The semantic weight: SEMANTIC_WEIGHT for a query of TYPICAL_TERMS words (after
# stopwords), WEIGHT_PER_TERM more for each word more, within WEIGHT_RANGE: tuned on
# SciFact train and Cranfield by bench/fusion.py.
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
    semantic: list[tuple[int, float]],
    keyword: list[tuple[int, float]],
    weight: float,
    containing: set[int] | frozenset[int] = frozenset(),
) -> list[tuple[int, float, float | None]]:
    """Hybrid ranking from (id, distance) and (id, BM25) lists, best first, with the
    semantic score's ``weight`` (:func:`semantic_weight` of the query's words): (id, score,
    distance or None), one total order however deep the lists.

    The head: the papers in either list's top FUSION_DEPTH, scored
    w · s + (1 − w) · b, where w is ``weight`` and s and b are the paper's
    semantic closeness (from its distance) and BM25 score, each min-max normalised over
    that top to [0, 1]; a paper missing from one top gets 0 there. Papers that contain
    the query's quoted phrases (``containing``) gain PHRASE_BOOST.

    The tail, for pages past the head: the rest of the (deeper) lists, scored on the
    head's scales, so at most 0; a paper missing from a list takes that list's last
    value. There the papers without the phrases lose PHRASE_BOOST instead, which orders
    them the same and keeps every tail score at or below every head score. The head
    depends only on the lists' tops, so the deeper lists that later pages fetch leave
    the first pages as they were.
    """
    closeness, bm25 = _Scale([(i, -d) for i, d in semantic]), _Scale(keyword)
    head = closeness.head.keys() | bm25.head.keys()
    scores = {
        i: weight * closeness.head.get(i, 0.0) + (1 - weight) * bm25.head.get(i, 0.0)
        + (PHRASE_BOOST if i in containing else 0.0)
        for i in head
    }  # fmt: skip
    tail = {
        i: weight * closeness.tail(i) + (1 - weight) * bm25.tail(i)
        - (PHRASE_BOOST if containing and i not in containing else 0.0)
        for i in (closeness.ids | bm25.ids) - head
    }  # fmt: skip
    distance = dict(semantic)
    order = sorted(scores, key=lambda i: (-scores[i], i))
    order += sorted(tail, key=lambda i: (-tail[i], i))
    scores.update(tail)
    return [(i, scores[i], distance.get(i)) for i in order]


class _Scale:
    """One ranking's (id, value) list, higher better, normalised by its top FUSION_DEPTH:
    ``head`` maps those ids to [0, 1]; ``tail(i)`` is any other paper's value on the same
    scale (at most 0), a paper the list does not hold taking its last value."""

    def __init__(self, ranked: list[tuple[int, float]]) -> None:
        top = ranked[:FUSION_DEPTH]
        self.values = dict(ranked)
        self.ids = self.values.keys()
        self.low = min((v for _, v in top), default=0.0)
        high = max((v for _, v in top), default=0.0)
        self.span = high - self.low
        self.last = ranked[-1][1] if ranked else self.low
        if self.span > 0:
            self.head = {i: (v - self.low) / self.span for i, v in top}
        else:  # one value: every paper of the top is as good as the best
            self.head = dict.fromkeys((i for i, _ in top), 1.0)

    def tail(self, paper_id: int) -> float:
        value = min(self.values.get(paper_id, self.last), self.low)
        return (value - self.low) / (self.span or 1.0)
