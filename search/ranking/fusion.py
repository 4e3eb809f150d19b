"""Hybrid ranking: the semantic and keyword rankings fused into one.

A weighted sum of the two rankings' scores, each standardised per query over its top
FUSION_DEPTH (a z-score: how many standard deviations a paper stands above that top's
mean), then scaled so that the fused head spans [0, 1]. Standardising lets a ranking
whose best papers stand out from the rest weigh more for that query, where min-max
scaling stretches every ranking's top to the same [0, 1] however flat it is. Chosen by
``bench/fusion.py`` on seven dev collections, short queries and long requests, over
min-max scaling (with fixed weights, or a semantic weight growing with the query's
length) and reciprocal rank fusion: it alone stays at or above both of its parts on
every one. A query's length did not say which ranking to trust: long requests rank
best by BM25 on one collection and by meaning on another.

"Quoted phrases" boost the hybrid ranking rather than filter it: keeping only the
papers that contain a phrase costs much of the ranking's quality (relevant papers
often say it otherwise), a small boost almost none (``bench/phrases.py``). The
numbers are in docs/search.md and docs/benchmarks.md.
"""

from __future__ import annotations

import statistics

FUSION_DEPTH = 100  # candidates taken from each ranking
SEMANTIC_WEIGHT = 0.45  # the semantic ranking's share of the fused score (bench/fusion.py)
PHRASE_BOOST = 0.05  # added to the fused score of papers that contain the quoted phrases


def fuse_scores(
    semantic: list[tuple[int, float]],
    keyword: list[tuple[int, float]],
    weight: float = SEMANTIC_WEIGHT,
    containing: set[int] | frozenset[int] = frozenset(),
) -> list[tuple[int, float, float | None]]:
    """Hybrid ranking from (id, distance) and (id, BM25) lists, best first, with the
    semantic score's ``weight``: (id, score, distance or None), one total order however
    deep the lists.

    The head: the papers in either list's top FUSION_DEPTH, scored w · s + (1 − w) · b,
    where s and b are the paper's closeness (from its distance) and BM25 score, each
    standardised over that list's top; a paper missing from one top takes that top's
    lowest value there. The head's scores are then scaled to [0, 1], and papers that
    contain the query's quoted phrases (``containing``) gain PHRASE_BOOST.

    The tail, for pages past the head: the rest of the (deeper) lists, on the same
    scales, so at most 0; a paper missing from a list takes that list's last value.
    There the papers without the phrases lose PHRASE_BOOST instead, which orders them
    the same and keeps every tail score at or below every head score. The head depends
    only on the lists' tops, so the deeper lists that later pages fetch leave the first
    pages as they were.
    """
    closeness, bm25 = _Scale([(i, -d) for i, d in semantic]), _Scale(keyword)
    head = closeness.head.keys() | bm25.head.keys()
    raw = {i: weight * closeness.at(i) + (1 - weight) * bm25.at(i) for i in head}
    low = min(raw.values(), default=0.0)
    span = max(raw.values(), default=0.0) - low
    scores = {
        i: ((value - low) / span if span > 0 else 1.0)
        + (PHRASE_BOOST if i in containing else 0.0)
        for i, value in raw.items()
    }  # fmt: skip
    tail = {
        i: (weight * closeness.tail(i) + (1 - weight) * bm25.tail(i) - low) / (span or 1.0)
        - (PHRASE_BOOST if containing and i not in containing else 0.0)
        for i in (closeness.ids | bm25.ids) - head
    }  # fmt: skip
    distance = dict(semantic)
    order = sorted(scores, key=lambda i: (-scores[i], i))
    order += sorted(tail, key=lambda i: (-tail[i], i))
    scores.update(tail)
    return [(i, scores[i], distance.get(i)) for i in order]


class _Scale:
    """One ranking's (id, value) list, higher better, standardised by its top
    FUSION_DEPTH: ``head`` maps those ids to their z-scores, ``at(i)`` is a head paper's
    value (the top's lowest for a paper the top lacks), ``tail(i)`` any other paper's,
    on the same scale and never above that lowest (a paper the list does not hold
    takes its last value). A top of one value: 1 for its papers, 0 for the rest."""

    def __init__(self, ranked: list[tuple[int, float]]) -> None:
        top = [v for _, v in ranked[:FUSION_DEPTH]]
        self.values = dict(ranked)
        self.ids = self.values.keys()
        self.low = min(top, default=0.0)
        self.last = ranked[-1][1] if ranked else self.low
        spread = statistics.pstdev(top) if len(top) > 1 else 0.0
        if spread > 0:
            self.unit, self.lowest = spread, (self.low - statistics.fmean(top)) / spread
        else:
            self.unit, self.lowest = 1.0, 0.0
        self.head = {i: self.lowest + (v - self.low) / self.unit for i, v in ranked[:FUSION_DEPTH]}
        if spread == 0:
            self.head = dict.fromkeys(self.head, 1.0)

    def at(self, paper_id: int) -> float:
        return self.head.get(paper_id, self.lowest)

    def tail(self, paper_id: int) -> float:
        value = min(self.values.get(paper_id, self.last), self.low)
        return self.lowest + (value - self.low) / self.unit
