"""One shard of one build, as a Ray Serve replica serves it: the shard's FAISS lists and
keyword index, loaded from this node's builds directory once they pass their checksum.
Its methods are those of the in-process shards (``search.ann.faiss_index.FaissShard``,
``search.keyword_index.reader.KeywordShard``), called through a deployment handle."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from search.ann.faiss_index import FaissShard, read_part, verify
from search.base.errors import IndexCorrupt
from search.keyword_index.reader import KeywordShard
from search.query.filters import Filters
from search.query.keywords import KeywordQuery, Phrases
from search.store.build_files import BuildFiles


class ShardReplica:
    """Shard ``shard`` of build ``build`` (``recorded``: the build's row's file names, its
    shard count and the shard's checksum), read from ``builds_dir`` on this node."""

    def __init__(self, builds_dir: str, build: int, shard: int, recorded: dict) -> None:
        names = (recorded["path"], recorded["lists_path"], recorded["keywords_path"])
        files = BuildFiles.recorded(Path(builds_dir), *names, None, recorded["shards"])
        try:
            verify(files.shard_checksummed(shard), recorded["checksum"])
        except IndexCorrupt as exc:
            raise IndexCorrupt(f"shard {shard + 1} of build {build}: {exc}") from exc
        part = files.shard(shard)
        self.vectors = FaissShard(read_part(part.index, lists_file=part.lists))
        self.keywords = KeywordShard(part.keywords)
        self.build, self.shard = build, shard

    def describe(self) -> dict:
        """What the engine needs to know of the shard before it asks anything."""
        return {"build": self.build, "shard": self.shard, "vectors": self.vectors.ntotal,
                "papers": self.keywords.papers}  # fmt: skip

    def search_all(self, queries: np.ndarray, k: int, bits: np.ndarray | None):
        return self.vectors.search_all(queries, k, bits)

    def search_lists(self, queries: np.ndarray, k: int, lists: np.ndarray, coarse: np.ndarray,
                     bits: np.ndarray | None):  # fmt: skip
        return self.vectors.search_lists(queries, k, lists, coarse, bits)

    def statistics(self, weighed: list) -> tuple[int, list[list[int]]]:
        return self.keywords.statistics(weighed)

    def rank(self, query: KeywordQuery, limit: int, filters: Filters, weights: dict | None):
        return self.keywords.rank(query, limit, filters, weights)

    def containing(self, phrases: Phrases, filters: Filters, among: np.ndarray | None):
        return self.keywords.containing(phrases, filters, among)

    def count(self, phrases: Phrases, filters: Filters, up_to: int) -> int:
        return self.keywords.count(phrases, filters, up_to)

    def check_health(self) -> None:
        """Serve's health check: a loaded replica is healthy (a dead one is replaced)."""
