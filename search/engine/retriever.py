"""Nearest papers by vector in one index build: what the engine's searches and the
recommendations both rank with (as pyserini's hybrid searcher composes its searchers)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from search.ann.faiss_index import VectorIndex, distance_to_score
from search.answers.results import Hit, SearchResult, Seed, Version
from search.base.errors import NoIndex, PaperNotFound
from search.base.metrics import ANN_SECONDS, timed
from search.base.settings import Settings
from search.graph.works import HOW, Works
from search.query.filters import Filters
from search.query.limits import RANKING_DEPTH
from search.ranking.refine import rerank
from search.store import Store
from search.store.build_files import BuildFiles
from search.store.schema import IndexBuild, Paper

# (id, score, distance or None), best first: what every ranking is cut into pages from.
Ranked = list[tuple[int, float, float | None]]
COLLAPSE_ROUNDS = 4  # readings of a ranking, each twice as deep, to fill a page of works


class SemanticRetriever:
    """One build's FAISS index over the papers that build holds (``store`` serves it):
    nearest works to a vector, within filters, as hits, and the vectors it holds. Every
    ranking is one hit per work (``works``: a preprint and its published version are one)."""

    def __init__(self, settings: Settings, store: Store, build: IndexBuild, index: VectorIndex,
                 works: Works | None = None):  # fmt: skip
        self.settings = settings
        self.store = store.serving(build.id)  # the papers this build holds, in every mode
        self.build = build
        self.index = index
        self.works = works or Works()

    def allowed(self, filters: Filters, only: np.ndarray | None = None) -> np.ndarray | None:
        """Ids a filtered search may return (None: no restriction): those that pass the
        filters and are among ``only`` (sorted ids) when it is given."""
        allowed = self.store.papers.matching_ids(filters) if filters.active else None
        if only is not None:
            allowed = only if allowed is None else np.intersect1d(allowed, only)
        return allowed

    @timed(ANN_SECONDS)
    def nearest(
        self,
        vector: np.ndarray,
        depth: int,
        allowed: np.ndarray | None = None,
        exclude: set[int] = frozenset(),
    ) -> list[tuple[int, float]]:
        """(id, distance) of the nearest works, best first, by their primary's id and their
        nearest version's distance, without ``exclude``'s works; with PAPERSEARCH_REFINE on
        approximate codes, re-ranked exactly (``search.ranking.refine``). A ranking that
        collapses short of ``depth`` is read again, deeper, while the index has more."""
        excluded = self.works.all_versions(exclude) if self.works else set(exclude)
        wanted = depth + len(excluded) + self.works.slack(depth)
        for _ in range(COLLAPSE_ROUNDS):
            pairs = self._nearest(vector, wanted, allowed)
            kept = self.works.collapse([p for p in pairs if p[0] not in excluded])
            if len(kept) >= depth or len(pairs) < wanted:
                break
            wanted *= 2
        return kept[:depth]

    def _nearest(self, vector: np.ndarray, wanted: int, allowed: np.ndarray | None
                 ) -> list[tuple[int, float]]:  # fmt: skip
        factor = self.settings.refine if self.index.encoding != "Flat" else None
        distances, ids = self.index.search(
            vector[None, :], wanted * (factor or 1), allowed, ranking_depth=RANKING_DEPTH
        )
        if factor:
            exact, kept = rerank(self.store.vectors, self.build.model_key, vector, ids[0], wanted,
                                 self.store.papers.text_hashes)  # fmt: skip
            distances, ids = exact[None, :], kept[None, :]
        return [(int(i), float(d)) for i, d in zip(ids[0], distances[0], strict=True) if i >= 0]

    def hits(self, ranked: Ranked, words: tuple[str, ...]) -> list[Hit]:
        """The served papers of ``ranked`` as hits, highlighting ``words``, each with its
        work's other versions."""
        papers = self.store.papers.get_many(i for i, _, _ in ranked)
        versions = self.versions_of(papers)
        return [
            replace(Hit.from_paper(papers[i], score, distance, words), versions=versions.get(i, []))
            for i, score, distance in ranked
            if i in papers
        ]

    def versions_of(self, ids) -> dict[int, list[Version]]:
        """The other versions of the works of ``ids`` (those that have any), by id."""
        if not self.works:
            return {}
        works = {i: self.works.versions(i) for i in self.works.with_versions(ids)}
        others = self.store.papers.get_many(v for found in works.values() for v, _ in found)
        return {i: [Version.of(others[v], HOW[how]) for v, how in found
                    if v != i and v in others]
                for i, found in works.items()}  # fmt: skip

    def stored_vectors(self, papers: Sequence[Paper]) -> np.ndarray:
        """The vectors the build holds of ``papers`` (made from their texts as served)."""
        vectors = []
        for paper in papers:
            vector = self.store.vectors.get(paper.id, self.build.model_key, paper.text_hash)
            if vector is None:
                raise PaperNotFound(f"Paper {paper.id} is not in the current index yet.")
            vectors.append(vector)
        return np.stack(vectors)

    def nearest_result(
        self,
        query: str,
        mode: str,
        vector: np.ndarray,
        page: tuple[int, int, Filters | None],
        started: float,
        *,
        words: tuple[str, ...] = (),
        exclude: set[int] = frozenset(),
        seeds: list[Seed] | None = None,
        only: np.ndarray | None = None,
    ) -> SearchResult:
        """The page (``k``, ``offset``, filters) of papers nearest to ``vector`` (by example,
        similar, recommend): ``total`` counts the papers the filters (and ``only``) allow,
        ``exclude`` left out."""
        k, offset, filters = page
        filters = filters or Filters()
        allowed = self.allowed(filters, only)
        nearest = self.nearest(vector, k + offset, allowed, exclude=exclude)
        ranked = [(i, distance_to_score(d), d) for i, d in nearest]
        total = self.works.count(allowed, self.store.papers.count())
        excluded = self.works.of(list(exclude))
        if allowed is not None:
            excluded = np.intersect1d(excluded, self.works.of(allowed))
        total -= len(np.unique(excluded))
        hits = self.hits(ranked[offset:], words)
        return SearchResult(query, max(total, 0), ms_since(started), hits, mode,
                            filters.to_params(), seeds=seeds or [])  # fmt: skip


def open_index(store: Store, build: IndexBuild | None = None) -> tuple[IndexBuild, VectorIndex]:
    """``build`` (default: the current one) and its FAISS index, opened once its files
    pass their checksum (IndexCorrupt otherwise); NoIndex while no build exists."""
    build = build_to_serve(store, build)
    return build, open_vectors(build, store.builds.files(build))


def build_to_serve(store: Store, build: IndexBuild | None = None) -> IndexBuild:
    """``build``, or the current one; NoIndex while no build exists."""
    build = build or store.builds.current()
    if build is None:
        raise NoIndex()
    return build


def open_vectors(build: IndexBuild, files: BuildFiles) -> VectorIndex:
    """A build's FAISS index (every shard's, under the shared centroids), once its files
    pass their checksum."""
    shards = [(part.index, part.lists) for part in files.parts()] if files.shards > 1 else ()
    return VectorIndex.open_build(build, files.checksummed(), files.lists, shards=shards)


def ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
