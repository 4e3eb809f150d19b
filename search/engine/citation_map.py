"""A paper among its references, the papers citing it and its most connected papers: the
nodes and links a paper page draws (``web.citation_map``), from the build's graph."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAP_REFERENCES = 12  # its most cited references
MAP_CITERS = 12  # the most cited papers citing it
MAP_CONNECTED = 8  # its most connected papers not among those


@dataclass(frozen=True)
class MapNode:
    id: int
    title: str
    year: int | None
    citations: int  # the source's count where the corpus has one, else within the corpus
    role: str  # paper, reference, citer or connected


@dataclass(frozen=True)
class CitationMap:
    nodes: list[MapNode]  # the paper first
    links: list[tuple[int, int]]  # (citing, cited) between the nodes


def citation_map(citations, paper_id: int) -> CitationMap:
    """The map of ``paper_id`` (``citations``: the engine's ``Citations``)."""
    graph = citations.graph
    paper = citations.retriever.store.papers.resolve(int(paper_id))
    chosen: dict[int, tuple[object, str]] = {}
    for kind, role, k in (("references", "reference", MAP_REFERENCES),
                          ("citations", "citer", MAP_CITERS)):  # fmt: skip
        for hit in citations.listed(paper.id, kind, k).results:
            chosen.setdefault(hit.id, (hit, role))
    for hit in citations.connected(paper.id, MAP_CONNECTED + len(chosen)).results:
        if (
            hit.id not in chosen
            and sum(r == "connected" for _, r in chosen.values()) < MAP_CONNECTED
        ):
            chosen[hit.id] = (hit, "connected")
    ids = np.array([paper.id, *chosen], dtype=np.int64)
    cited_here = dict(zip(ids.tolist(), graph.cited_by_counts(ids).tolist(), strict=True))

    def count(item) -> int:
        return item.citations if item.citations is not None else cited_here[item.id]

    nodes = [MapNode(paper.id, paper.title, paper.year, count(paper), "paper")]
    nodes += [MapNode(hit.id, hit.title, hit.year, count(hit), role)
              for hit, role in chosen.values()]  # fmt: skip
    shown = set(ids.tolist())
    links = [(int(a), int(b)) for a in ids.tolist() for b in graph.linked(a, "references")
             if int(b) in shown]  # fmt: skip
    return CitationMap(nodes, links)
