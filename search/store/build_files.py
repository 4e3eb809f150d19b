"""Every file of an index build, named in one place: its FAISS index, its on-disk inverted
lists when it has them, its keyword index and its citation graph (directories), side by
side in the builds directory. What a build's checksum covers, what a killed run may
leave behind and what pruning deletes are all read from here.

A build in shards (``PAPERSEARCH_SHARDS``) keeps its trained, empty index (the centroids
every shard shares) under the index's name, and each shard's FAISS index, lists and
keyword index under the same names with ``.shard-S-of-N`` before the suffix. A paper's
shard is a stable hash of its id (:func:`shard_of`), so that each shard of a nightly
build is derived from the same shard of the previous one.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

INDEX_SUFFIX = ".faiss"
LISTS_SUFFIX = ".ivfdata"  # FAISS's on-disk inverted lists, for a build too large for memory
KEYWORDS_SUFFIX = ".keywords"  # the build's Tantivy index, a directory
GRAPH_SUFFIX = ".graph"  # the build's citation graph (search.graph), a directory
SHARD_MARK = ".shard-"  # build-000012.shard-2-of-3.faiss


def shard_of(ids: np.ndarray, shards: int) -> np.ndarray:
    """Each paper id's shard, 0 to ``shards`` − 1: splitmix64 of the id, so that papers
    spread evenly whatever their ids and a paper stays in its shard from build to build."""
    x = np.asarray(ids, dtype=np.uint64)
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return (x % np.uint64(shards)).astype(np.int64)


@dataclass(frozen=True)
class ShardFiles:
    """One shard's FAISS index, its on-disk lists and its keyword index (None: it has
    none)."""

    index: Path
    lists: Path | None
    keywords: Path | None


@dataclass(frozen=True)
class BuildFiles:
    """One build's files: ``lists``, ``keywords`` and ``graph`` None when it has none. With
    ``shards`` > 1, ``index`` holds the shared centroids and :meth:`shard` names the rest."""

    index: Path
    lists: Path | None
    keywords: Path | None
    graph: Path | None = None
    shards: int = 1

    @classmethod
    def named(cls, directory: Path, build_id: int, shards: int = 1) -> BuildFiles:
        """The names a build's files are written under, all of them (what a killed run may
        have left of any)."""
        stem = f"build-{build_id:06d}"
        return cls(*(directory / f"{stem}{suffix}" for suffix in
                     (INDEX_SUFFIX, LISTS_SUFFIX, KEYWORDS_SUFFIX, GRAPH_SUFFIX)),
                   shards=shards)  # fmt: skip

    @classmethod
    def recorded(
        cls, directory: Path, path: str, lists: str | None, keywords: str | None,
        graph: str | None = None, shards: int | None = 1,
    ) -> BuildFiles:  # fmt: skip
        """The files a build's row records: names in ``directory`` (rows from older releases
        hold absolute paths, still honoured)."""
        index = Path(path)
        return cls(index if index.is_absolute() else directory / index,
                   directory / lists if lists else None,
                   directory / keywords if keywords else None,
                   directory / graph if graph else None, shards or 1)  # fmt: skip

    def shard(self, number: int) -> ShardFiles:
        """Shard ``number``'s files (0-based); a build of one shard has only shard 0, its
        own files."""
        if self.shards == 1:
            return ShardFiles(self.index, self.lists, self.keywords)
        mark = f"{SHARD_MARK}{number + 1}-of-{self.shards}"

        def named(path: Path | None) -> Path | None:
            return path.with_name(path.stem + mark + path.suffix) if path is not None else None

        return ShardFiles(named(self.index), named(self.lists), named(self.keywords))

    def parts(self) -> list[ShardFiles]:
        """Every shard's files, in shard order."""
        return [self.shard(number) for number in range(self.shards)]

    def checksummed(self) -> list[Path]:
        """The files the build's checksum covers, in its order: the index, the lists, every
        file of the keyword index (of each shard, in order, after the shared centroids),
        then every file of the citation graph."""
        from search.graph.files import graph_files

        files = [self.index] if self.shards > 1 else []
        for number in range(self.shards):
            files += self.shard_checksummed(number)
        return files + (graph_files(self.graph) if self.graph else [])

    def shared(self) -> list[Path]:
        """In shards, the files every server reads itself, whatever serves the shards: the
        centroids and the citation graph (their checksum is ``part_checksums["shared"]``)."""
        from search.graph.files import graph_files

        return [self.index, *(graph_files(self.graph) if self.graph else [])]

    def shard_checksummed(self, number: int) -> list[Path]:
        """Shard ``number``'s files, as ``part_checksums["shards"]`` covers them."""
        from search.keyword_index.documents import index_files

        part = self.shard(number)
        keywords = index_files(part.keywords) if part.keywords else []
        return [part.index, *([part.lists] if part.lists else []), *keywords]

    def remove(self) -> None:
        """Delete whatever of them exists, every shard's too (whatever their number)."""
        shard_files = self.index.parent.glob(self.index.stem + SHARD_MARK + "*")
        for path in (self.index, self.lists, self.keywords, self.graph, *shard_files):
            if path is None:
                continue
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
