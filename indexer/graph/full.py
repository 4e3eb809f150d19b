"""Writing a build's citation graph afresh, out of core: two reads of the papers' records,
and external sorts in buckets, so that memory holds one bucket and a batch of records
(bounded by the build memory setting), never the graph.

1. Every paper's keys, spilled by hash range, then sorted a range at a time: ``keys``.
2. Every paper's references and citers, resolved a batch at a time against the keys
   (memory-mapped): its claims are written in row order as they come; the edges they
   make are spilled by citing and by cited row range, the pending keys by hash range.
3. The edges of the kept files of edges, resolved at both ends.
4. Each direction's rows, a bucket at a time, each edge once; the pending keys, sorted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from indexer.graph.resolution import KEY_PAIR, KeyLookup, own_key_pairs, resolve, resolved_pairs
from indexer.graph.rows import RowsWriter, edge_spill, row_buckets, spill_edges, write_spilled
from indexer.graph.source import GraphSource
from indexer.graph.spill import PairsFile, Spill, by_hash, unique_pairs
from search.graph.files import CLAIMS, KEY_OWNERS, KEYS, PENDING, PENDING_OWNERS

HASH_BITS = 8  # 256 hash ranges


def write_full(
    source: GraphSource, directory: Path, ids: np.ndarray, edge_pairs: np.ndarray, memory: int
) -> tuple[np.ndarray, int]:
    """The graph of the papers ``ids`` into ``directory`` (all but ``papers``, ``listed``
    and ``hashes``): (listed per paper, edges)."""
    n = len(ids)
    buffer = memory // 16  # each spill's buffer: three are open at once, and sort in flushing
    keys = Spill(directory / "spill-keys", KEY_PAIR, 1 << HASH_BITS, by_hash(HASH_BITS), buffer)
    for rows in source.keys(ids):
        keys.add(own_key_pairs(rows, ids))
    write_sorted_pairs(keys, directory, KEYS, KEY_OWNERS)
    lookup = KeyLookup.open(directory)

    buckets, per_bucket = row_buckets(n)
    by_citing = edge_spill(directory / "spill-citing", buckets, per_bucket, buffer)
    by_cited = edge_spill(directory / "spill-cited", buckets, per_bucket, buffer)
    pending = Spill(directory / "spill-pending", KEY_PAIR, 1 << HASH_BITS, by_hash(HASH_BITS),
                    buffer)  # fmt: skip
    listed = np.zeros(n, dtype=np.int32)
    claims = RowsWriter(directory, CLAIMS, n)
    for rows in source.links(ids):
        if not rows:
            continue
        found = resolve(rows, ids, lookup)
        listed[found.positions] = found.listed
        claims.add(found.claim_owners, found.claim_codes, int(found.positions.max()) + 1)
        citing, cited = found.edges()
        spill_edges(by_citing, citing, cited)
        spill_edges(by_cited, cited, citing)
        pending.add(found.pending)
    claims.close()
    for citing, cited in resolved_pairs(edge_pairs, lookup):
        spill_edges(by_citing, citing, cited)
        spill_edges(by_cited, cited, citing)
    edges = write_spilled(by_citing, n, per_bucket, directory, "references")
    write_spilled(by_cited, n, per_bucket, directory, "cited_by")
    write_sorted_pairs(pending, directory, PENDING, PENDING_OWNERS)
    return listed, edges


def write_sorted_pairs(spill: Spill, directory: Path, hashes_name: str, owners_name: str) -> None:
    """The spilled (hash, position) pairs, each once, sorted by hash then position."""
    spill.flush()
    out = PairsFile(directory, hashes_name, owners_name)
    for number in range(spill.buckets):
        out.write(unique_pairs(spill.take(number)))
    out.close()
    spill.remove()
