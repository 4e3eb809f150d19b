"""The search engine: one call per question, shared by the CLI, the HTML pages and the JSON API."""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import quote

import numpy as np

from search.db import make_engine, require_current_schema, session_factory
from search.encoder import Encoder
from search.index import VectorIndex, distance_to_score
from search.records import http_url
from search.schema import IndexBuild, Paper
from search.settings import Settings
from search.store import PaperStore

MAX_K = 100
MAX_OFFSET = 1000
MAX_QUERY_CHARS = 2000


class InvalidRequest(ValueError):
    """A search parameter is unusable; ``code`` names the problem, the message explains it."""

    def __init__(self, message: str, code: str = "invalid_parameter") -> None:
        super().__init__(message)
        self.code = code


class NoIndex(RuntimeError):
    """No completed index build exists yet."""


class PaperNotFound(LookupError):
    pass


class ModelMismatch(RuntimeError):
    """The configured model is not the one the current index was built with."""


@dataclass
class Hit:
    id: int
    external_id: str
    title: str
    authors: list[str]
    year: int | None
    venue: str | None
    url: str | None
    score: float
    distance: float
    abstract: str | None


@dataclass
class SearchResult:
    query: str
    total: int
    took_ms: float
    results: list[Hit]

    def to_dict(self) -> dict:
        return asdict(self)


def paper_to_dict(paper: Paper) -> dict:
    """A stored paper as the API and ``--json`` show it."""
    return {
        "id": paper.id,
        "external_id": paper.external_id,
        "title": paper.title,
        "authors": list(paper.authors or []),
        "year": paper.year,
        "venue": paper.venue,
        "doi": paper.doi,
        "url": paper_url(paper),
        "categories": list(paper.categories or []),
        "abstract": paper.abstract,
        "updated_at": paper.updated_at.isoformat() if paper.updated_at else None,
    }


def paper_url(paper: Paper) -> str | None:
    """Where to read the paper: its http(s) link, else its DOI."""
    if http_url(paper.url):
        return paper.url
    return f"https://doi.org/{quote(paper.doi, safe='/:;()')}" if paper.doi else None


class SearchEngine:
    def __init__(
        self,
        settings: Settings,
        store: PaperStore,
        build: IndexBuild,
        index: VectorIndex,
        encoder: Encoder | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.build = build
        self.index = index
        self._encoder = encoder
        self._encoder_lock = threading.Lock()

    @classmethod
    def open(
        cls, settings: Settings, encoder: Encoder | None = None, store: PaperStore | None = None
    ) -> SearchEngine:
        """Open the current build; the encoder is loaded on first use unless given."""
        if store is None:
            engine = make_engine(settings)
            require_current_schema(engine)
            store = PaperStore(session_factory(engine))
        build = store.current_build()
        if build is None:
            raise NoIndex("No index has been built yet: run `papersearch index CORPUS` first.")
        index = VectorIndex.read(Path(build.path), build.nprobe)
        return cls(settings, store, build, index, encoder)

    @property
    def encoder(self) -> Encoder:
        with self._encoder_lock:
            if self._encoder is None:
                self._encoder = Encoder.load(self.settings)
            if self._encoder.info.key != self.build.model_key:
                raise ModelMismatch(
                    f"The index (build {self.build.id}) was built with "
                    f"{self.build.base_model} + {self.build.paper_adapter or 'no adapter'} "
                    f"({self.build.pooling} pooling), but the configured model is "
                    f"{self._encoder.info.base_model} + "
                    f"{self._encoder.info.paper_adapter or 'no adapter'} "
                    f"({self._encoder.info.pooling} pooling). Set the same model options, "
                    "or run `papersearch index` to build with the new model."
                )
            return self._encoder

    def search(self, query: str, k: int = 10, offset: int = 0) -> SearchResult:
        """Papers nearest to a free-text query (encoded with the query adapter)."""
        query = " ".join((query or "").split())
        if not query:
            raise InvalidRequest("The query is empty.", "empty_query")
        if len(query) > MAX_QUERY_CHARS:
            raise InvalidRequest(
                f"The query is longer than {MAX_QUERY_CHARS} characters.", "query_too_long"
            )
        _check_page(k, offset)
        encoder = self.encoder  # loaded on first use; not counted in took_ms
        started = time.perf_counter()
        vector = encoder.encode_query(query)
        hits = self._nearest(vector, k + offset)[offset:]
        return SearchResult(query, self.index.ntotal, _ms_since(started), hits)

    def similar(self, paper_id: int, k: int = 10) -> SearchResult:
        """Papers nearest to a stored paper by its proximity embedding, itself left out."""
        started = time.perf_counter()
        _check_page(k, 0)
        paper = self.paper(paper_id)
        vector = self.store.vector(paper_id, self.build.model_key)
        if vector is None:
            raise PaperNotFound(f"Paper {paper_id} is not in the current index yet.")
        hits = [hit for hit in self._nearest(vector, k + 1) if hit.id != paper_id][:k]
        total = max(self.index.ntotal - 1, 0)
        return SearchResult(paper.title, total, _ms_since(started), hits)

    def paper(self, paper_id: int) -> Paper:
        paper = self.store.get(paper_id) if 0 < paper_id < 2**63 else None
        if paper is None:
            raise PaperNotFound(f"No paper with id {paper_id}.")
        return paper

    def _nearest(self, vector: np.ndarray, depth: int) -> list[Hit]:
        distances, ids = self.index.search(vector[None, :], depth)
        pairs = [(int(i), float(d)) for i, d in zip(ids[0], distances[0], strict=True) if i >= 0]
        papers = self.store.get_many(i for i, _ in pairs)
        return [_hit(papers[i], d) for i, d in pairs if i in papers]


def _hit(paper: Paper, distance: float) -> Hit:
    return Hit(
        id=paper.id,
        external_id=paper.external_id,
        title=paper.title,
        authors=list(paper.authors or []),
        year=paper.year,
        venue=paper.venue,
        url=paper_url(paper),
        score=round(distance_to_score(distance), 6),
        distance=round(distance, 6),
        abstract=paper.abstract,
    )


def _check_page(k: int, offset: int) -> None:
    if not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise InvalidRequest(f"k must be an integer from 1 to {MAX_K}.", "out_of_range")
    if not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET:
        raise InvalidRequest(f"offset must be an integer from 0 to {MAX_OFFSET}.", "out_of_range")


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
