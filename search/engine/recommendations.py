"""Papers like given papers, like a reader's BibTeX library, and what is new among them:
the part of ``SearchEngine`` that starts from papers rather than a query."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from typing import TYPE_CHECKING

import numpy as np

from search.answers.results import LibraryFacts, SearchResult, Seed
from search.base.errors import InvalidRequest, PaperNotFound
from search.engine.bibtex_library import LibraryEntry, library_size, read_library
from search.engine.new_papers import FEED_DAYS, Feed, entered_since, new_in
from search.query.filters import Filters
from search.query.limits import MAX_RECOMMENDATION_IDS, check_page
from search.store.schema import Paper

if TYPE_CHECKING:
    from search.engine.engine import SearchEngine

LIBRARY_CACHE = 32  # libraries whose vectors an engine remembers (feeds are polled)
# Recommendations: mean(positive) + NEGATIVE_WEIGHT * (mean(positive) - mean(negative)).
NEGATIVE_WEIGHT = 0.5


class Recommendations:
    """``SearchEngine``'s recommendations, libraries and feeds; they rank through its
    nearest-neighbour search (``_nearest_result``) and read its store and encoder."""

    def recommend(
        self: SearchEngine,
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
        liked = self.resolve_papers(positive)
        disliked = self.resolve_papers(negative)
        both = {p.id for p in liked} & {p.id for p in disliked}
        if both:
            raise InvalidRequest(f"Papers {sorted(both)} are both positive and negative.")
        centre = self._stored_vectors(liked).mean(axis=0)
        if disliked:
            centre = centre + NEGATIVE_WEIGHT * (
                centre - self._stored_vectors(disliked).mean(axis=0)
            )
        exclude = {p.id for p in liked} | {p.id for p in disliked}
        description = f"more like {len(liked)} paper{'s' if len(liked) != 1 else ''}"
        if disliked:
            description += f", less like {len(disliked)}"
        seeds = [Seed.of(p, "like") for p in liked] + [Seed.of(p, "unlike") for p in disliked]
        return self._nearest_result(
            description, "recommend", centre.astype(np.float32), k, offset, filters, started,
            exclude=exclude, seeds=seeds,
        )  # fmt: skip

    def recommend_library(
        self: SearchEngine,
        entries: Sequence[LibraryEntry],
        k: int = 10,
        offset: int = 0,
        *,
        filters: Filters | None = None,
        new_days: int | None = None,
        library_id: str = "",
    ) -> SearchResult:
        """Papers like a reader's library (``search.engine.bibtex_library``): the papers
        nearest the mean of its entries' vectors (stored ones for the entries the corpus
        holds, embedded from title and abstract for the others), the library's own papers
        left out.
        ``new_days``: only papers that entered the index in the last that many days."""
        started = time.perf_counter()
        check_page(k, offset)
        centre, papers, facts = self._library_centre(tuple(entries))
        only = None if new_days is None else entered_since(self.store, new_days)
        description = f"like {library_size(len(entries))}"
        result = self._nearest_result(
            description, "recommend", centre, k, offset, filters, started,
            exclude={p.id for p in papers}, seeds=[Seed.of(p) for p in papers], only=only,
        )  # fmt: skip
        result.library = replace(facts, id=library_id)
        return result

    def _library_centre(
        self, entries: tuple[LibraryEntry, ...]
    ) -> tuple[np.ndarray, list[Paper], LibraryFacts]:
        """``bibtex_library.read_library`` over this build's papers, remembered for the
        engine's life (LIBRARY_CACHE libraries): a feed reader polling a library's feed
        does not embed its unknown entries again each time."""
        return read_library(self.store.papers, entries, self._stored_vectors,
                            lambda texts: self.encoder.encode_papers(texts))  # fmt: skip

    def new_in(
        self, result: SearchResult, *, title: str, atom_id: str, days: int = FEED_DAYS
    ) -> Feed:
        """The hits of ``result`` that entered the index in the last ``days`` days: a feed."""
        return new_in(result, self.store, title=title, atom_id=atom_id, days=days)

    def save_library(self, key: str, entries: Sequence[LibraryEntry]) -> None:
        """Keep an uploaded library under ``key``, for its page, downloads and feed."""
        self.store.libraries.save(key, [asdict(e) for e in entries])

    def saved_library(self, key: str) -> list[LibraryEntry]:
        """The entries of the library saved under ``key``."""
        saved = self.store.libraries.get(key)
        if saved is None:
            raise PaperNotFound(f"No library with id {key[:40]!r}: upload it again on /library.")
        return [LibraryEntry.from_dict(e) for e in saved]

    def _stored_vectors(self, papers: Sequence[Paper]) -> np.ndarray:
        vectors = []
        for paper in papers:
            vector = self.store.vectors.get(paper.id, self.build.model_key, paper.text_hash)
            if vector is None:
                raise PaperNotFound(f"Paper {paper.id} is not in the current index yet.")
            vectors.append(vector)
        return np.stack(vectors)
