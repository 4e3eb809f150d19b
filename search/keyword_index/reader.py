"""Reading a build's keyword index: rankings, phrase containment and counts."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from search.base.errors import IndexCorrupt
from search.base.metrics import KEYWORD_SECONDS, timed
from search.keyword_index import queries
from search.keyword_index.documents import FORMAT, Manifest, analyzers
from search.query.filters import Filters
from search.query.keywords import KeywordQuery, Phrases

NO_FILTERS = Filters()


class KeywordIndex:
    """One build's keyword index, opened read-only (memory-mapped by Tantivy). Safe to use
    from many threads: each query takes a searcher of its own."""

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

    @timed(KEYWORD_SECONDS)
    def rank(
        self, query: KeywordQuery, limit: int, filters: Filters = NO_FILTERS
    ) -> tuple[list[tuple[int, float]], int]:
        """([(id, BM25 score)] best first, equal scores by id; how many papers match) for
        the papers with any of the query's words, every phrase, and the filters.

        Tantivy orders equal scores by where documents sit in its segments, which differs
        between two indexes of the same papers. Here they go by paper id, the same on
        every store and build: the hits tied with the last one are all fetched (a second,
        deeper search, when the tie runs past ``limit``) before the list is cut, so a
        page read at any depth is cut from the same ranking."""
        built = queries.ranking(query, filters)
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
        searcher = self._index.searcher()
        limit = len(among) if among is not None else max(searcher.num_docs, 1)
        found = searcher.search(built, limit, count=False)
        ids = searcher.fast_field_values("id", [address for _, address in found.hits])
        return np.sort(np.asarray(ids, dtype=np.int64))

    def count(self, phrases: Phrases, filters: Filters = NO_FILTERS, *, up_to: int) -> int:
        """How many papers contain every phrase and pass the filters, counted up to
        ``up_to`` (the fallback to unquoted words needs only to know if k do)."""
        built = queries.containing(phrases, filters)
        if built is None:
            return 0
        return len(self._index.searcher().search(built, up_to, count=False).hits)
