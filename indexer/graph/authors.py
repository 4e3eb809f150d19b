"""Writing a build's author index (``search.graph.authors``) into its graph directory, out
of core: (key hash, position) pairs spilled by hash range and sorted a range at a time,
as the graph's paper keys are. From the previous build's index when it has one: its
pairs of unchanged papers carried over (their positions renumbered), and only the
changed papers' authors read again."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from indexer.graph.full import HASH_BITS, write_sorted_pairs
from indexer.graph.resolution import KEY_PAIR, key_pairs
from indexer.graph.spill import Spill, by_hash
from indexer.previous_graph import holds, unchanged
from search.graph.authors import authorship_keys
from search.graph.files import AUTHOR_KEYS, AUTHOR_OWNERS, PAPERS

CARRY_BLOCK = 1 << 22  # previous pairs read at a time


def write_author_index(source, directory: Path, ids: np.ndarray, hashes: np.ndarray,
                       previous: Path | None, memory: int) -> int:  # fmt: skip
    """The index of the papers ``ids`` (``hashes`` their content hashes) into
    ``directory``; returns how many papers' authors were read."""
    spill = Spill(directory / "spill-authors", KEY_PAIR, 1 << HASH_BITS, by_hash(HASH_BITS),
                  memory // 16)  # fmt: skip
    fresh = np.ones(len(ids), dtype=bool)
    if previous is not None and holds(previous, AUTHOR_KEYS):
        _carry_over(spill, previous, ids, hashes, fresh)
    for rows in source.author_fields(ids[fresh]):
        spill.add(_pairs(rows, ids))
    write_sorted_pairs(spill, directory, AUTHOR_KEYS, AUTHOR_OWNERS)  # removes the spill
    return int(fresh.sum())


def _pairs(rows: list[tuple], ids: np.ndarray) -> np.ndarray:
    """(key hash, position) of every author key of ``rows`` (id, authors, author ids)."""
    return key_pairs(rows, ids, lambda row: authorship_keys(list(row[1] or ()),
                                                           list(row[2] or ())))  # fmt: skip


def _carry_over(spill: Spill, previous: Path, ids: np.ndarray, hashes: np.ndarray,
                fresh: np.ndarray) -> None:  # fmt: skip
    """The previous index's pairs of the papers unchanged since (same id, same content),
    at their new positions; those papers marked as not to be read."""
    renumber = np.full(len(np.load(previous / PAPERS, mmap_mode="r")), -1, dtype=np.int64)
    for old, new in unchanged(previous, ids, hashes):
        renumber[old] = new
        fresh[new] = False
    keys = np.load(previous / AUTHOR_KEYS, mmap_mode="r")
    owners = np.load(previous / AUTHOR_OWNERS, mmap_mode="r")
    for start in range(0, len(keys), CARRY_BLOCK):
        moved = renumber[np.asarray(owners[start : start + CARRY_BLOCK])]
        kept = moved >= 0
        pairs = np.zeros(int(kept.sum()), dtype=KEY_PAIR)
        pairs["hash"] = np.asarray(keys[start : start + CARRY_BLOCK])[kept]
        pairs["owner"] = moved[kept]
        spill.add(pairs)
