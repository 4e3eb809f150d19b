"""The search engine: one call per question, shared by the CLI, the HTML pages and the JSON API."""

from __future__ import annotations

import functools
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import quote

import numpy as np

from search.db import make_engine, require_current_schema, session_factory
from search.encoder import Encoder
from search.filters import FilterError, Filters
from search.index import IndexCorrupt, VectorIndex, distance_to_score, verify
from search.keywords import KeywordQuery, parse_keywords, semantic_text, snippet
from search.records import http_url
from search.schema import IndexBuild, Paper
from search.settings import Settings
from search.store import FulltextUnavailable, PaperStore

MAX_K = 100
MAX_OFFSET = 1000
MAX_QUERY_CHARS = 2000
MAX_EXAMPLE_CHARS = 20_000  # a title and abstract pasted as a query
MAX_RECOMMENDATION_IDS = 100  # positive and negative together
MODES = ("semantic", "keyword", "hybrid")
# Every page up to the deepest one is cut from one ranking (see VectorIndex.search).
RANKING_DEPTH = MAX_OFFSET + MAX_K + MAX_RECOMMENDATION_IDS
# Hybrid ranking: a weighted sum of the semantic and keyword scores of each list's
# top FUSION_DEPTH, min-max normalised per query (fuse_scores). Chosen over reciprocal
# rank fusion by bench/fusion.py on the SciFact train split: nDCG@10 0.733 at weight
# 0.4 (0.728-0.733 from 0.3 to 0.5), against 0.723 for the best RRF (k=10), 0.709 at
# the usual k=60, 0.700 for keywords alone and 0.656 for semantic alone (MiniLM).
FUSION_DEPTH = 100
SEMANTIC_WEIGHT = 0.4
# Keyword ranking skips words that more than this share of the papers contain (when the
# query has rarer words): they barely move BM25 but cost most of its time (measured by
# bench/fusion.py and bench/modes.py; numbers in the README).
COMMON_TERM_SHARE = 0.2
# Recommendations: mean(positive) + NEGATIVE_WEIGHT * (mean(positive) - mean(negative)).
NEGATIVE_WEIGHT = 0.5


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
    doi: str | None
    url: str | None
    score: float
    distance: float | None  # Euclidean distance of the vectors; None for keyword matches
    abstract: str | None
    snippet: str = ""  # the part of the abstract with the most query words
    highlights: list[list[int]] = field(default_factory=list)  # [start, end) in snippet
    title_highlights: list[list[int]] = field(default_factory=list)  # [start, end) in title


@dataclass
class SearchResult:
    query: str
    total: int
    took_ms: float
    results: list[Hit]
    mode: str = "semantic"
    filters: dict[str, str] = field(default_factory=dict)

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
        cls,
        settings: Settings,
        encoder: Encoder | None = None,
        store: PaperStore | None = None,
        build: IndexBuild | None = None,
    ) -> SearchEngine:
        """Open ``build`` (default: the current one); the encoder is loaded on first use
        unless given. A build whose file is missing or fails its checksum raises
        IndexCorrupt and is never handed to FAISS."""
        if store is None:
            engine = make_engine(settings)
            require_current_schema(engine)
            store = PaperStore(session_factory(engine))
        build = build or store.current_build()
        if build is None:
            raise NoIndex("No index has been built yet: run `papersearch index CORPUS` first.")
        try:
            verify(Path(build.path), build.checksum)
        except IndexCorrupt as exc:
            raise IndexCorrupt(f"index build {build.id}: {exc}") from exc
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

    def search(
        self,
        query: str,
        k: int = 10,
        offset: int = 0,
        *,
        mode: str = "semantic",
        filters: Filters | None = None,
    ) -> SearchResult:
        """Papers for a free-text query, ranked by ``mode``, among those that pass ``filters``.

        ``semantic``: nearest by the query's embedding (adhoc_query adapter).
        ``keyword``: BM25 over title, abstract and authors. ``hybrid``: both,
        fused by a weighted sum of normalised scores (``fuse_scores``).
        "Quoted phrases" must appear in keyword and hybrid results.
        """
        query = " ".join((query or "").split())
        if not query:
            raise InvalidRequest("The query is empty.", "empty_query")
        if len(query) > MAX_QUERY_CHARS:
            raise InvalidRequest(
                f"The query is longer than {MAX_QUERY_CHARS} characters.", "query_too_long"
            )
        if mode not in MODES:
            raise InvalidRequest(f"mode must be one of {', '.join(MODES)}, not {mode[:40]!r}.")
        _check_page(k, offset)
        filters = filters or Filters()
        keywords = parse_keywords(query)
        if mode != "semantic" and keywords.match is None:
            raise InvalidRequest("The query has no words to search for.", "empty_query")
        text = semantic_text(query)  # what the encoder reads
        if mode != "keyword":
            if not text:
                raise InvalidRequest("The query is empty.", "empty_query")
            encoder = self.encoder  # loaded on first use; not counted in took_ms
            tokens = encoder.count_tokens(text)
            if tokens > encoder.max_length:
                raise InvalidRequest(
                    f"The query is {tokens} tokens long; the model reads at most "
                    f"{encoder.max_length}.",
                    "query_too_long",
                )
        depth = k + offset
        started = time.perf_counter()
        if mode == "keyword":
            matches, total = self.keyword_ranking(keywords, depth, filters)
            ranked = [(paper_id, score, None) for paper_id, score in matches]
        else:
            allowed = self._allowed(filters, keywords.phrase_match if mode == "hybrid" else None)
            vector = encoder.encode_query(text)
            nearest = self._nearest(
                vector, depth if mode == "semantic" else max(depth, FUSION_DEPTH), allowed
            )
            total = self.index.ntotal if allowed is None else len(allowed)
            if mode == "semantic":
                ranked = [(i, distance_to_score(d), d) for i, d in nearest]
            else:
                matches, _ = self.keyword_ranking(keywords, max(depth, FUSION_DEPTH), filters)
                ranked = fuse_scores(nearest, matches)
        hits = self._hits(ranked[offset:depth], keywords.highlight_words)
        return SearchResult(query, total, _ms_since(started), hits, mode, filters.to_params())

    def search_by_example(
        self,
        title: str,
        abstract: str | None = None,
        k: int = 10,
        offset: int = 0,
        *,
        filters: Filters | None = None,
    ) -> SearchResult:
        """Papers nearest to a title and abstract, embedded as a paper is (proximity adapter)."""
        title = " ".join((title or "").split())
        abstract = " ".join((abstract or "").split()) or None
        if not title:
            raise InvalidRequest("The example needs a title.", "empty_query")
        if len(title) + len(abstract or "") > MAX_EXAMPLE_CHARS:
            raise InvalidRequest(
                f"The example is longer than {MAX_EXAMPLE_CHARS} characters.", "query_too_long"
            )
        _check_page(k, offset)
        encoder = self.encoder
        started = time.perf_counter()
        vector = encoder.encode_papers([(title, abstract)])[0]
        words = parse_keywords(title).highlight_words
        return self._nearest_result(
            title, "example", vector, k, offset, filters, started, words=words
        )

    def similar(
        self, paper_id: int, k: int = 10, offset: int = 0, *, filters: Filters | None = None
    ) -> SearchResult:
        """Papers nearest to a stored paper by its proximity embedding, itself left out."""
        started = time.perf_counter()
        _check_page(k, offset)
        paper = self.paper(paper_id)
        vector = self._stored_vectors([paper])[0]
        return self._nearest_result(
            paper.title, "similar", vector, k, offset, filters, started, exclude={paper_id}
        )

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
        _check_page(k, offset)
        liked = self.resolve_papers(positive)
        disliked = self.resolve_papers(negative)
        both = {p.id for p in liked} & {p.id for p in disliked}
        if both:
            raise InvalidRequest(
                f"Papers {sorted(both)} are both positive and negative.", "invalid_parameter"
            )
        centre = self._stored_vectors(liked).mean(axis=0)
        if disliked:
            centre = centre + NEGATIVE_WEIGHT * (
                centre - self._stored_vectors(disliked).mean(axis=0)
            )
        exclude = {p.id for p in liked} | {p.id for p in disliked}
        description = f"more like {len(liked)} paper{'s' if len(liked) != 1 else ''}"
        if disliked:
            description += f", less like {len(disliked)}"
        return self._nearest_result(
            description, "recommend", centre.astype(np.float32), k, offset, filters, started,
            exclude=exclude,
        )  # fmt: skip

    def paper(self, paper_id: int) -> Paper:
        paper = self.store.get(paper_id) if 0 < paper_id < 2**63 else None
        if paper is None:
            raise PaperNotFound(f"No paper with id {paper_id}.")
        return paper

    def resolve_paper(self, ref: int | str) -> Paper:
        """A paper by internal id (an int), or by the corpus's own id (e.g. an arXiv id) or
        DOI (a string; a string of digits that is neither is tried as an internal id)."""
        if isinstance(ref, int) and not isinstance(ref, bool):
            return self.paper(ref)
        text = str(ref).strip()
        if not text or len(text) > 300:
            raise PaperNotFound(f"No paper with id {text[:40]!r}.")
        for candidate in _id_variants(text):
            found = self.store.get_by_external_id(candidate) or self.store.get_by_doi(candidate)
            if found is not None:
                return found
        if text.isdigit() and len(text) < 19:
            found = self.store.get(int(text))
            if found is not None:
                return found
        raise PaperNotFound(f"No paper with id, external id or DOI {text[:80]!r}.")

    def resolve_papers(self, refs: Sequence[int | str]) -> list[Paper]:
        papers = {}
        for ref in refs:
            paper = self.resolve_paper(ref)
            papers.setdefault(paper.id, paper)
        return list(papers.values())

    # -- internals ----------------------------------------------------------------

    def keyword_ranking(
        self, keywords: KeywordQuery, depth: int, filters: Filters
    ) -> tuple[list[tuple[int, float]], int]:
        """The BM25 ranking that keyword and hybrid modes use: ([(id, score)], matches)."""
        try:
            return self.store.keyword_search(self._informative(keywords).match, depth, filters)
        except FulltextUnavailable as exc:
            raise InvalidRequest(str(exc), "mode_unavailable") from exc

    def _informative(self, keywords: KeywordQuery) -> KeywordQuery:
        """Without the words that more than COMMON_TERM_SHARE of the papers contain, when the
        query has rarer ones: they barely move BM25 but cost most of its time."""
        if len(keywords.terms) < 2:
            return keywords
        counts = {term: self._document_count(term) for term in keywords.terms}
        limit = COMMON_TERM_SHARE * self.index.ntotal
        kept = tuple(term for term in keywords.terms if counts[term] <= limit)
        return keywords.with_terms(kept or (min(keywords.terms, key=counts.__getitem__),))

    def _allowed(self, filters: Filters, phrase_match: str | None) -> np.ndarray | None:
        """Ids a filtered search may return (None: no restriction); cached for this build."""
        if not filters.active and phrase_match is None:
            return None
        try:
            return self._matching_ids(filters, phrase_match)
        except FulltextUnavailable as exc:
            raise InvalidRequest(str(exc), "mode_unavailable") from exc

    @functools.cached_property
    def _document_count(self):
        """Papers containing a word, remembered for this build (a posting list's length)."""

        def count(term: str) -> int:
            return self.store.term_document_counts((term,))[term]

        return functools.lru_cache(maxsize=65_536)(count)

    @functools.cached_property
    def _matching_ids(self):
        return functools.lru_cache(maxsize=64)(self.store.matching_ids)

    def _stored_vectors(self, papers: Sequence[Paper]) -> np.ndarray:
        vectors = []
        for paper in papers:
            vector = self.store.vector(paper.id, self.build.model_key)
            if vector is None:
                raise PaperNotFound(f"Paper {paper.id} is not in the current index yet.")
            vectors.append(vector)
        return np.stack(vectors)

    def _nearest_result(
        self,
        query: str,
        mode: str,
        vector: np.ndarray,
        k: int,
        offset: int,
        filters: Filters | None,
        started: float,
        *,
        words: tuple[str, ...] = (),
        exclude: set[int] = frozenset(),
    ) -> SearchResult:
        """The page of papers nearest to ``vector`` (by example, similar, recommend):
        ``total`` counts the papers the filters allow, ``exclude`` left out."""
        filters = filters or Filters()
        allowed = self._allowed(filters, None)
        nearest = self._nearest(vector, k + offset, allowed, exclude=exclude)
        ranked = [(i, distance_to_score(d), d) for i, d in nearest]
        total = (self.index.ntotal if allowed is None else len(allowed)) - len(exclude)
        hits = self._hits(ranked[offset:], words)
        return SearchResult(
            query, max(total, 0), _ms_since(started), hits, mode, filters.to_params()
        )

    def _nearest(
        self,
        vector: np.ndarray,
        depth: int,
        allowed: np.ndarray | None = None,
        exclude: set[int] = frozenset(),
    ) -> list[tuple[int, float]]:
        """(id, distance) of the nearest papers, best first, without ``exclude``."""
        distances, ids = self.index.search(
            vector[None, :], depth + len(exclude), allowed, ranking_depth=RANKING_DEPTH
        )
        pairs = [
            (int(i), float(d))
            for i, d in zip(ids[0], distances[0], strict=True)
            if i >= 0 and int(i) not in exclude
        ]
        return pairs[:depth]

    def _hits(
        self, ranked: list[tuple[int, float, float | None]], words: tuple[str, ...]
    ) -> list[Hit]:
        papers = self.store.get_many(i for i, _, _ in ranked)
        return [
            _hit(papers[i], score, distance, words) for i, score, distance in ranked if i in papers
        ]


def paper_ref(text: str) -> int | str:
    """A reference typed by a person or sent in a URL: digits are an internal id, anything
    else an external id or DOI (see SearchEngine.resolve_paper)."""
    return int(text) if text.isdigit() and len(text) < 19 else text


def parse_filters(
    year: str | None = None,
    venue: str | None = None,
    category: str | None = None,
    author: str | None = None,
) -> Filters:
    """Filters from request parameters; a value that cannot be understood is a bad request."""
    try:
        return Filters.parse(year=year, venue=venue, category=category, author=author)
    except FilterError as exc:
        raise InvalidRequest(str(exc)) from exc


def fuse_scores(
    semantic: list[tuple[int, float]], keyword: list[tuple[int, float]]
) -> list[tuple[int, float, float | None]]:
    """Hybrid ranking: (id, score, distance or None), best first.

    score = SEMANTIC_WEIGHT · s + (1 − SEMANTIC_WEIGHT) · b, where s and b are the
    paper's semantic closeness (from its distance) and BM25 score, each min-max
    normalised over this query's candidates to [0, 1]; a paper missing from one
    list gets 0 there.
    """
    closeness = _min_max({i: -d for i, d in semantic})
    bm25 = _min_max(dict(keyword))
    scores = {
        i: SEMANTIC_WEIGHT * closeness.get(i, 0.0) + (1 - SEMANTIC_WEIGHT) * bm25.get(i, 0.0)
        for i in closeness.keys() | bm25.keys()
    }
    distance = dict(semantic)
    order = sorted(scores, key=lambda i: (-scores[i], i))
    return [(i, scores[i], distance.get(i)) for i in order]


def _min_max(values: dict[int, float]) -> dict[int, float]:
    if not values:
        return {}
    low, high = min(values.values()), max(values.values())
    if high == low:
        return dict.fromkeys(values, 1.0)
    return {i: (v - low) / (high - low) for i, v in values.items()}


def _id_variants(text: str) -> list[str]:
    """``arXiv:2212.09525v2`` → itself, ``2212.09525v2``, ``2212.09525``; DOI URLs → the DOI."""
    variants = [text]
    bare = re.sub(r"^(?:arxiv:|https?://(?:dx\.)?doi\.org/|doi:)", "", text, flags=re.I)
    variants.append(bare)
    variants.append(re.sub(r"v\d+$", "", bare))
    return list(dict.fromkeys(v for v in variants if v))


def _hit(paper: Paper, score: float, distance: float | None, words: tuple[str, ...]) -> Hit:
    text, spans = snippet(paper.abstract, words)
    _, title_spans = snippet(paper.title, words, width=len(paper.title) + 1)
    return Hit(
        id=paper.id,
        external_id=paper.external_id,
        title=paper.title,
        authors=list(paper.authors or []),
        year=paper.year,
        venue=paper.venue,
        doi=paper.doi,
        url=paper_url(paper),
        score=round(score, 6),
        distance=None if distance is None else round(distance, 6),
        abstract=paper.abstract,
        snippet=text,
        highlights=spans,
        title_highlights=title_spans,
    )


def _check_page(k: int, offset: int) -> None:
    if not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise InvalidRequest(f"k must be an integer from 1 to {MAX_K}.", "out_of_range")
    if not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET:
        raise InvalidRequest(f"offset must be an integer from 0 to {MAX_OFFSET}.", "out_of_range")


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
