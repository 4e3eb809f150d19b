"""A build's author index: the papers each author key is on, as sorted key hashes and the
positions holding them (memory-mapped, as the graph's paper keys are). An author's keys
are the ids the sources give (``orcid:``, ``openalex:A…``, ``s2:``) and ``name:`` with
the name's words as names compare (``search.query.filter_keys``): an author page reads
the papers of an id or a name by binary search, whatever the store and the corpus size.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from search.graph.files import AUTHOR_KEYS, AUTHOR_OWNERS, PAPERS
from search.graph.keys import key_hashes
from search.query.filter_keys import name_words


def name_key(name: str) -> str | None:
    """The index key of a name (None for a name without a letter)."""
    words = name_words(name)
    return "name:" + " ".join(words) if words else None


def authorship_keys(authors: Sequence[str], author_ids: Sequence[Sequence[str]]) -> list[str]:
    """Every index key of a paper's authors: each name's, and each id, once."""
    keys = [name_key(name) for name in authors]
    keys += [key for ids in author_ids or () for key in ids]
    return list(dict.fromkeys(k for k in keys if k))


class AuthorIndex:
    """One build's author index, opened read-only."""

    def __init__(self, directory: Path) -> None:
        self.papers = np.load(directory / PAPERS, mmap_mode="r")
        self.keys = np.load(directory / AUTHOR_KEYS, mmap_mode="r")
        self.owners = np.load(directory / AUTHOR_OWNERS, mmap_mode="r")

    def papers_of(self, keys: Sequence[str], limit: int) -> tuple[np.ndarray, bool]:
        """Ids of the papers any of ``keys`` is on, in id order, at most ``limit``; and
        whether there were more."""
        if not keys or len(self.keys) == 0:
            return np.zeros(0, dtype=np.int64), False
        hashes = key_hashes(keys)
        starts = np.searchsorted(self.keys, hashes, side="left")
        ends = np.searchsorted(self.keys, hashes, side="right")
        positions = [np.asarray(self.owners[s:e]) for s, e in zip(starts, ends, strict=True)]
        found = np.unique(np.concatenate(positions)) if positions else np.zeros(0, np.int32)
        ids = np.asarray(self.papers[found], dtype=np.int64)
        return ids[:limit], len(ids) > limit
