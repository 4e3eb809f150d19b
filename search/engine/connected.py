"""Connected papers: papers linked to a paper by their citations (bibliographic coupling:
references in common; co-citation: cited together by the same papers), as Connected
Papers measures, blended with similarity of text, so that a paper with few links still
gets neighbours. Each result says why.

The work is capped, for papers with very many links: a paper's references and citers
are read up to MAX_LINKED of each (evenly spaced in id order), and a linked paper with
more than MAX_FANOUT links of its own adds nothing (a paper everyone cites says little
about who cites it, as a word in every document says little about any; a review that
cites thousands is no closer to each of them). The answer's notice says what was
left out.
"""

from __future__ import annotations

import time

import numpy as np

from search.ann.faiss_index import distance_to_score
from search.answers.results import Connection, SearchResult, Seed
from search.engine.retriever import SemanticRetriever, ms_since
from search.graph.reader import CitationGraph
from search.query.filters import Filters
from search.query.limits import check_page

MAX_LINKED = 1_000  # of a paper's references, and of its citers, read
MAX_FANOUT = 2_000  # a linked paper with more links than this adds nothing
TEXT_NEIGHBOURS = 100  # nearest papers by text among the candidates
GRAPH_WEIGHT = 0.6  # the links' share of the score, similarity of text the rest (bench/graph.py)


class ConnectedPapers:
    """Connected papers over one build's graph and vectors."""

    def __init__(self, retriever: SemanticRetriever, graph: CitationGraph) -> None:
        self.retriever = retriever
        self.graph = graph

    def rank(self, paper_id: int, k: int = 10, offset: int = 0, *,
             filters: Filters | None = None) -> SearchResult:  # fmt: skip
        started = time.perf_counter()
        check_page(k, offset)
        filters = filters or Filters()
        paper = self.retriever.store.papers.resolve(int(paper_id))
        coupled, skipped_refs = self._through(paper.id, "references", "cited_by")
        cocited, skipped_citers = self._through(paper.id, "cited_by", "references")
        allowed = self.retriever.allowed(filters)
        vector = self.retriever.stored_vectors([paper])[0]
        near = self.retriever.nearest(vector, TEXT_NEIGHBOURS, allowed, exclude={paper.id})
        ids, scores, why = _blend(coupled, cocited, near, paper.id)
        if allowed is not None:
            keep = np.isin(ids, allowed)
            ids, scores = ids[keep], scores[keep]
        order = np.lexsort((ids, -scores))[offset : offset + k]
        distance = dict(near)
        hits = self.retriever.hits([(int(ids[i]), float(scores[i]), distance.get(int(ids[i])))
                                    for i in order], ())  # fmt: skip
        for hit in hits:
            hit.connection = why[hit.id]
        return SearchResult(paper.title, len(ids), ms_since(started), hits, "connected",
                            filters.to_params(), seeds=[Seed.of(paper)],
                            notice=_notice(skipped_refs, skipped_citers))  # fmt: skip

    def _through(self, paper_id: int, out: str, back: str) -> tuple[dict[int, int], int]:
        """Papers reached by going ``out`` (references or citers) then ``back``, with how
        many paths reach each; and how many linked papers were left out (over the caps)."""
        linked = self.graph.linked(paper_id, out)
        skipped = max(0, len(linked) - MAX_LINKED)
        if skipped:  # evenly spaced in id order: the same sample every time
            linked = linked[np.linspace(0, len(linked) - 1, MAX_LINKED).astype(int)]
        reached = []
        for other in linked.tolist():
            found = self.graph.linked(other, back)
            if len(found) > MAX_FANOUT:
                skipped += 1
                continue
            reached.append(found)
        if not reached:
            return {}, skipped
        ids, counts = np.unique(np.concatenate(reached), return_counts=True)
        counts = dict(zip(ids.tolist(), counts.tolist(), strict=True))
        counts.pop(paper_id, None)
        return counts, skipped


def _blend(coupled: dict[int, int], cocited: dict[int, int], near, paper_id: int):
    """(ids, scores, connections): GRAPH_WEIGHT × links (shared references plus citations
    together, over the most any candidate has) + the rest × closeness of text (scaled
    over the nearest papers), each in [0, 1]."""
    closeness = {i: distance_to_score(d) for i, d in near}
    ids = sorted((coupled.keys() | cocited.keys() | closeness.keys()) - {paper_id})
    links = np.array([coupled.get(i, 0) + cocited.get(i, 0) for i in ids], dtype=float)
    text = np.array([closeness.get(i, 0.0) for i in ids], dtype=float)
    if links.max(initial=0) > 0:
        links /= links.max()
    if len(closeness):
        low, high = min(closeness.values()), max(closeness.values())
        text = np.where(text > 0, (text - low) / (high - low) if high > low else 1.0, 0.0)
    scores = GRAPH_WEIGHT * links + (1 - GRAPH_WEIGHT) * text
    why = {i: Connection(coupled.get(i, 0), cocited.get(i, 0), i in closeness) for i in ids}
    return np.asarray(ids, dtype=np.int64), scores, why


def _notice(skipped_refs: int, skipped_citers: int) -> str | None:
    if not (skipped_refs or skipped_citers):
        return None
    return (
        f"{skipped_refs:,} of its references and {skipped_citers:,} of the papers citing "
        f"it were left out: more than {MAX_LINKED:,} of either are sampled, and a paper "
        f"with more than {MAX_FANOUT:,} links of its own says little about this one."
    )
