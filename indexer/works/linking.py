"""Linking versions into works: a union-find over a build's papers (positions), fed first
the ids papers share, then the title matches. A union that would put two DOIs (or two
arXiv ids) in one work, or more than ``MAX_VERSIONS`` papers, is refused and counted:
links are evidence, and a wrong one must not chain unrelated papers together.

Both passes read their input a part at a time: the shared keys from the graph's sorted
key file, block by block; the title blocks by ranges of their hash, one range sorted at a
time, as many ranges as the memory given needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from search.graph.works import BY_ID

MAX_VERSIONS = 8  # a work of more versions is a key shared by unrelated papers
KEY_BLOCK = 1 << 22  # key entries read at a time
TITLE_ENTRY_BYTES = 32  # a title entry while its range is sorted (block, year, position, order)


@dataclass
class LinkCounts:
    """What linking did: unions made by id and by title, unions refused for disagreeing
    DOIs or arXiv ids or for the work's size, and keys shared by too many papers to link."""

    by_id: int = 0
    by_title: int = 0
    refused: int = 0
    crowded_keys: int = 0


@dataclass
class Linker:
    """Union-find over ``n`` positions whose (n, 3) ``keys`` hold each paper's DOI and
    arXiv hashes in columns 1 and 2 (0: none)."""

    keys: np.ndarray
    parent: np.ndarray = field(init=False)
    counts: LinkCounts = field(default_factory=LinkCounts)

    def __post_init__(self) -> None:
        self.parent = np.arange(len(self.keys), dtype=np.int32)
        self._ids: dict[int, tuple[int, int]] = {}  # a work's (DOI, arXiv id), at its root
        self._size: dict[int, int] = {}  # a work's size, at its root (absent: 1)
        self.by_id: set[int] = set()  # positions an accepted id link touched
        self.linked: set[int] = set()  # positions in a work of two or more

    def find(self, at: int) -> int:
        parent = self.parent
        while parent[at] != at:
            parent[at] = parent[parent[at]]
            at = int(parent[at])
        return at

    def union(self, a: int, b: int, how: int) -> bool:
        """Join ``a``'s and ``b``'s works unless they disagree or would be too large."""
        root_a, root_b = self.find(a), self.find(b)
        if root_a == root_b:
            return True
        ids_a, ids_b = self._work_ids(root_a), self._work_ids(root_b)
        size = self._size.get(root_a, 1) + self._size.get(root_b, 1)
        if size > MAX_VERSIONS or any(
            x and y and x != y for x, y in zip(ids_a, ids_b, strict=True)
        ):
            self.counts.refused += 1
            return False
        if self._size.get(root_a, 1) < self._size.get(root_b, 1):
            root_a, root_b = root_b, root_a
        self.parent[root_b] = root_a
        self._ids[root_a] = (ids_a[0] or ids_b[0], ids_a[1] or ids_b[1])
        self._size[root_a] = size
        self._ids.pop(root_b, None)
        self._size.pop(root_b, None)
        self.linked.update((a, b))
        if how == BY_ID:
            self.by_id.update((a, b))
            self.counts.by_id += 1
        else:
            self.counts.by_title += 1
        return True

    def _work_ids(self, root: int) -> tuple[int, int]:
        if root in self._ids:
            return self._ids[root]
        return int(self.keys[root, 1]), int(self.keys[root, 2])


def shared_keys(keys_path: Path, owners_path: Path, counts: LinkCounts) -> Iterator[np.ndarray]:
    """(a, b) position pairs of papers holding one key, a block of the graph's sorted key
    file at a time: each run of a key's owners as a star from its first. A key held by
    more than ``MAX_VERSIONS`` papers links none of them (counted)."""
    keys = np.load(keys_path, mmap_mode="r")
    owners = np.load(owners_path, mmap_mode="r")
    start, n = 0, len(keys)
    while start < n:
        end = min(start + KEY_BLOCK, n)
        if end < n:  # a run of one key is read whole
            end = int(np.searchsorted(keys, keys[end - 1], side="right"))
        block, held = np.asarray(keys[start:end]), np.asarray(owners[start:end])
        starts = np.concatenate(([0], np.flatnonzero(block[1:] != block[:-1]) + 1))
        lengths = np.diff(np.append(starts, len(block)))
        counts.crowded_keys += int(np.count_nonzero(lengths > MAX_VERSIONS))
        linking = (lengths >= 2) & (lengths <= MAX_VERSIONS)
        run = np.repeat(np.arange(len(starts)), lengths)  # each entry's run
        later = np.flatnonzero(linking[run] & (np.arange(len(block)) != starts[run]))
        pairs = np.stack([held[starts[run[later]]], held[later]], axis=1)
        yield pairs[pairs[:, 0] != pairs[:, 1]]
        start = end


def title_matches(keys: np.ndarray, meta: np.ndarray, memory: int) -> Iterator[np.ndarray]:
    """(a, b) position pairs of papers with one title block whose years are known and
    within one of each other (neighbours in year order), one range of block hashes at a
    time: as many ranges as fit ``memory``."""
    n = len(keys)
    ranges = max(1, -(-n * TITLE_ENTRY_BYTES // max(memory, 1)))
    bounds = [2**64 * part // ranges for part in range(ranges + 1)]
    for low, high in zip(bounds[:-1], bounds[1:], strict=True):
        chosen = []
        for start in range(0, n, KEY_BLOCK):
            block = np.asarray(keys[start : start + KEY_BLOCK, 0])
            years = np.asarray(meta[start : start + KEY_BLOCK, 0])
            inside = (block != 0) & (years > 0) & (block >= np.uint64(low))
            if high < 2**64:
                inside &= block < np.uint64(high)
            chosen.append(np.flatnonzero(inside) + start)
        positions = np.concatenate(chosen) if chosen else np.zeros(0, np.int64)
        if len(positions) < 2:
            continue
        blocks = np.asarray(keys[positions, 0])
        years = np.asarray(meta[positions, 0]).astype(np.int32)
        order = np.lexsort((positions, years, blocks))
        blocks, years, positions = blocks[order], years[order], positions[order]
        near = (blocks[1:] == blocks[:-1]) & (years[1:] - years[:-1] <= 1)
        yield np.stack([positions[:-1][near], positions[1:][near]], axis=1)
