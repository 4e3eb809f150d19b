"""Writing a build's author index (``search.graph.authors``) into its graph directory, out
of core: (key hash, position) pairs spilled by hash range and sorted a range at a time,
as the graph's paper keys are. From the previous build's index when it has one: its
pairs of unchanged papers carried over (their positions renumbered), and only the
changed papers' authors read again."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from indexer.graph.full import HASH_BITS, write_sorted_pairs
from indexer.graph.resolution import KEY_PAIR
from indexer.graph.spill import Spill, by_hash
from search.graph.authors import authorship_keys
from search.graph.files import AUTHOR_KEYS, AUTHOR_OWNERS, HASHES, PAPERS, GraphManifest
from search.graph.keys import key_hashes

CARRY_BLOCK = 1 << 22  # previous pairs read at a time


def write_author_index(source, directory: Path, ids: np.ndarray, hashes: np.ndarray,
                       previous: Path | None, memory: int) -> int:  # fmt: skip
    """The index of the papers ``ids`` (``hashes`` their content hashes) into
    ``directory``; returns how many papers' authors were read."""
    spill = Spill(directory / "spill-authors", KEY_PAIR, 1 << HASH_BITS, by_hash(HASH_BITS),
                  memory // 16)  # fmt: skip
    fresh = np.ones(len(ids), dtype=bool)
    if previous is not None and len(ids) and _has_index(previous):
        _carry_over(spill, previous, ids, hashes, fresh)
    for rows in source.author_fields(ids[fresh]):
        spill.add(_pairs(rows, ids))
    write_sorted_pairs(spill, directory, AUTHOR_KEYS, AUTHOR_OWNERS)
    shutil.rmtree(directory / "spill-authors", ignore_errors=True)
    return int(fresh.sum())


def _pairs(rows: list[tuple], ids: np.ndarray) -> np.ndarray:
    """(key hash, position) of every author key of ``rows`` (id, authors, author ids)."""
    keys, owners = [], []
    positions = np.searchsorted(ids, np.fromiter((r[0] for r in rows), np.int64, len(rows)))
    for (_, authors, author_ids), at in zip(rows, positions.tolist(), strict=True):
        found = authorship_keys(list(authors or ()), list(author_ids or ()))
        keys += found
        owners += [at] * len(found)
    pairs = np.zeros(len(keys), dtype=KEY_PAIR)
    pairs["hash"], pairs["owner"] = key_hashes(keys), owners
    return pairs


def _carry_over(spill: Spill, previous: Path, ids: np.ndarray, hashes: np.ndarray,
                fresh: np.ndarray) -> None:  # fmt: skip
    """The previous index's pairs of the papers unchanged since (same id, same content),
    at their new positions; those papers marked as not to be read."""
    old_ids = np.load(previous / PAPERS, mmap_mode="r")
    old_hashes = np.load(previous / HASHES, mmap_mode="r")
    renumber = np.full(len(old_ids), -1, dtype=np.int64)
    for start in range(0, len(old_ids), CARRY_BLOCK):
        part = np.asarray(old_ids[start : start + CARRY_BLOCK])
        at = np.minimum(np.searchsorted(ids, part), len(ids) - 1)
        unchanged = np.asarray(old_hashes[start : start + CARRY_BLOCK])
        same = (ids[at] == part) & (hashes[at] == unchanged)
        renumber[start : start + len(part)] = np.where(same, at, -1)
        fresh[at[same]] = False
    keys = np.load(previous / AUTHOR_KEYS, mmap_mode="r")
    owners = np.load(previous / AUTHOR_OWNERS, mmap_mode="r")
    for start in range(0, len(keys), CARRY_BLOCK):
        moved = renumber[np.asarray(owners[start : start + CARRY_BLOCK])]
        kept = moved >= 0
        pairs = np.zeros(int(kept.sum()), dtype=KEY_PAIR)
        pairs["hash"] = np.asarray(keys[start : start + CARRY_BLOCK])[kept]
        pairs["owner"] = moved[kept]
        spill.add(pairs)


def _has_index(directory: Path) -> bool:
    try:
        return AUTHOR_KEYS in GraphManifest.read(directory).files
    except (OSError, ValueError, KeyError, TypeError):
        return False
