"""The citations between a build's papers as lists: a paper's references and the papers
citing it, paged, filtered and sorted like every other list, from the build's citation
graph (``search.graph``)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from search.answers.results import SearchResult, Seed
from search.base.errors import GraphUnavailable, InvalidRequest
from search.engine.citation_map import CitationMap, citation_map
from search.engine.connected import ConnectedPapers
from search.engine.retriever import SemanticRetriever, ms_since
from search.graph.keys import own_keys
from search.graph.reader import CitationGraph
from search.query.filters import Filters
from search.query.limits import check_page

LIST_SORTS = ("citations", "date")  # most cited first (the default), newest first
DIRECTIONS = {"references": "references", "citations": "cited_by"}  # list → graph rows
SHOWN_OUTSIDE = 50  # references outside the corpus a paper page lists


@dataclass(frozen=True)
class OutsideReference:
    """A reference the corpus does not hold: what to call it, and a link where one is known."""

    label: str
    url: str | None


class Citations:
    """A build's references and cited-by lists, over its retriever's papers."""

    def __init__(self, retriever: SemanticRetriever, graph: CitationGraph | None) -> None:
        self.retriever = retriever
        self._graph = graph

    @property
    def available(self) -> bool:
        """The build has a citation graph (builds from before them have none)."""
        return self._graph is not None

    @property
    def graph(self) -> CitationGraph:
        if self._graph is None:
            build = self.retriever.build.id
            raise GraphUnavailable(
                f"Index build {build} was made before citation graphs: run a re-index "
                "(`papersearch reindex`) to write its graph."
            )
        return self._graph

    def connected(self, paper_id: int, k: int = 10, offset: int = 0, *,
                  filters: Filters | None = None) -> SearchResult:  # fmt: skip
        """Papers connected to ``paper_id`` by citations and by text (``connected``)."""
        return ConnectedPapers(self.retriever, self.graph).rank(paper_id, k, offset,
                                                                 filters=filters)  # fmt: skip

    def map(self, paper_id: int, lists: dict | None = None) -> CitationMap:
        """The paper among its references, citers and connected papers (``citation_map``),
        from ``lists`` when the caller has them."""
        return citation_map(self, paper_id, lists)

    def cited_in_corpus(self, ids: np.ndarray) -> np.ndarray:
        """How many papers of this build cite each of ``ids``."""
        return self.graph.cited_by_counts(ids)

    def listed(
        self,
        paper_id: int,
        kind: str,
        k: int = 10,
        offset: int = 0,
        *,
        sort: str = "citations",
        filters: Filters | None = None,
    ) -> SearchResult:
        """``kind`` ``references``: the papers of this build ``paper_id`` cites;
        ``citations``: those citing it. Most cited first (by the source's counts where the
        corpus has them, else by citations within this corpus, and the answer says so), or
        newest first; ties by id. Each hit's score is how many papers of this build cite
        it."""
        started = time.perf_counter()
        check_page(k, offset)
        if kind not in DIRECTIONS:
            raise InvalidRequest(f"A list is references or citations, not {kind[:40]!r}.")
        if sort not in LIST_SORTS:
            raise InvalidRequest(f"sort must be one of {', '.join(LIST_SORTS)}, not {sort[:40]!r}.")
        filters = filters or Filters()
        paper = self.retriever.store.papers.resolve(int(paper_id))
        ids = self.graph.linked(paper.id, DIRECTIONS[kind])
        allowed = self.retriever.allowed(filters)
        if allowed is not None:
            ids = np.intersect1d(ids, allowed)
        cited = self.cited_in_corpus(ids)
        order, notice = self._order(ids, cited, sort)
        page = [(int(ids[at]), float(cited[at]), None) for at in order[offset : offset + k]]
        counts = self.graph.counts(paper.id)
        return SearchResult(
            paper.title, len(ids), ms_since(started), self.retriever.hits(page, ()), kind,
            filters.to_params(), seeds=[Seed.of(paper)], sort=sort, notice=notice,
            listed=counts.listed if kind == "references" else paper.citations,
        )  # fmt: skip

    def outside(
        self, paper_id: int, limit: int = SHOWN_OUTSIDE
    ) -> tuple[int, list[OutsideReference]]:
        """(how many, the first ``limit``) of the references the paper's source lists that
        resolve to no paper of this build: those whose keys no paper of it holds."""
        paper = self.retriever.store.papers.resolve(int(paper_id))
        entries = paper.reference_keys or []
        known = self.graph.known(entries)
        if known is not None:
            outside = [keys for keys, held in zip(entries, known.tolist(), strict=True) if not held]
            return len(outside), [_outside(keys) for keys in outside[:limit]]
        cited = self.retriever.store.papers.get_many(  # a graph that keeps no keys
            self.graph.linked(paper.id, "references").tolist()
        )
        held = {key for p in cited.values()
                for key in own_keys(p.external_id, p.doi, p.paper_keys or ())}  # fmt: skip
        outside = [keys for keys in entries if not held.intersection(keys)]
        return len(outside), [_outside(keys) for keys in outside[:limit]]

    def _order(
        self, ids: np.ndarray, cited: np.ndarray, sort: str
    ) -> tuple[np.ndarray, str | None]:
        """Positions into ``ids`` in the list's order, and what the order says of itself."""
        by_id = np.argsort(ids, kind="stable")
        papers = self.retriever.store.papers
        if sort == "date":
            order = papers.sort_keys("date").highest_first(ids[by_id])
            return by_id[order], None
        if papers.facts()["with_citations"]:
            order = papers.sort_keys("citations").highest_first(ids[by_id])
            return by_id[order], None
        order = np.argsort(-cited[by_id], kind="stable")
        return by_id[order], "Sorted by citations within this corpus (its source gives no counts)."


def _outside(keys: list[str]) -> OutsideReference:
    """A reference outside the corpus by its most telling key: a DOI (linked), an arXiv id
    (linked), else the first id it gives."""
    by_kind = {key.partition(":")[0]: key.partition(":")[2] for key in reversed(keys)}
    if "doi" in by_kind:
        return OutsideReference(f"doi:{by_kind['doi']}", f"https://doi.org/{by_kind['doi']}")
    if "arxiv" in by_kind:
        return OutsideReference(
            f"arXiv:{by_kind['arxiv']}", f"https://arxiv.org/abs/{by_kind['arxiv']}"
        )
    if "openalex" in by_kind:
        return OutsideReference(by_kind["openalex"], f"https://openalex.org/{by_kind['openalex']}")
    return OutsideReference(keys[0].partition(":")[2] if keys else "", None)
