"""Re-ranking approximate candidates with the exact vectors from the vector files.

SQ8 and PQ codes make an index small enough for a large corpus at the price of
recall: distances computed from codes misorder close neighbours. With
``PAPERSEARCH_REFINE=N`` a semantic search takes N×k candidates from the index
and orders them by exact Euclidean distance to the stored float32 vectors
(``search.store.vectors``), which restores most of the lost recall for the cost
of reading N×k vectors (``bench/scale.py`` measures both).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from search.store.vectors import Vectors


def rerank(
    vectors: Vectors,
    model_key: str,
    query: np.ndarray,
    candidates: np.ndarray,
    k: int,
    text_hashes: Callable[[np.ndarray], list[str]],
) -> tuple[np.ndarray, np.ndarray]:
    """(exact Euclidean distances, ids) of the ``k`` candidates nearest to ``query``, best
    first; candidates without a stored vector (-1, or none) are left out. Each candidate's
    vector is the one made from its text as the build served holds it (``text_hashes``
    gives the candidates' text hashes in that build)."""
    candidates = np.asarray(candidates, dtype=np.int64)
    candidates = candidates[candidates >= 0]
    found, exact = vectors.get_many(candidates, model_key, text_hashes(candidates))
    candidates = candidates[found]
    distances = np.sqrt(((exact - query[None, :].astype(np.float32)) ** 2).sum(1))
    order = np.argsort(distances, kind="stable")[:k]
    return distances[order], candidates[order]
