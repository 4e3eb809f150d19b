"""Edges read from files of edges (Semantic Scholar's citations dataset), kept in the data
directory for every build to resolve again: sorted, unique (citing key hash, cited key
hash) pairs (``search.graph.keys``), 16 bytes an edge.

A run that reads a file of edges as a full snapshot replaces the pairs kept; a delta
adds to them. A build's fingerprint includes their SHA-256, so new edges publish a new
build.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from search.base.atomic_files import TEMPORARY_SUFFIX, write_atomically
from search.graph.keys import key_hashes

EDGES_DIR = "citations"
CURRENT = "current"  # names the kept file: edges-<its SHA-256>.npy, uint64 (n, 2), sorted
CHUNK = 100_000  # keys hashed at a time


@dataclass
class EdgeBatch:
    """Edges read in a run, hashed a chunk at a time; and those with an end the source
    does not know (counted, not kept)."""

    unknown: int = 0
    _citing: list[str] = field(default_factory=list)
    _cited: list[str] = field(default_factory=list)
    _pairs: list[np.ndarray] = field(default_factory=list)
    read: int = 0

    def add(self, citing: str | None, cited: str | None) -> None:
        self.read += 1
        if citing is None or cited is None:
            self.unknown += 1
            return
        self._citing.append(citing)
        self._cited.append(cited)
        if len(self._citing) >= CHUNK:
            self._flush()

    def pairs(self) -> np.ndarray:
        self._flush()
        if not self._pairs:
            return np.zeros((0, 2), dtype=np.uint64)
        return np.unique(np.concatenate(self._pairs), axis=0)

    def _flush(self) -> None:
        if self._citing:
            self._pairs.append(np.stack([key_hashes(self._citing), key_hashes(self._cited)], 1))
            self._citing, self._cited = [], []


class EdgeStore:
    """The edges kept in a data directory (none until a file of edges is read): a file
    named by its SHA-256, and ``current`` naming it, replaced in one rename once the file
    is fsynced, so that a run killed at any point leaves the edges before or after it."""

    def __init__(self, home: Path) -> None:
        self.directory = home / EDGES_DIR

    def digest(self) -> str:
        """The SHA-256 of the kept edges ("" when none are kept)."""
        pointer = self.directory / CURRENT
        return pointer.read_text().strip() if pointer.is_file() else ""

    def read(self) -> np.ndarray:
        digest = self.digest()
        if not digest:
            return np.zeros((0, 2), dtype=np.uint64)
        return np.load(self.directory / f"edges-{digest}.npy", mmap_mode="r")

    def write(self, pairs: np.ndarray, *, replace: bool) -> int:
        """Keep ``pairs`` instead of the edges kept (``replace``), or besides them; how
        many edges are kept afterwards."""
        before = self.digest()
        if not replace and before:
            pairs = np.unique(np.concatenate([np.asarray(self.read()), pairs]), axis=0)
        pairs = np.ascontiguousarray(pairs, dtype=np.uint64)
        digest = hashlib.sha256(pairs.tobytes()).hexdigest()
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.directory / f"edges-{digest}.npy"
        write_atomically(target, lambda tmp: _save(tmp, pairs))
        write_atomically(self.directory / CURRENT, lambda tmp: tmp.write_text(f"{digest}\n"))
        for old in [
            *self.directory.glob("edges-*.npy"),
            *self.directory.glob(f"*{TEMPORARY_SUFFIX}"),
        ]:
            if old != target:  # earlier edges, and what a killed run left
                old.unlink(missing_ok=True)
        return len(pairs)


def _save(path: Path, pairs: np.ndarray) -> None:
    with open(path, "wb") as fh:  # np.save of a path would add ".npy" to the temporary name
        np.save(fh, pairs)
