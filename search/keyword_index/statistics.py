"""The whole corpus's word statistics, for a build in shards.

Each shard's BM25 would weigh a word by how rare it is in that shard; its term queries
are boosted so that it weighs the word by its rarity in the whole corpus
(:func:`corpus_weights`). That takes each term's document frequency in every shard: a
build's never change, so they are asked of the shards once a term and kept (the words
queries repeat are few), and a query whose terms are all known goes to the shards once,
not twice: a round less to every shard's host when shards are served from others.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Sequence

from search.base.parallel import each

Weighed = tuple[str, tuple[str, ...]]  # a field and the stems whose BM25 is weighed there
MAX_KEPT_TERMS = 1 << 16  # weighed terms whose frequencies are kept, least recent dropped


class CorpusStatistics:
    """The document frequencies of the weighed terms in every shard of ``parts`` (each
    with ``statistics(weighed)``), asked once a term and kept, up to ``kept`` terms."""

    def __init__(self, parts: Sequence, kept: int = MAX_KEPT_TERMS) -> None:
        self._parts = parts
        self._limit = kept
        self._frequencies: OrderedDict[Weighed, tuple[tuple[int, ...], ...]] = OrderedDict()
        self._papers: list[int] | None = None
        self._lock = threading.Lock()

    def weights(self, weighed: Sequence[Weighed]) -> list[dict[Weighed, float]]:
        """For each shard, the factor on each of ``weighed``'s BM25 (:func:`corpus_weights`)."""
        with self._lock:
            found = {key: self._frequencies[key] for key in weighed if key in self._frequencies}
            for key in found:
                self._frequencies.move_to_end(key)
            papers = self._papers
        missing = [key for key in weighed if key not in found]
        if missing or papers is None:
            papers, learned = self._learn(missing)
            found.update(learned)
        statistics = [(papers[s], [list(found[key][s]) for key in weighed])
                      for s in range(len(self._parts))]  # fmt: skip
        return corpus_weights(weighed, statistics)

    def _learn(self, missing: list[Weighed]) -> tuple[list[int], dict]:
        """(each shard's papers, ``missing``'s frequencies in every shard), asked of the
        shards and kept."""
        answers = each(lambda part: part.statistics(missing), self._parts)
        papers = [int(count) for count, _ in answers]
        learned = {key: tuple(tuple(found[j]) for _, found in answers)
                   for j, key in enumerate(missing)}  # fmt: skip
        with self._lock:
            self._papers = papers
            self._frequencies.update(learned)
            while len(self._frequencies) > self._limit:
                self._frequencies.popitem(last=False)
        return papers, learned


def corpus_weights(
    weighed: Sequence[Weighed], statistics: Sequence[tuple[int, list[list[int]]]]
) -> list[dict[Weighed, float]]:
    """For each shard, the factor on each weighed term's BM25 that makes the shard weigh it
    as one index of the whole corpus would: the term's IDF over every shard over its IDF in
    the shard. Tantivy's IDF is ln(1 + (N − n + 0.5) / (n + 0.5)), for N papers of which
    n hold the term; a phrase's is the sum of its words'."""
    total = sum(papers for papers, _ in statistics)
    weights = []
    for papers, frequencies in statistics:
        factors = {}
        for j, key in enumerate(weighed):
            overall = sum(_idf(sum(s[1][j][w] for s in statistics), total)
                          for w in range(len(key[1])))  # fmt: skip
            local = sum(_idf(n, papers) for n in frequencies[j])
            factors[key] = overall / local if local > 0 else 1.0
        weights.append(factors)
    return weights


def _idf(holding: int, papers: int) -> float:
    return math.log1p((papers - holding + 0.5) / (holding + 0.5)) if holding else 0.0
