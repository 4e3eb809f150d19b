"""Reading a build's keyword index: rankings, phrase containment and counts.

A build in shards has one Tantivy index a shard (:class:`KeywordShard`; served from
another host by ``search.shards``), searched at once (``search.base.parallel``) and
merged into one ranking by (score, id). Each shard's BM25 would weigh a word by how
rare it is in that shard; here every shard's term queries are boosted so that it weighs
the word by its rarity in the whole corpus (``search.keyword_index.statistics``): the
shards' scores then differ from one index's only by their documents' mean length, which
a hash of the ids keeps nearly the same in every shard.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from search.base.errors import IndexCorrupt
from search.base.metrics import KEYWORD_SECONDS, timed
from search.base.parallel import each
from search.keyword_index import queries
from search.keyword_index.documents import FORMAT, Manifest, analyzers
from search.keyword_index.statistics import CorpusStatistics, Weighed
from search.query.filters import Filters
from search.query.keywords import KeywordQuery, Phrases

NO_FILTERS = Filters()
Ranking = list[tuple[int, float]]


class KeywordIndex:
    """One build's keyword index (of each of its shards), opened read-only (memory-mapped
    by Tantivy). Safe to use from many threads: each query takes searchers of its own."""

    def __init__(self, directory: Path | Sequence[Path] | None = None, *, parts=()) -> None:
        directories = [directory] if isinstance(directory, Path) else list(directory or ())
        self.parts = list(parts) or [KeywordShard(d) for d in directories]
        self.papers = sum(part.papers for part in self.parts)
        self.statistics = CorpusStatistics(self.parts)

    @property
    def directory(self) -> Path:
        """Where the (first shard's) index is, on this host."""
        return self.parts[0].directory

    @timed(KEYWORD_SECONDS)
    def rank(
        self, query: KeywordQuery, limit: int, filters: Filters = NO_FILTERS
    ) -> tuple[Ranking, int]:
        """([(id, BM25 score)] best first, equal scores by id; how many papers match) for
        the papers with any of the query's words, every phrase, and the filters. In
        shards, each scores on the whole corpus's IDF (``CorpusStatistics``)."""
        weights: list = [None] * len(self.parts)
        if len(self.parts) > 1:  # one index weighs by its own statistics: none to gather
            weighed = queries.weighed(query, filters)
            if weighed is None:
                return [], 0
            weights = self.statistics.weights(weighed)
        found = each(lambda j: self.parts[j].rank(query, limit, filters, weights[j]),
                     range(len(self.parts)))  # fmt: skip
        merged = sorted((pair for ranked, _ in found for pair in ranked),
                        key=lambda pair: (-pair[1], pair[0]))  # fmt: skip
        return merged[:limit], sum(count for _, count in found)

    def containing(
        self, phrases: Phrases, filters: Filters = NO_FILTERS, among: np.ndarray | None = None
    ) -> np.ndarray:
        """Sorted ids of the papers that contain every phrase and pass the filters, among
        ``among`` (sorted ids) when it is given: hybrid asks only of its candidates."""
        if among is not None and len(among) == 0:
            return np.zeros(0, dtype=np.int64)
        found = each(lambda part: part.containing(phrases, filters, among), self.parts)
        return np.sort(np.concatenate(found))

    def count(self, phrases: Phrases, filters: Filters = NO_FILTERS, *, up_to: int) -> int:
        """How many papers contain every phrase and pass the filters, counted up to
        ``up_to`` (the fallback to unquoted words needs only to know if k do)."""
        return min(sum(each(lambda part: part.count(phrases, filters, up_to), self.parts)), up_to)


class KeywordShard:
    """One Tantivy index (a build's, or one shard's) in this process."""

    def __init__(self, directory: Path) -> None:
        import tantivy

        try:
            manifest = Manifest.read(directory)
            if manifest.format != FORMAT:
                raise IndexCorrupt(f"keyword index {directory} has format {manifest.format}, "
                                   f"not {FORMAT}: run `papersearch db upgrade`")  # fmt: skip
            self._index = tantivy.Index.open(str(directory))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexCorrupt(f"keyword index {directory} cannot be opened ({exc})") from exc
        for name, analyzer in analyzers().items():
            self._index.register_tokenizer(name, analyzer)
        self.directory = directory
        self.papers = manifest.papers

    def searcher(self):
        return self._index.searcher()

    def statistics(self, weighed: Sequence[Weighed]) -> tuple[int, list[list[int]]]:
        """(papers, each weighed term's stems' document frequencies): what the corpus's
        IDF is summed from."""
        searcher = self._index.searcher()
        return int(searcher.num_docs), [[int(searcher.doc_freq(field, stem)) for stem in stems]
                                        for field, stems in weighed]  # fmt: skip

    def rank(
        self, query: KeywordQuery, limit: int, filters: Filters, weights: dict | None = None
    ) -> tuple[Ranking, int]:
        """This index's top ``limit`` by (score, id), and its matches; ``weights`` scale
        each weighed term's BM25 (``search.keyword_index.statistics``).

        Tantivy orders equal scores by where documents sit in its segments, which differs
        between two indexes of the same papers. Here they go by paper id, the same on
        every store and build: the hits tied with the last one are all fetched (a second,
        deeper search, when the tie runs past ``limit``) before the list is cut, so a
        page read at any depth is cut from the same ranking (and shards' lists merge
        into it)."""
        weigh = (lambda field, stems: weights.get((field, stems), 1.0)) if weights else None
        built = queries.ranking(query, filters, weigh)
        if built is None:
            return [], 0
        searcher = self._index.searcher()
        depth = limit + 1  # one past the cut: does a tie cross it?
        found = searcher.search(built, depth, count=True)
        hits = found.hits
        while len(hits) == depth and hits[-1][0] == hits[limit - 1][0]:
            depth *= 4  # the tie at the cut may go on: read past it
            hits = searcher.search(built, depth, count=False).hits
        ids = searcher.fast_field_values("id", [address for _, address in hits])
        ranked = sorted(((int(i), float(score)) for i, (score, _) in zip(ids, hits, strict=True)),
                        key=lambda pair: (-pair[1], pair[0]))  # fmt: skip
        return ranked[:limit], int(found.count)

    def containing(
        self, phrases: Phrases, filters: Filters, among: np.ndarray | None
    ) -> np.ndarray:
        """Ids of this index's papers with every phrase that pass the filters (among
        ``among``, sorted ids, when given)."""
        from tantivy import Occur, Query

        built = queries.containing(phrases, filters)
        if built is None:
            return np.zeros(0, dtype=np.int64)
        if among is not None:
            ids = Query.term_set_query(queries._schema(), "id", [int(i) for i in among])
            built = Query.boolean_query([(Occur.Must, built), (Occur.Must, ids)])
        searcher = self._index.searcher()
        limit = len(among) if among is not None else max(searcher.num_docs, 1)
        found = searcher.search(built, limit, count=False)
        return np.asarray(searcher.fast_field_values("id", [a for _, a in found.hits]),
                          dtype=np.int64)  # fmt: skip

    def count(self, phrases: Phrases, filters: Filters, up_to: int) -> int:
        """This index's papers with every phrase that pass the filters, up to ``up_to``."""
        built = queries.containing(phrases, filters)
        if built is None:
            return 0
        return len(self._index.searcher().search(built, up_to, count=False).hits)
