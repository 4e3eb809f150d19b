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


# How deep each list must be read for the map: the connected papers past those already
# drawn as references or citers.
MAP_LISTS = {"references": MAP_REFERENCES, "citations": MAP_CITERS,
             "connected": MAP_CONNECTED + MAP_REFERENCES + MAP_CITERS}  # fmt: skip


def citation_map(citations, paper_id: int, lists: dict | None = None) -> CitationMap:
    """The map of ``paper_id`` (``citations``: the engine's ``Citations``), drawn from
    ``lists`` (its references, citations and connected papers, each read MAP_LISTS deep)
    when the caller has them, as a paper page does."""
    graph = citations.graph
    paper = citations.retriever.store.papers.resolve(int(paper_id))
    if lists is None:
        lists = {kind: citations.listed(paper.id, kind, MAP_LISTS[kind])
                 for kind in ("references", "citations")}  # fmt: skip
        lists["connected"] = citations.connected(paper.id, MAP_LISTS["connected"])
    chosen: dict[int, tuple[object, str]] = {}
    for kind, role, k in (("references", "reference", MAP_REFERENCES),
                          ("citations", "citer", MAP_CITERS)):  # fmt: skip
        for hit in lists[kind].results[:k]:
            chosen.setdefault(hit.id, (hit, role))
    others = [hit for hit in lists["connected"].results if hit.id not in chosen]
    chosen.update({hit.id: (hit, "connected") for hit in others[:MAP_CONNECTED]})
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
