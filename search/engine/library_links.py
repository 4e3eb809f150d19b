"""Recommendations from a library that follow its citations too: the papers that many of
the library's papers cite, or that cite many of them, ranked with the papers nearest the
library's centre.

A library is a reader's own map of a field: a paper that several of its papers cite is
one the reader is likely to want, whatever its abstract says. The fused head (the
papers nearest the centre, and the papers linked to at least MIN_LINKS of the
library's) is scored LINK_WEIGHT × links (over the most any candidate has) + the rest
× closeness (scaled over the nearest); the rest of the ranking follows by distance.
"""

from __future__ import annotations

import numpy as np

from search.ann.faiss_index import distance_to_score
from search.graph.reader import CitationGraph

MIN_LINKS = 2  # a paper linked to fewer of the library's papers is left to the text
LINK_WEIGHT = 0.5
MAX_LIBRARY_LINKS = 5_000  # of each library paper's references and citers, read
POOL = 100  # the papers nearest the centre fused with the linked ones


def linked_to(graph: CitationGraph, papers: list[int]) -> dict[int, int]:
    """For each paper linked to at least MIN_LINKS of ``papers`` (citing them or cited by
    them), how many; the library's own papers left out."""
    reached = [graph.linked(p, d)[:MAX_LIBRARY_LINKS] for p in papers
               for d in ("references", "cited_by")]  # fmt: skip
    if not reached:
        return {}
    ids, counts = np.unique(np.concatenate(reached), return_counts=True)
    own = set(papers)
    return {i: c for i, c in zip(ids.tolist(), counts.tolist(), strict=True)
            if c >= MIN_LINKS and i not in own}  # fmt: skip


def blend(
    near: list[tuple[int, float]], links: dict[int, int]
) -> list[tuple[int, float, float | None]]:
    """(id, score, distance or None), best first: the head (the first POOL of ``near``
    and the linked papers) fused as the module says, in [0, 1]; then the rest of ``near``
    by distance, below every head score."""
    pool = near[:POOL]
    closeness = {i: distance_to_score(d) for i, d in pool}
    low, high = min(closeness.values(), default=0.0), max(closeness.values(), default=0.0)
    most = max(links.values(), default=0)

    def text(i: int) -> float:
        if i not in closeness:
            return 0.0
        return (closeness[i] - low) / (high - low) if high > low else 1.0

    distance = dict(near)
    head = {i: LINK_WEIGHT * (links.get(i, 0) / most if most else 0.0) + (1 - LINK_WEIGHT) * text(i)
            for i in list(closeness) + sorted(links)}  # fmt: skip
    ranked = sorted(((i, s, distance.get(i)) for i, s in head.items()), key=lambda t: (-t[1], t[0]))
    return ranked + [(i, distance_to_score(d) - 1.0, d) for i, d in near[POOL:] if i not in head]
