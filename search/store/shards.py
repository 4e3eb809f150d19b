"""The vector files' layout: one shard is three memory-mappable ``.npy`` files.

A model has a directory, ``vectors/<model key>/``, of append-only shards. A
shard's files are the paper ids (int64), the first 16 bytes of the SHA-256 of
the text each vector was made from, and the vectors (float32). They are written
atomically and only then recorded in the manifest (``search.store.vectors``);
this module needs no database, so that workers on other hosts (the Ray
executor) can write shards into a shared directory.
"""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from search.base.atomic_files import write_atomically
from search.base.errors import VectorsUnavailable
from search.store.schema import VectorShard

HASH_BYTES = 16  # of a text's SHA-256: enough to tell texts apart
PARTS = ("ids", "hashes", "vectors")


@dataclass(frozen=True)
class ShardFile:
    """A shard whose files are written: what the manifest records about it."""

    model_key: str
    name: str
    rows: int
    dim: int

    def record(self) -> VectorShard:
        return VectorShard(model_key=self.model_key, name=self.name, rows=self.rows,
                           dim=self.dim, dtype="float32")  # fmt: skip


def hash_array(text_hashes: Iterable[str]) -> np.ndarray:
    """Hex SHA-256 digests → (n, HASH_BYTES) uint8: their first bytes."""
    raw = b"".join(bytes.fromhex(h)[:HASH_BYTES] for h in text_hashes)
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, HASH_BYTES)


def write_shard(
    directory: Path,
    model_key: str,
    ids: np.ndarray,
    hashes: np.ndarray,
    vectors: np.ndarray | Iterable[np.ndarray],
    *,
    dim: int | None = None,
) -> ShardFile:
    """Write one shard's files (not yet recorded: ``Vectors.record`` does that).

    ``vectors`` is an (n, d) array or, to write a shard larger than memory,
    blocks of rows with ``dim`` given. Needs no database, so that workers on
    other hosts (the Ray executor) can write shards into a shared directory.
    """
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    hashes = np.ascontiguousarray(hashes, dtype=np.uint8)
    if isinstance(vectors, np.ndarray):
        if vectors.ndim != 2 or len(vectors) != len(ids):
            raise ValueError("one vector per paper")
        dim, blocks = vectors.shape[1], [vectors]
    elif dim is None:
        raise ValueError("dim is needed when vectors come in blocks")
    else:
        blocks = vectors
    if hashes.shape != (len(ids), HASH_BYTES):
        raise ValueError("one text hash per paper")
    name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}"
    path = functools.partial(shard_path, directory, model_key, name)
    write_atomically(path("ids"), functools.partial(_save, array=ids))
    write_atomically(path("hashes"), functools.partial(_save, array=hashes))

    def write_vectors(path: Path) -> None:
        out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(len(ids), dim))
        at = 0
        for block in blocks:
            out[at : at + len(block)] = block
            at += len(block)
        if at != len(ids):
            raise ValueError(f"{at} vectors for {len(ids)} papers")
        out.flush()
        del out

    write_atomically(path("vectors"), write_vectors)
    return ShardFile(model_key, name, len(ids), int(dim))


def shard_path(directory: Path, model_key: str, name: str, part: str) -> Path:
    return directory / model_key / f"{name}.{part}.npy"


def read_part(directory: Path, model_key: str, name: str, part: str, mmap_mode=None) -> np.ndarray:
    """One part of a shard (``mmap_mode="r"``: mapped, not read)."""
    path = shard_path(directory, model_key, name, part)
    try:
        return np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
    except FileNotFoundError:
        raise VectorsUnavailable(
            f"The vector file {path} is missing. A host that serves similar papers "
            "and search by example needs the data directory's vectors/ as well as "
            "its builds/ (see docs/hosts.md)."
        ) from None


def _save(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as fh:  # a file object: np.save would add ".npy" to a path
        np.save(fh, array, allow_pickle=False)
