"""A build's FAISS index in shards (``PAPERSEARCH_SHARDS``): the IVF centroids trained once,
on a sample of the whole corpus, and each shard's vectors added to a copy of them. So
every shard has the same lists, and a query probes the same lists in each
(``search.ann.faiss_index``). The trained, empty index is written too: the centroids
that assign a query its lists.

Each shard reads the corpus's vectors once, keeping its own (``ShardVectors``); its
lists go to disk, as ``indexer.ivf`` decides, when the largest shard's would not fit
in the build memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from indexer import ivf
from indexer.ivf import BuiltIndex, VectorSource
from search.ann.faiss_index import VectorIndex
from search.store.build_files import shard_of


def build_shards(
    source: VectorSource,
    shards: int,
    shard_lists: Sequence[Path],
    *,
    nlist: int | None = None,
    nprobe: int | None = None,
    device: str = "auto",
    memory_budget: int | None = None,
    build_memory: int = ivf.DEFAULT_BUILD_MEMORY,
    seed: int = 1234,
    trained: VectorIndex | None = None,
) -> BuiltIndex:
    """:func:`indexer.ivf.build`'s index, in ``shards``: ``index`` is the trained, empty
    index (the shared centroids), ``parts`` each shard's, with their on-disk lists at
    ``shard_lists`` when they need them."""
    plan, template, where = ivf.trained_template(source, nlist, memory_budget, build_memory,
                                                 device, seed, trained)  # fmt: skip
    sources = [ShardVectors(source, shard, shards) for shard in range(shards)]
    if plan.nlist is None:
        parts = [ivf.fill(template, part, plan, "cpu", None) for part in sources]
        return BuiltIndex(template, "Flat", None, None, "cpu", parts=parts)
    largest = max(len(part) for part in sources)
    on_disk, block_rows = ivf.lists_placement(largest, plan.dim, plan.encoding, build_memory)
    plan = replace(plan, on_disk=on_disk, block_rows=block_rows)
    lists = list(shard_lists) if on_disk else [None] * shards
    parts = [ivf.fill(template, part, plan, where, at)
             for part, at in zip(sources, lists, strict=True)]  # fmt: skip
    return BuiltIndex(template, plan.index_type, plan.nlist, ivf.probes(plan, nprobe, trained),
                      where, parts=parts, lists_files=lists if on_disk else None)  # fmt: skip


class ShardVectors:
    """The vectors of one shard of a :class:`VectorSource` (``shard_of`` their ids)."""

    def __init__(self, source: VectorSource, shard: int, shards: int) -> None:
        self.source, self.shard, self.shards = source, shard, shards
        self.ids = source.ids[shard_of(source.ids, shards) == shard]

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def dim(self) -> int:
        return self.source.dim

    def chunks(self, rows: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for ids, vectors in self.source.chunks(rows):
            keep = shard_of(ids, self.shards) == self.shard
            if keep.any():
                yield ids[keep], vectors[keep]

    def sample(self, n: int, seed: int = 1234) -> tuple[np.ndarray, np.ndarray]:
        ids, vectors = self.source.sample(n * self.shards, seed)
        keep = shard_of(ids, self.shards) == self.shard
        return ids[keep][:n], vectors[keep][:n]
