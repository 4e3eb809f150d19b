"""FAISS in shards returns exactly what one index returns: the same lists probed, the same
candidates, merged by distance then id, with and without a filter, exact or IVF."""

from __future__ import annotations

import numpy as np
import pytest

from indexer import ivf, ivf_shards
from indexer.ivf import ArrayVectors


def vectors(n: int, dim: int = 16, seed: int = 7) -> ArrayVectors:
    rng = np.random.default_rng(seed)
    data = rng.standard_normal((n, dim)).astype(np.float32)
    data[n // 2 : n // 2 + 20] = data[:20]  # exact duplicates: ties the merge orders by id
    return ArrayVectors(np.arange(1, n + 1) * 3, data)


@pytest.mark.parametrize("n", [300, 6000], ids=["exact", "ivf"])
@pytest.mark.parametrize("shards", [2, 5])
def test_shards_search_as_one_index(n, shards):
    source = vectors(n)
    one = ivf.build(source, nprobe=4).searchable()
    many = ivf_shards.build_shards(source, shards, [], nprobe=4).searchable()
    assert many.ntotal == one.ntotal and len(many.parts) == shards
    queries = np.random.default_rng(1).standard_normal((12, 16)).astype(np.float32)
    queries[0] = source.vectors[5]  # its duplicate ties with it
    allowed = source.ids[::7]
    for k, depth, only in ((10, 0, None), (100, 1000, None), (10, 0, allowed), (50, 0, allowed)):
        a = one.search(queries, k, only, ranking_depth=depth)
        b = many.search(queries, k, only, ranking_depth=depth)
        for row in range(len(queries)):
            same = np.lexsort((a[1][row], a[0][row]))  # one index orders ties as FAISS does
            assert np.array_equal(a[1][row][same], b[1][row]), (k, only is not None, row)
            assert np.allclose(a[0][row][same], b[0][row])


def test_a_shard_left_empty_is_searched_as_empty():
    source = vectors(40)
    many = ivf_shards.build_shards(source, 64, []).searchable()
    assert sum(int(p.ntotal) for p in many.parts) == 40
    distances, ids = many.search(source.vectors[:2], 5)
    assert ids[0][0] in (3, 3 * 21) and (ids >= 0).all()
