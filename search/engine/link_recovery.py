"""What the citation graph adds, measured on the corpus's own links: hide one reference
in this corpus of each of a sample of papers, then see how often and how high each
paper's connected papers (its links and its text, on the graph without the hidden
edges) and its similar papers (its text alone) rank the hidden reference.

A paper's references are the papers a reader of it most wants: a ranking that puts the
hidden one near the top finds what a reader would have followed. ``papersearch eval``
reports it (``--links``); ``bench/graph.py`` runs it on a real citation graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from search.engine.connected import ConnectedPapers

DEPTH = 100  # how deep each ranking is read
MIN_REFERENCES = 2  # a paper with one reference in the corpus would lose all its links


@dataclass(frozen=True)
class Recovery:
    """How one ranking did: the share of hidden references in its top 10 and top 100, and
    the mean reciprocal rank (0 past DEPTH)."""

    hits_10: float
    hits_100: float
    mrr: float

    @classmethod
    def of(cls, ranks: list[int | None]) -> Recovery:
        found = np.array([r if r is not None else 0 for r in ranks], dtype=float)
        reciprocal = np.where(found > 0, 1 / np.maximum(found, 1), 0.0)
        return cls(*(round(float(np.mean(x)), 4) if len(ranks) else 0.0
                     for x in ((found > 0) & (found <= 10), found > 0, reciprocal)))  # fmt: skip


@dataclass(frozen=True)
class LinkRecovery:
    papers: int  # papers measured, each with one reference hidden
    connected: Recovery  # links and text, on the graph without the hidden references
    similar: Recovery  # text alone

    def to_dict(self) -> dict:
        return {"papers": self.papers, "connected": self.connected.__dict__,
                "similar": self.similar.__dict__}  # fmt: skip


def measure(engine, papers: int = 500, seed: int = 0) -> LinkRecovery | None:
    """Link recovery on up to ``papers`` papers with at least MIN_REFERENCES references in
    the corpus (a fixed sample for a seed); None when the graph has none."""
    graph = engine.citations.graph
    eligible = np.asarray(graph.papers)[graph.degrees("references") >= MIN_REFERENCES]
    if len(eligible) == 0:
        return None
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(eligible, min(papers, len(eligible)), replace=False))
    hidden = np.array([rng.choice(graph.linked(int(p), "references")) for p in chosen])
    without = ConnectedPapers(engine.retriever, graph.without(chosen, hidden))
    linked, text = [], []
    for paper, cited in zip(chosen.tolist(), hidden.tolist(), strict=True):
        linked.append(_rank(without.rank(paper, DEPTH).results, cited))
        text.append(_rank(engine.similar(paper, DEPTH).results, cited))
    return LinkRecovery(len(chosen), Recovery.of(linked), Recovery.of(text))


def _rank(hits, paper_id: int) -> int | None:
    return next((rank for rank, hit in enumerate(hits, 1) if hit.id == paper_id), None)
