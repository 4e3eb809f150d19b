"""Sparse rows (``search.graph.files``) written front to back, a row range at a time: from
edges spilled in row-range buckets (a full write), or by merging an earlier build's rows
with the few edges that changed (a derivation)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from indexer.graph.spill import ArrayFile, Spill, unique_sorted
from search.graph.files import indices_file, indptr_file

EDGE = np.dtype([("row", "<i4"), ("col", "<i4")])
ROWS_PER_BUCKET = 100_000  # rows of a bucket of spilled edges
MAX_BUCKETS = 1024


class RowsWriter:
    """One direction's (or the claims') row starts and columns, appended in row order."""

    def __init__(self, directory: Path, name: str, n: int) -> None:
        self.n, self.row, self.total = n, 0, 0
        self._indptr = ArrayFile(directory / indptr_file(name), np.int64)
        self._indices = ArrayFile(directory / indices_file(name), np.int32)
        self._indptr.write(np.zeros(1, dtype=np.int64))

    def add(self, rows: np.ndarray, columns: np.ndarray, upto: int) -> None:
        """The rows from where the last call stopped to ``upto`` (exclusive): ``rows[i]``
        (ascending, in that range) has ``columns[i]`` (ascending within a row)."""
        counts = np.bincount(np.asarray(rows, dtype=np.int64) - self.row, minlength=upto - self.row)
        self.add_counts(counts, columns)

    def add_counts(self, counts: np.ndarray, columns: np.ndarray) -> None:
        """The next ``len(counts)`` rows: row i has the next ``counts[i]`` of ``columns``."""
        self._indptr.write(self.total + np.cumsum(counts))
        self._indices.write(columns)
        self.total += len(columns)
        self.row += len(counts)

    def close(self) -> int:
        """The columns written; rows not reached are empty."""
        if self.row < self.n:
            self.add(np.zeros(0, np.int64), np.zeros(0, np.int32), self.n)
        self._indptr.close()
        self._indices.close()
        return self.total


def row_buckets(n: int) -> tuple[int, int]:
    """(buckets, rows per bucket) for spilling the edges of ``n`` rows."""
    buckets = int(min(MAX_BUCKETS, max(1, -(-n // ROWS_PER_BUCKET))))
    return buckets, max(1, -(-n // buckets))


def edge_spill(directory: Path, buckets: int, rows_per_bucket: int, buffer: int) -> Spill:
    """A spill of edges in row-range buckets."""
    return Spill(directory, EDGE, buckets, lambda edges: edges["row"] // rows_per_bucket, buffer)


def spill_edges(spill: Spill, rows: np.ndarray, columns: np.ndarray) -> None:
    edges = np.zeros(len(rows), dtype=EDGE)
    edges["row"], edges["col"] = rows, columns
    spill.add(edges)


def write_spilled(spill: Spill, n: int, rows_per_bucket: int, directory: Path, name: str) -> int:
    """Sparse rows of the spilled edges, each once: the edge count."""
    spill.flush()
    writer = RowsWriter(directory, name, n)
    width = max(n, 1)
    for number in range(spill.buckets):
        edges = spill.take(number)
        pairs = unique_sorted(edges["row"].astype(np.int64) * width + edges["col"])
        writer.add(pairs // width, pairs % width, min(n, (number + 1) * rows_per_bucket))
    spill.remove()
    return writer.close()
