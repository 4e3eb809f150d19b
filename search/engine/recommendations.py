"""Papers like given papers and like a reader's BibTeX library, and the libraries kept for
their feeds: the rankings that start from papers rather than a query. They rank through
the build's ``SemanticRetriever``, which the engine's searches share."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace

import numpy as np

from search.answers.results import Connection, LibraryFacts, SearchResult, Seed
from search.base.deadlines import Deadline
from search.base.errors import InvalidRequest, PaperNotFound
from search.base.settings import Settings
from search.engine import library_links
from search.engine.bibtex_library import (
    MAX_LIBRARY_BYTES,
    LibraryEntry,
    library_id,
    library_size,
    library_too_slow,
    parse_bibtex,
    read_library,
)
from search.engine.new_papers import entered_since, feed_days
from search.engine.retriever import SemanticRetriever, ms_since
from search.graph.reader import CitationGraph
from search.model.encoder import Encoder
from search.query.filters import Filters
from search.query.limits import MAX_RECOMMENDATION_IDS, check_page
from search.store.libraries import LibraryBounds, entries_size
from search.store.schema import Paper

LIBRARY_CACHE = 32  # libraries whose vectors are remembered (feeds are polled)
# Recommendations: mean(positive) + NEGATIVE_WEIGHT * (mean(positive) - mean(negative)).
NEGATIVE_WEIGHT = 0.5
Page = tuple[int, int, Filters | None]  # k, offset, filters


def library_bounds(settings: Settings) -> LibraryBounds:
    """What kept libraries may take, from the settings."""
    return LibraryBounds(MAX_LIBRARY_BYTES, settings.library_storage, settings.library_days)


class Recommendations:
    """Recommendations over one build: its ``retriever``, and the encoder (loaded when an
    entry must be embedded) for libraries' entries the corpus lacks."""

    def __init__(
        self,
        retriever: SemanticRetriever,
        encoder: Callable[[], Encoder],
        graph: CitationGraph | None = None,
    ) -> None:
        self.retriever = retriever
        self.graph = graph  # the build's citations: a library's links rank too
        self.store = retriever.store
        self.bounds = library_bounds(retriever.settings)
        self._encoder = encoder
        self._centres: OrderedDict[tuple, tuple] = OrderedDict()  # LIBRARY_CACHE, by entries
        self._lock = threading.Lock()

    def recommend(
        self,
        positive: Sequence[int | str],
        negative: Sequence[int | str] = (),
        k: int = 10,
        offset: int = 0,
        *,
        filters: Filters | None = None,
    ) -> SearchResult:
        """Papers like the ``positive`` ones and unlike the ``negative`` ones, inputs left out.

        The query vector is mean(P) + NEGATIVE_WEIGHT · (mean(P) − mean(N)) over
        the papers' stored proximity embeddings: with no negatives, the centre of
        the positives; negatives push it away from themselves along the line
        between the two centres.
        """
        started = time.perf_counter()
        if not positive:
            raise InvalidRequest("positive_ids must name at least one paper.", "missing_ids")
        if len(positive) + len(negative) > MAX_RECOMMENDATION_IDS:
            raise InvalidRequest(
                f"At most {MAX_RECOMMENDATION_IDS} paper ids (positive and negative together).",
                "too_many_ids",
            )
        check_page(k, offset)
        liked = self.store.papers.resolve_many(positive)
        disliked = self.store.papers.resolve_many(negative)
        both = {p.id for p in liked} & {p.id for p in disliked}
        if both:
            raise InvalidRequest(f"Papers {sorted(both)} are both positive and negative.")
        centre = self.retriever.stored_vectors(liked).mean(axis=0)
        if disliked:
            away = self.retriever.stored_vectors(disliked).mean(axis=0)
            centre = centre + NEGATIVE_WEIGHT * (centre - away)
        exclude = {p.id for p in liked} | {p.id for p in disliked}
        description = f"more like {len(liked)} paper{'s' if len(liked) != 1 else ''}"
        if disliked:
            description += f", less like {len(disliked)}"
        seeds = [Seed.of(p, "like") for p in liked] + [Seed.of(p, "unlike") for p in disliked]
        return self.retriever.nearest_result(
            description, "recommend", centre.astype(np.float32), (k, offset, filters), started,
            exclude=exclude, seeds=seeds,
        )  # fmt: skip

    def recommend_library(
        self,
        entries: Sequence[LibraryEntry],
        k: int = 10,
        offset: int = 0,
        *,
        filters: Filters | None = None,
        new_days: int | None = None,
        library_id: str = "",
        deadline: Deadline | None = None,
    ) -> SearchResult:
        """Papers like a reader's library (``search.engine.bibtex_library``): the papers
        nearest the mean of its entries' vectors (stored ones for the entries the corpus
        holds, embedded from title and abstract for the others), ranked with the papers
        many of its papers cite or are cited by where the build has citations
        (``library_links``), the library's own papers left out. ``new_days``: only papers
        that entered the index in the last that many days. ``deadline`` stops the
        embedding of a library that takes too long."""
        started = time.perf_counter()
        check_page(k, offset)
        centre, papers, facts = self._library_centre(tuple(entries), deadline or Deadline.never())
        only = None if new_days is None else entered_since(self.store, new_days)
        query, seeds = f"like {library_size(len(entries))}", [Seed.of(p) for p in papers]
        mine = {p.id for p in papers}
        links = library_links.linked_to(self.graph, sorted(mine)) if self.graph else {}
        if not links:
            result = self.retriever.nearest_result(query, "recommend", centre,
                                                   (k, offset, filters), started, exclude=mine,
                                                   seeds=seeds, only=only)  # fmt: skip
        else:
            result = self._with_links(query, centre, links, (k, offset, filters), only, mine)
            result.seeds, result.took_ms = seeds, ms_since(started)
        result.library = replace(facts, id=library_id)
        return result

    def _with_links(self, query: str, centre: np.ndarray, links: dict[int, int], page: tuple,
                    only: np.ndarray | None, mine: set[int]) -> SearchResult:  # fmt: skip
        """The library's page, nearest papers and linked ones ranked together."""
        k, offset, filters = page
        filters = filters or Filters()
        allowed = self.retriever.allowed(filters, only)
        if allowed is not None:
            passing = set(allowed.tolist())
            links = {i: n for i, n in links.items() if i in passing}
        depth = max(library_links.POOL, k + offset) + len(links)
        near = self.retriever.nearest(centre, depth, allowed, exclude=mine)
        ranked = library_links.blend(near, links)
        hits = self.retriever.hits(ranked[offset : offset + k], ())
        pool = {i for i, _ in near[: library_links.POOL]}
        for hit in hits:
            hit.connection = Connection(0, 0, hit.id in pool, links.get(hit.id, 0))
        total = self.store.papers.count() if allowed is None else len(allowed)
        total -= len(mine if allowed is None else np.intersect1d(allowed, list(mine)))
        return SearchResult(query, max(total, 0), 0.0, hits, "recommend", filters.to_params())

    def from_bibtex(
        self,
        text: str,
        k: int = 10,
        offset: int = 0,
        *,
        filters: Filters | None = None,
        new_days: int | None = None,
        before_keeping: Callable[[], None] | None = None,
    ) -> SearchResult:
        """A BibTeX library's recommendations: parsed, identified, recommended from, and
        kept for its page, downloads and feed, within the bounds of ``library_bounds``
        and ``PAPERSEARCH_LIBRARY_SECONDS``. ``before_keeping`` is called before a library
        not kept yet is read (the web counts it against the client's quota there)."""
        seconds = self.retriever.settings.library_seconds
        deadline = Deadline(seconds, library_too_slow)
        entries = parse_bibtex(text, deadline)
        key = library_id(entries)
        kept = [asdict(entry) for entry in entries]
        if entries_size(kept) > self.bounds.library_bytes:
            raise InvalidRequest(
                f"The library's entries take more than {MAX_LIBRARY_BYTES // 2**20} MB to "
                "keep: export a smaller collection of it.",
                "library_too_large",
            )
        if before_keeping is not None and not self.store.libraries.exists(key):
            before_keeping()
        result = self.recommend_library(entries, k, offset, filters=filters,
                                        new_days=_days(new_days), library_id=key,
                                        deadline=deadline)  # fmt: skip
        result.library.kept = self.store.libraries.save(key, kept, self.bounds)
        if not result.library.kept:
            result.notice = (
                "The server keeps no more libraries for now (they take all the "
                "storage they may): these recommendations have no page or feed."
            )
        return result

    def from_saved_library(
        self, key: str, k: int = 10, offset: int = 0, *, filters: Filters | None = None,
        new_days: int | None = None,
    ) -> SearchResult:  # fmt: skip
        """The recommendations of a library kept before (its page, downloads and feed)."""
        saved = self.store.libraries.get(key, self.bounds)
        if saved is None:
            raise PaperNotFound(
                f"No library with id {key[:40]!r}: it was never kept, or went unread for "
                f"{self.bounds.days} days. Upload it again on /library."
            )
        entries = [LibraryEntry.from_dict(entry) for entry in saved]
        return self.recommend_library(entries, k, offset, filters=filters, library_id=key,
                                      new_days=_days(new_days))  # fmt: skip

    def _library_centre(
        self, entries: tuple[LibraryEntry, ...], deadline: Deadline
    ) -> tuple[np.ndarray, list[Paper], LibraryFacts]:
        """``bibtex_library.read_library`` over this build's papers, remembered for the
        engine's life (LIBRARY_CACHE libraries): a feed reader polling a library's feed
        does not embed its unknown entries again each time."""
        with self._lock:
            if entries in self._centres:
                self._centres.move_to_end(entries)
                return self._centres[entries]

        def encode(texts: list[tuple[str, str | None]]) -> np.ndarray:
            return self._encoder().encode_papers(texts, on_batch=deadline.check)

        read = read_library(self.store.papers, entries, self.retriever.stored_vectors, encode)
        with self._lock:
            self._centres[entries] = read
            while len(self._centres) > LIBRARY_CACHE:
                self._centres.popitem(last=False)
        return read


def _days(new_days: int | None) -> int | None:
    """``new_days`` checked (None: every paper, not only new ones)."""
    return None if new_days is None else feed_days(new_days, "new_days")
