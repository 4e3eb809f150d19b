"""Reading a build's keyword index: rankings, phrase containment and counts.

A build in shards has one Tantivy index a shard, searched at once
(``search.base.parallel``) and merged into one ranking by (score, id). Each shard's BM25
would weigh a word by how rare it is in that shard; here every shard's term queries are
boosted so that it weighs the word by its rarity in the whole corpus (:class:`CorpusIdf`):
the shards' scores then differ from one index's only by their documents' mean length,
which a hash of the ids keeps nearly the same in every shard.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from search.base.errors import IndexCorrupt
from search.base.metrics import KEYWORD_SECONDS, timed
from search.base.parallel import each
from search.keyword_index import queries
from search.keyword_index.documents import FORMAT, Manifest, analyzers
from search.query.filters import Filters
from search.query.keywords import KeywordQuery, Phrases

NO_FILTERS = Filters()
Ranking = list[tuple[int, float]]


class KeywordIndex:
    """One build's keyword index (of each of its shards), opened read-only (memory-mapped
    by Tantivy). Safe to use from many threads: each query takes searchers of its own."""

    def __init__(self, directory: Path | Sequence[Path]) -> None:
        directories = [directory] if isinstance(directory, Path) else list(directory)
        self.parts = [_open(d) for d in directories]
        self.directory = directories[0]
        self.papers = sum(Manifest.read(d).papers for d in directories)

    @timed(KEYWORD_SECONDS)
    def rank(
        self, query: KeywordQuery, limit: int, filters: Filters = NO_FILTERS
    ) -> tuple[Ranking, int]:
        """([(id, BM25 score)] best first, equal scores by id; how many papers match) for
        the papers with any of the query's words, every phrase, and the filters. In
        shards, the score of each is on the whole corpus's IDF (:class:`CorpusIdf`)."""
        searchers = [index.searcher() for index in self.parts]
        idf = CorpusIdf(searchers) if len(searchers) > 1 else None
        built = [queries.ranking(query, filters, idf.weigh(j) if idf else None)
                 for j in range(len(searchers))]  # fmt: skip
        if built[0] is None:
            return [], 0
        found = each(lambda j: _rank(searchers[j], built[j], limit), range(len(searchers)))
        merged = sorted((pair for ranked, _ in found for pair in ranked),
                        key=lambda pair: (-pair[1], pair[0]))  # fmt: skip
        return merged[:limit], sum(count for _, count in found)

    def containing(
        self, phrases: Phrases, filters: Filters = NO_FILTERS, among: np.ndarray | None = None
    ) -> np.ndarray:
        """Sorted ids of the papers that contain every phrase and pass the filters, among
        ``among`` (sorted ids) when it is given: hybrid asks only of its candidates."""
        from tantivy import Occur, Query

        built = queries.containing(phrases, filters)
        if built is None or (among is not None and len(among) == 0):
            return np.zeros(0, dtype=np.int64)
        if among is not None:
            ids = Query.term_set_query(queries._schema(), "id", [int(i) for i in among])
            built = Query.boolean_query([(Occur.Must, built), (Occur.Must, ids)])

        def holding(index) -> np.ndarray:
            searcher = index.searcher()
            limit = len(among) if among is not None else max(searcher.num_docs, 1)
            found = searcher.search(built, limit, count=False)
            return np.asarray(searcher.fast_field_values("id", [a for _, a in found.hits]),
                              dtype=np.int64)  # fmt: skip

        return np.sort(np.concatenate(each(holding, self.parts)))

    def count(self, phrases: Phrases, filters: Filters = NO_FILTERS, *, up_to: int) -> int:
        """How many papers contain every phrase and pass the filters, counted up to
        ``up_to`` (the fallback to unquoted words needs only to know if k do)."""
        built = queries.containing(phrases, filters)
        if built is None:
            return 0
        found = each(lambda index: len(index.searcher().search(built, up_to, count=False).hits),
                     self.parts)  # fmt: skip
        return min(sum(found), up_to)


class CorpusIdf:
    """What makes a shard's BM25 weigh words as one index of the whole corpus would: the
    ratio of a term's IDF over every shard to its IDF in the shard. Tantivy's IDF is
    ln(1 + (N − n + 0.5) / (n + 0.5)), for N papers of which n hold the term, and a
    phrase's is the sum of its words'; document frequencies are read once a query."""

    def __init__(self, searchers: Sequence) -> None:
        self._searchers = searchers
        self._papers = [int(s.num_docs) for s in searchers]
        self._frequencies: dict[tuple[str, str], list[int]] = {}

    def weigh(self, shard: int):
        """``queries.Weigh`` for shard number ``shard``."""

        def weigh(field: str, stems: tuple[str, ...]) -> float:
            local = sum(_idf(self._of(field, s)[shard], self._papers[shard]) for s in stems)
            overall = sum(_idf(sum(self._of(field, s)), sum(self._papers)) for s in stems)
            return overall / local if local > 0 else 1.0

        return weigh

    def _of(self, field: str, stem: str) -> list[int]:
        key = (field, stem)
        if key not in self._frequencies:
            self._frequencies[key] = [int(s.doc_freq(field, stem)) for s in self._searchers]
        return self._frequencies[key]


def _idf(holding: int, papers: int) -> float:
    return math.log1p((papers - holding + 0.5) / (holding + 0.5)) if holding else 0.0


def _open(directory: Path):
    """A shard's Tantivy index, its manifest's format checked and the analyzers set."""
    import tantivy

    try:
        manifest = Manifest.read(directory)
        if manifest.format != FORMAT:
            raise IndexCorrupt(f"keyword index {directory} has format {manifest.format}, "
                               f"not {FORMAT}: run `papersearch db upgrade`")  # fmt: skip
        index = tantivy.Index.open(str(directory))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexCorrupt(f"keyword index {directory} cannot be opened ({exc})") from exc
    for name, analyzer in analyzers().items():
        index.register_tokenizer(name, analyzer)
    return index


def _rank(searcher, built, limit: int) -> tuple[Ranking, int]:
    """One index's top ``limit`` by (score, id), and its matches.

    Tantivy orders equal scores by where documents sit in its segments, which differs
    between two indexes of the same papers. Here they go by paper id, the same on every
    store and build: the hits tied with the last one are all fetched (a second, deeper
    search, when the tie runs past ``limit``) before the list is cut, so a page read at
    any depth is cut from the same ranking (and shards' lists merge into it)."""
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
