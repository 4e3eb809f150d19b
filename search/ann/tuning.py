"""Measured IVF tuning: recall@10 and recall@100 against exact search over a grid of nprobe
values.

Queries are real: titles of papers in the corpus, encoded as queries. The
ground truth is an exact (flat) L2 search over the same vectors, so the
numbers say what the approximation costs, independently of the model. Two
nprobes are chosen: one for the first page (recall@10), and a deeper one for
rankings read beyond it (recall@100): hybrid fuses each ranking's top 100, so
its candidates need the deep one.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from search.ann.faiss_index import VectorIndex

DEFAULT_TARGET = 0.95
K = 10  # the first page
DEEP_K = 100  # what hybrid fuses, and the deepest page of a usual session


@dataclass(frozen=True)
class TuneRow:
    nprobe: int
    recall: float  # mean recall@10 against exact search
    ms_per_query: float  # single-query search latency, for the top DEEP_K
    recall_100: float | None = None  # mean recall@100 against exact search


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


EXACT_CHUNK_ROWS = 262_144  # vectors compared with the queries at a time


def exact_top_k(chunks: Iterable[tuple[np.ndarray, np.ndarray]], queries: np.ndarray,
                k: int = K) -> np.ndarray:  # fmt: skip
    """The ids of each query's ``k`` nearest vectors by brute force over ``chunks`` of
    (ids, vectors), one chunk in memory at a time; -1 where there are fewer than k."""
    import faiss

    queries = np.ascontiguousarray(queries, dtype=np.float32)
    heap = faiss.ResultHeap(len(queries), k)
    for ids, vectors in chunks:
        flat = faiss.IndexFlatL2(vectors.shape[1])
        flat.add(np.ascontiguousarray(vectors, dtype=np.float32))
        distances, positions = flat.search(queries, min(k, len(ids)))
        found = np.where(positions >= 0, ids[positions], -1)
        if found.shape[1] < k:  # a chunk smaller than k: pad with "no hit"
            pad = k - found.shape[1]
            found = np.pad(found, ((0, 0), (0, pad)), constant_values=-1)
            distances = np.pad(distances, ((0, 0), (0, pad)), constant_values=np.inf)
        heap.add_result(np.ascontiguousarray(distances), np.ascontiguousarray(found))
    heap.finalize()
    return heap.I


def measure(index: VectorIndex, source, queries: np.ndarray) -> list[TuneRow]:
    """Recall@10, recall@100 and latency of ``index`` at each nprobe of the grid, against
    exact search over ``source`` (the vectors it holds: ``indexer.ivf.VectorSource``, read
    in chunks). Each query searches its top 100 once; its first 10 are the top 10."""
    if index.ivf is None:
        raise ValueError("Only IVF indexes have an nprobe to tune; this one is exact.")
    deep = min(DEEP_K, index.ntotal)
    truth = exact_top_k(source.chunks(EXACT_CHUNK_ROWS), queries, deep)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    rows = []
    for nprobe in nprobe_grid(int(index.ivf.nlist)):
        found = np.empty_like(truth)
        started = time.perf_counter()
        for i in range(len(queries)):
            _, found[i : i + 1] = index.run(queries[i : i + 1], deep, nprobe)
        seconds = time.perf_counter() - started
        ms = 1000 * seconds / len(queries)
        recall = top_k_overlap(found[:, :K], truth[:, :K])
        rows.append(TuneRow(nprobe, recall, ms, top_k_overlap(found, truth)))
    return rows


SATURATION = 0.005  # recall this close to the best measured counts as the best


def smallest_nprobe(rows: list[TuneRow], target: float = DEFAULT_TARGET, *, deep=False) -> int:
    """The smallest nprobe whose recall@10 (``deep``: recall@100) reaches ``target``.

    A compressed (SQ8/PQ) index may never reach it, however many lists are
    probed: then the smallest nprobe within 0.005 of the best recall measured,
    rather than probing every list for nothing.
    """
    recalls = [(row.nprobe, row.recall_100 if deep else row.recall) for row in rows]
    for nprobe, recall in recalls:
        if recall >= target:
            return nprobe
    best = max(recall for _, recall in recalls)
    return next(nprobe for nprobe, recall in recalls if recall >= best - SATURATION)
