"""Measured IVF tuning: recall@10 against exact search over a grid of nprobe values.

Queries are real: titles of papers in the corpus, encoded as queries. The
ground truth is an exact (flat) L2 search over the same vectors, so the
numbers say what the approximation costs, independently of the model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from search.index import VectorIndex

DEFAULT_TARGET = 0.95
K = 10


@dataclass(frozen=True)
class TuneRow:
    nprobe: int
    recall: float  # mean recall@10 against exact search
    ms_per_query: float  # single-query search latency


def nprobe_grid(nlist: int) -> list[int]:
    grid, value = [], 1
    while value < nlist:
        grid.append(value)
        value *= 2
    return grid + [nlist]


def top_k_overlap(found, truth) -> float:
    """Mean share of each row of ``truth`` (ids, k per query) that ``found`` also holds:
    recall@k against exact search, or agreement between two rankings."""
    return float(
        np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)])
    )


def exact_top_k(ids: np.ndarray, vectors: np.ndarray, queries: np.ndarray, k: int = K):
    import faiss

    flat = faiss.IndexFlatL2(vectors.shape[1])
    flat.add(np.ascontiguousarray(vectors, dtype=np.float32))
    _, positions = flat.search(np.ascontiguousarray(queries, dtype=np.float32), k)
    return np.where(positions >= 0, ids[positions], -1)  # -1: fewer than k vectors


def measure(
    index: VectorIndex, ids: np.ndarray, vectors: np.ndarray, queries: np.ndarray
) -> list[TuneRow]:
    """Recall@10 and latency of ``index`` at each nprobe of the grid."""
    import faiss

    if index.ivf is None:
        raise ValueError("Only IVF indexes have an nprobe to tune; this one is exact.")
    truth = exact_top_k(ids, vectors, queries)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    rows = []
    for nprobe in nprobe_grid(int(index.ivf.nlist)):
        params = faiss.SearchParametersIVF(nprobe=nprobe)
        found = np.empty_like(truth)
        started = time.perf_counter()
        for i in range(len(queries)):
            _, found[i : i + 1] = index.index.search(queries[i : i + 1], K, params=params)
        seconds = time.perf_counter() - started
        rows.append(TuneRow(nprobe, top_k_overlap(found, truth), 1000 * seconds / len(queries)))
    return rows


SATURATION = 0.005  # recall this close to the best measured counts as the best


def smallest_nprobe(rows: list[TuneRow], target: float = DEFAULT_TARGET) -> int:
    """The smallest nprobe whose recall reaches ``target``.

    A compressed (SQ8/PQ) index may never reach it, however many lists are
    probed: then the smallest nprobe within 0.005 of the best recall measured,
    rather than probing every list for nothing.
    """
    for row in rows:
        if row.recall >= target:
            return row.nprobe
    best = max(row.recall for row in rows)
    return next(row.nprobe for row in rows if row.recall >= best - SATURATION)
