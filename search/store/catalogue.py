"""Reading the vector shards: where each paper's newest row is, and the rows themselves.

The :class:`Catalogue` holds, sorted by paper id, each paper's newest row (a
paper embedded again has a row in a newer shard, and the newest wins): 32 bytes
a paper. :class:`ShardReader` keeps each shard's vectors memory-mapped once and
copies rows out of them; :class:`LiveVectors` is what an index build reads
through it, a chunk at a time.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from search.store.schema import VectorShard
from search.store.shards import HASH_BYTES, read_part

FINGERPRINT_ROWS = 1 << 20  # rows hashed at a time


@dataclass(frozen=True)
class Catalogue:
    """Where each paper's newest row is, sorted by paper id: 32 bytes a paper."""

    manifest: tuple[VectorShard, ...]
    ids: np.ndarray  # int64
    shards: np.ndarray  # int32, index into ``manifest``
    rows: np.ndarray  # int32, row in that shard
    hashes: np.ndarray  # (n, HASH_BYTES) uint8

    @classmethod
    def of(cls, manifest: Sequence[VectorShard], read: Callable[[str, str], np.ndarray]):
        """The catalogue of ``manifest`` (oldest shard first); ``read(name, part)`` reads a
        shard's ``ids`` or ``hashes``."""
        manifest = tuple(manifest)
        if not manifest:
            empty = (np.empty(0, dtype=t) for t in (np.int64, np.int32, np.int32))
            return cls(manifest, *empty, np.empty((0, HASH_BYTES), dtype=np.uint8))
        ids = [read(s.name, "ids") for s in manifest]
        shards = np.repeat(np.arange(len(ids), dtype=np.int32), [len(i) for i in ids])
        rows = np.concatenate([np.arange(len(i), dtype=np.int32) for i in ids])
        ids = np.concatenate(ids)
        # The newest row of each id: sort by id, newest last, keep each id's last.
        order = np.lexsort((shards, ids))
        ids, shards, rows = ids[order], shards[order], rows[order]
        last = np.append(ids[1:] != ids[:-1], True)
        ids, shards, rows = ids[last], shards[last], rows[last]
        hashes = np.empty((len(ids), HASH_BYTES), dtype=np.uint8)
        for number, shard in enumerate(manifest):
            mine = shards == number
            if mine.any():
                hashes[mine] = read(shard.name, "hashes")[rows[mine]]
        return cls(manifest, ids, shards, rows, hashes)

    @property
    def key(self) -> tuple[int, ...]:
        # Shard rows are never changed, only added and deleted: their ids say it all.
        return tuple(s.id for s in self.manifest)

    @property
    def dim(self) -> int:
        return self.manifest[0].dim if self.manifest else 0

    def current(self, ids: np.ndarray, hashes: np.ndarray) -> np.ndarray:
        """Which of ``ids`` have a newest row made from the text whose hash is ``hashes``."""
        at = np.searchsorted(self.ids, ids)
        found = at < len(self.ids)
        found[found] = self.ids[at[found]] == ids[found]
        same = np.zeros(len(ids), dtype=bool)
        same[found] = (self.hashes[at[found]] == hashes[found]).all(axis=1)
        return same

    def find(self, paper_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(which of ``paper_ids`` have a row, the positions of those that do)."""
        at = np.minimum(np.searchsorted(self.ids, paper_ids), max(len(self.ids) - 1, 0))
        found = (self.ids[at] == paper_ids) if len(self.ids) else np.zeros(len(at), dtype=bool)
        return found, at[found]


class ShardReader:
    """The shards' vectors under ``directory``, each memory-mapped once (each mapping holds
    a file descriptor: only the vectors are kept mapped, and shards are merged to keep
    them few)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._opened: dict[tuple[str, str], np.ndarray] = {}
        self._lock = threading.Lock()

    def read(self, model_key: str, name: str, part: str) -> np.ndarray:
        return read_part(self.directory, model_key, name, part)

    def gather(self, model_key: str, where: Catalogue, at: np.ndarray, *,
               release: bool = False) -> np.ndarray:  # fmt: skip
        """The vectors of the catalogue's rows ``at``, read shard by shard.

        ``release``: drop the shards' pages from this process once copied (a build reads
        every shard once; mapped pages it keeps would count in its memory, though the
        kernel could reclaim them)."""
        out = np.empty((len(at), where.dim), dtype=np.float32)
        shards = where.shards[at]
        for number in np.unique(shards):
            mine = shards == number
            vectors = self._vectors(model_key, where.manifest[number].name)
            out[mine] = vectors[where.rows[at[mine]]]
            mapping = getattr(vectors, "_mmap", None)
            if release and mapping is not None and hasattr(mmap, "MADV_DONTNEED"):
                mapping.madvise(mmap.MADV_DONTNEED)
        return out

    def keep_only(self, model_key: str, names: set[str]) -> None:
        """Let the mappings of shards no longer in the manifest go (and their disk space)."""
        with self._lock:
            for key in [k for k in self._opened if k[0] == model_key and k[1] not in names]:
                del self._opened[key]

    def _vectors(self, model_key: str, name: str) -> np.ndarray:
        key = (model_key, name)
        with self._lock:
            opened = self._opened.get(key)
        if opened is None:
            opened = read_part(self.directory, model_key, name, "vectors", mmap_mode="r")
            with self._lock:
                self._opened[key] = opened
        return opened


class LiveVectors:
    """The current vector of every searchable paper of one model, as of one moment:
    what an index build reads, in chunks, never all at once. Valid while the shards it
    was made from exist (a writer holds the write lock while it builds)."""

    def __init__(self, reader: ShardReader, model_key: str, where: Catalogue,
                 positions: np.ndarray) -> None:  # fmt: skip
        self._reader = reader
        self.model_key = model_key
        self.where = where
        self.positions = positions  # into ``where``, in paper id order

    def __len__(self) -> int:
        return len(self.positions)

    @property
    def dim(self) -> int:
        return self.where.dim

    @property
    def ids(self) -> np.ndarray:
        return self.where.ids[self.positions]

    def chunks(self, rows: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(ids int64, vectors float32) in id order, ``rows`` at a time."""
        for start in range(0, len(self.positions), max(rows, 1)):
            part = self.positions[start : start + rows]
            yield self.where.ids[part], self._gather(part, release=True)

    def sample(self, n: int, seed: int = 1234) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of ``n`` papers drawn at random (all of them if fewer)."""
        picked = self.positions
        if n < len(picked):
            rng = np.random.default_rng(seed)
            picked = np.sort(picked[rng.choice(len(picked), n, replace=False)])
        return self.where.ids[picked], self._gather(picked, release=True)

    def all(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) in one array each: only for corpora that fit in memory."""
        return self.ids, self._gather(self.positions)

    def fingerprint(self, *settings: object) -> str:
        """SHA-256 of which papers these are and which texts their vectors were made from
        (and of ``settings``): equal fingerprints, equal builds."""
        digest = hashlib.sha256(json.dumps([self.model_key, *settings]).encode())
        for start in range(0, len(self.positions), FINGERPRINT_ROWS):
            part = self.positions[start : start + FINGERPRINT_ROWS]
            digest.update(self.where.ids[part].tobytes())
            digest.update(self.where.hashes[part].tobytes())
        return digest.hexdigest()

    def _gather(self, at: np.ndarray, *, release: bool = False) -> np.ndarray:
        return self._reader.gather(self.model_key, self.where, at, release=release)
