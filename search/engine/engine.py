"""The search engine: one call per question, shared by the CLI, the HTML pages and the JSON API.

The questions: papers for a free-text query (``search``, in three modes),
papers like an example title and abstract (``search_by_example``), papers like
a stored paper (``similar``) or like several and unlike others
(``recommend``) or like a reader's BibTeX library (``recommend_library``), and one
paper (``paper``, ``resolve_paper``). Each answer is a
:class:`~search.answers.results.SearchResult` or a stored paper.

The engine composes the parts each answer needs: the build's ``SemanticRetriever``
(nearest papers by vector), its keyword index, the encoder, and ``Recommendations``
(papers like papers, or like a library), which ranks through the same retriever.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from search.alerts import Alerts
from search.ann.faiss_index import VectorIndex, distance_to_score
from search.answers.facts import CorpusFacts
from search.answers.results import PaperDetail, SearchResult, Seed
from search.base.errors import (
    InvalidRequest,
    KeywordSearchUnavailable,
    PaperNotFound,
    PaperNotInBuild,
)
from search.base.parallel import beside
from search.base.settings import MODEL_SETTINGS, Settings
from search.engine.authors import AuthorPages
from search.engine.citations import Citations
from search.engine.keyword_mode import rank_by_keywords
from search.engine.new_papers import FEED_DAYS, Feed, new_in
from search.engine.pdf_example import read_example
from search.engine.recommendations import Recommendations
from search.engine.retriever import (
    Ranked,
    SemanticRetriever,
    build_to_serve,
    ms_since,
    open_vectors,
)
from search.graph.reader import CitationGraph
from search.graph.works import Works
from search.keyword_index import KeywordIndex
from search.model.encoder import Encoder
from search.model.identity import require_same_model
from search.model.onnx_query import OnnxQueryEncoder
from search.query.filters import Filters
from search.query.keywords import KeywordQuery, parse_keywords, semantic_text
from search.query.limits import (
    DEEPEST_RANK,
    DEFAULT_MODE,
    MAX_EXAMPLE_CHARS,
    check_page,
    not_empty,
)
from search.query.plan import SearchPlan
from search.ranking.fusion import FUSION_DEPTH, SEMANTIC_WEIGHT, fuse_scores
from search.store import Store
from search.store.schema import IndexBuild, Paper

QueryEncoder = Encoder | OnnxQueryEncoder  # what search() needs: count_tokens, encode_query


class SearchEngine:
    """One index build, the store and the encoder, answering searches; its
    ``recommendations`` answer papers like given ones and like libraries.

    An engine serves one build for its whole life (servers open a new engine,
    with a fresh store, when another build becomes current), so the answers it
    caches stay true. It is safe to use from many threads.
    """

    def __init__(
        self,
        settings: Settings,
        store: Store,
        build: IndexBuild,
        index: VectorIndex,
        keywords: KeywordIndex | None,
        encoder: Encoder | None = None,
        *,
        light_queries: bool = False,
        graph: CitationGraph | None = None,
    ) -> None:
        self.settings = settings
        self.works = graph.works if graph is not None else Works()  # versions of one work
        self.graph = graph
        self.retriever = SemanticRetriever(settings, store, build, index, self.works)
        self.store = self.retriever.store  # the papers this build holds, in every mode
        self.build = build
        self.index = index
        self._keywords = keywords
        self._encoder = encoder
        self._encoder_lock = threading.Lock()
        self._light_queries = light_queries
        self._query_encoder: QueryEncoder | None = None
        self.recommendations = Recommendations(self.retriever, lambda: self.encoder, graph)
        self.citations = Citations(self.retriever, graph)
        self.authors = AuthorPages(self.retriever, graph.authors if graph is not None else None)
        self.alerts = Alerts(settings, store)

    @classmethod
    def open(
        cls,
        settings: Settings,
        encoder: Encoder | None = None,
        store: Store | None = None,
        build: IndexBuild | None = None,
        *,
        light_queries: bool = False,
    ) -> SearchEngine:
        """Open ``build`` (default: the current one); the encoder is loaded on first use
        unless given. A build whose file is missing or fails its checksum raises
        IndexCorrupt and is never handed to FAISS.

        ``light_queries`` (one-off command-line queries) encodes queries with the verified
        ONNX export alone, without loading PyTorch and the model, when there is one.
        """
        store = store or Store.open(settings)
        build = build_to_serve(store, build)
        files = store.builds.files(build)
        if settings.shard_service == "ray":  # the shards on Ray Serve, the rest here
            from search.shards.remote import open_served

            index, keywords = open_served(settings, build, files)
        else:
            index = open_vectors(build, files)
            keywords_dirs = [part.keywords for part in files.parts()]
            keywords = KeywordIndex(keywords_dirs) if files.keywords is not None else None
        graph_dir = files.graph
        graph = CitationGraph(graph_dir) if graph_dir is not None else None
        settings = settings.with_model_of(build)
        return cls(settings, store, build, index, keywords, encoder, light_queries=light_queries,
                   graph=graph)  # fmt: skip

    @property
    def keywords(self) -> KeywordIndex:
        """The build's keyword index (builds from before keyword indexes have none)."""
        if self._keywords is None:
            raise KeywordSearchUnavailable(
                f"Index build {self.build.id} was made before keyword indexes: run "
                "`papersearch db upgrade` (or a re-index) to write its keyword index."
            )
        return self._keywords

    @property
    def encoder(self) -> Encoder:
        """The encoder, loaded on first use; it must be the model the build was made with."""
        with self._encoder_lock:
            if self._encoder is None:
                self._encoder = Encoder.load(self.settings)
            require_same_model(self.build, self._encoder.info)
            return self._encoder

    @property
    def query_encoder(self) -> QueryEncoder:
        """What encodes queries: the encoder, or for one-off queries (``light_queries``)
        the verified ONNX export on its own when the settings leave the model to the index
        and the query backend to ``auto`` or ``onnx``."""
        with self._encoder_lock:
            if self._query_encoder is None and self._encoder is None and self._light_queries:
                if not set(MODEL_SETTINGS) & self.settings.given and (
                    self.settings.query_backend != "torch" and self.settings.device != "cuda"
                ):
                    threads = len(os.sched_getaffinity(0))
                    found = OnnxQueryEncoder.find(self.settings.models_dir, self.build, threads)
                    self._query_encoder = found
                self._light_queries = False  # looked once
            if self._query_encoder is not None:
                return self._query_encoder
        return self.encoder

    def search(
        self,
        query: str,
        k: int = 10,
        offset: int = 0,
        *,
        mode: str = DEFAULT_MODE,
        filters: Filters | None = None,
        sort: str = "relevance",
    ) -> SearchResult:
        """Papers for a free-text query, ranked by ``mode``, among those that pass ``filters``.

        ``sort="date"``: the same matches newest first (by year, then the corpus's date);
        ``sort="citations"``: most cited first. Ties, and papers without a date or a count,
        keep their relevance order. In keyword mode that is every paper that matches, up
        to SORT_POOL_KEYWORD; in semantic and hybrid modes, where every paper is ranked,
        the SORT_POOL most relevant.

        ``semantic``: nearest by the query's embedding (adhoc_query adapter).
        ``keyword``: BM25 over title, abstract and authors. ``hybrid``: both,
        fused (``search.ranking.fusion``). "Quoted phrases" must appear in keyword
        results; in hybrid results the papers that contain them rank higher (a filter
        would cost much of the ranking's quality, ``bench/phrases.py``). When fewer than
        ``k`` papers contain them, the query is searched without the quotes, and the
        result's ``notice`` says so.
        """
        plan = SearchPlan.of(query, k, offset, mode, filters, sort)
        pool = plan.depth  # ranked deeper, for the versions collapsing one per work removes
        plan = replace(plan, depth=pool + self.works.slack(pool))
        text = None if mode == "keyword" else self._encodable(semantic_text(plan.query))
        started = time.perf_counter()
        weight = SEMANTIC_WEIGHT if mode == "hybrid" else None
        if mode == "keyword":
            ranked, total, matching, keywords, notice = self._by_keywords(plan)
        else:
            ranked, total, matching, keywords, notice = self._by_meaning(plan, text, weight)
        if self.works:
            ranked, matching = self._one_per_work(ranked, matching)
            total = matching if mode == "keyword" else total
        if sort != "relevance":
            ranked = self._sorted(ranked[:pool], sort)
            total = min(total, len(ranked)) if mode != "keyword" else total
        hits = self.retriever.hits(ranked[offset : offset + k], keywords.highlight_words)
        return SearchResult(plan.query, total, ms_since(started), hits, mode,
                            plan.filters.to_params(), matches=matching, notice=notice,
                            sort=sort, semantic_weight=weight)  # fmt: skip

    def _encodable(self, text: str) -> str:
        """``text``, once the query encoder is loaded (not counted in took_ms) and the text
        is known to fit it."""
        not_empty(text)  # a query of quote marks alone has no text
        encoder = self.query_encoder
        tokens = encoder.count_tokens(text)
        if tokens > encoder.max_length:
            raise InvalidRequest(
                f"The query is {tokens} tokens long; the model reads at most {encoder.max_length}.",
                "query_too_long",
            )
        return text

    def _by_keywords(self, plan: SearchPlan) -> tuple[Ranked, int, int, KeywordQuery, str | None]:
        """Keyword mode (``keyword_mode``): (ranking, total, matches, the query as
        searched, notice)."""
        found = rank_by_keywords(self.keywords, plan)
        ranked = [(i, score, None) for i, score in found.matches]
        return ranked, found.total, found.total, found.keywords, found.notice

    def _by_meaning(
        self, plan: SearchPlan, text: str, weight: float | None
    ) -> tuple[Ranked, int, int | None, KeywordQuery, str | None]:
        """Semantic mode, or hybrid with the semantic ``weight``: (ranking, total, matches,
        the query as searched, notice). In hybrid, papers with the quoted phrases are
        boosted, unless fewer than ``k`` papers contain them."""
        keywords, depth, filters = plan.keywords, plan.depth, plan.filters
        fuse = weight is not None
        if fuse and keywords.phrases:  # ranked as words; the phrases boost (_phrase_boost)
            keywords = keywords.without_quotes()
        # Hybrid fuses the top FUSION_DEPTH of each ranking; a page past them reads both to
        # the deepest rank any page shows, so every page past the head is cut from one and
        # the same fused ranking.
        fusing = FUSION_DEPTH if depth <= FUSION_DEPTH else DEEPEST_RANK
        by_words = None  # the keyword ranking runs beside the encoding and the neighbours
        if fuse and not keywords.empty:  # (a query of stopwords alone: by meaning only)
            by_words = beside(lambda: self.keywords.rank(keywords, fusing, filters))
        allowed = self.retriever.allowed(filters)
        vector = self.query_encoder.encode_query(text)
        count = self.works.count(allowed, self.store.papers.count())
        nearest = self.retriever.nearest(vector, fusing if fuse else depth, allowed)
        if not fuse:
            return [(i, distance_to_score(d), d) for i, d in nearest], count, None, keywords, None
        matches, matching = by_words.result() if by_words is not None else ([], 0)
        among = np.unique([i for i, _ in nearest] + [i for i, _ in matches])
        containing, notice = self._phrase_boost(plan, among)
        ranked = fuse_scores(nearest, matches, weight, containing)
        return ranked, count, matching, keywords, notice

    def _one_per_work(self, ranked: Ranked, matching: int | None) -> tuple[Ranked, int | None]:
        """``ranked`` one hit per work, and the keyword matches less the versions it
        collapsed (exact when the ranking holds every match)."""
        kept = self.works.collapse(ranked)
        if matching is not None:
            matching = len(kept) if matching <= len(ranked) else matching - len(ranked) + len(kept)
        return kept, matching

    def _phrase_boost(self, plan: SearchPlan, among: np.ndarray) -> tuple[set[int], str | None]:
        """Hybrid's candidates (``among``) that contain the quoted phrases, to boost, and a
        notice when fewer than ``k`` papers contain them at all (then none is boosted, as
        the quotes are dropped). One pass over the candidates; the corpus is counted only
        when fewer than ``k`` of them hold the phrases."""
        phrases, k, filters = plan.keywords.phrases, plan.k, plan.filters
        if not phrases:
            return set(), None
        containing = set(self.keywords.containing(phrases, filters, among).tolist())
        if len(containing) >= k:
            return containing, None
        found = self.keywords.count(phrases, filters, up_to=k)
        if found < k:  # too few to boost a page: say the quotes are dropped
            return set(), plan.keywords.phrases_notice(found)
        return containing, None

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
        check_page(k, offset)
        encoder = self.encoder
        started = time.perf_counter()
        vector = encoder.encode_papers([(title, abstract)])[0]
        words = parse_keywords(title).highlight_words
        return self.retriever.nearest_result(
            title, "example", vector, (k, offset, filters), started, words=words
        )

    def search_by_pdf(
        self, data: bytes, k: int = 10, offset: int = 0, *, filters: Filters | None = None
    ) -> SearchResult:
        """Papers like a PDF (a draft): its title and abstract, searched by example; the
        answer says what was read (``example``)."""
        example = read_example(data, self.settings)
        result = self.search_by_example(example.title, example.abstract, k, offset,
                                        filters=filters)  # fmt: skip
        return replace(result, example=example)

    def similar(
        self, paper_id: int, k: int = 10, offset: int = 0, *, filters: Filters | None = None
    ) -> SearchResult:
        """Papers nearest to a stored paper by its proximity embedding, itself left out."""
        started = time.perf_counter()
        check_page(k, offset)
        paper = self.paper(paper_id)
        vector = self.retriever.stored_vectors([paper])[0]
        return self.retriever.nearest_result(
            paper.title, "similar", vector, (k, offset, filters), started, exclude={paper_id},
            seeds=[Seed.of(paper)],
        )  # fmt: skip

    def corpus_facts(self) -> CorpusFacts:
        """What the searchable papers carry, so that clients know which filters can match
        (computed once per store)."""
        return CorpusFacts(**self.store.papers.facts())

    def paper(self, paper_id: int) -> Paper:
        """A work of the build served (its primary version), by the internal id of any of
        its versions (PaperNotInBuild for a paper stored after that build)."""
        return self._work_of(self.store.papers.resolve(int(paper_id)))

    def resolve_paper(self, ref: int | str) -> Paper:
        """A work (its primary version) by any version's internal id, external id (e.g. an
        arXiv id) or DOI, or any other id a version's record gives (a PMID, an OpenAlex
        id: the citation graph's keys)."""
        try:
            return self._work_of(self.store.papers.resolve(ref))
        except PaperNotInBuild:
            raise
        except PaperNotFound:
            found = self.graph.find(str(ref).strip()) if self.graph is not None else None
            if found is None:
                raise
            return self._work_of(self.store.papers.resolve(found))

    def resolve_papers(self, refs: Sequence[int | str]) -> list[Paper]:
        """Each reference's work, in order, each once."""
        papers: dict[int, Paper] = {}
        for ref in refs:
            paper = self.resolve_paper(ref)
            papers.setdefault(paper.id, paper)
        return list(papers.values())

    def detail(self, paper: Paper) -> PaperDetail:
        """A work's page: its primary version's fields, and its other versions."""
        return PaperDetail.from_paper(paper, self.retriever.versions_of([paper.id]).get(paper.id))

    def _work_of(self, paper: Paper) -> Paper:
        primary = self.works.primary(paper.id)
        return paper if primary == paper.id else self.store.papers.resolve(primary)

    def new_in(
        self, result: SearchResult, *, title: str, atom_id: str, days: int = FEED_DAYS
    ) -> Feed:
        """The hits of ``result`` that entered the index in the last ``days`` days: a feed."""
        return new_in(result, self.store, title=title, atom_id=atom_id, days=days)

    # -- internals ----------------------------------------------------------------

    def _sorted(self, ranked: Ranked, sort: str) -> Ranked:
        """``ranked`` newest or most cited first; stable, so ties keep their rank. Reads no
        rows: the served papers' keys are read once a build."""
        order = self.store.papers.sort_keys(sort).highest_first(i for i, _, _ in ranked)
        return [ranked[position] for position in order]
