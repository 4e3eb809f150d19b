"""A build's works: the papers that are versions of one work (a preprint and its
published version, the same article from two sources), as each build links them
(``indexer.works``), and what every list needs of them.

Each work is shown by one version, its primary: the most published one (a journal DOI,
then a venue), ties by the lowest id. Every list is collapsed to one hit per work, at the
rank of its best version and under its primary's id; a filter passes a work when one
of its versions passes. Papers that are the only version of their work are not in the
table, which is why it is small.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

import numpy as np

BY_ID, BY_TITLE = 1, 2  # how a version joined its work (the primary's is 0)
HOW = {0: "primary", BY_ID: "linked by id", BY_TITLE: "matched by title"}

Row = TypeVar("Row", bound=tuple)


class Works:
    """The versions table of one build: ``table`` rows (member id, primary id, how),
    sorted by member id; None for a build linked no versions."""

    def __init__(self, table: np.ndarray | None = None) -> None:
        table = np.zeros((0, 3), dtype=np.int64) if table is None else np.asarray(table)
        self.members = np.ascontiguousarray(table[:, 0], dtype=np.int64)
        self.primaries = np.ascontiguousarray(table[:, 1], dtype=np.int64)
        self.how = np.ascontiguousarray(table[:, 2], dtype=np.int64)
        self._by_work = np.lexsort((self.how, self.primaries))  # each work's rows together
        self._work_of_row = self.primaries[self._by_work]  # sorted: a work's rows by search
        # versions that are not their work's primary: what collapsing can remove
        self.hidden = int(np.count_nonzero(self.members != self.primaries))

    def __bool__(self) -> bool:
        return self.hidden > 0

    def of(self, ids: Iterable[int] | np.ndarray) -> np.ndarray:
        """The primary id of each of ``ids``' works (an id with no other version: itself)."""
        ids, at, listed = self._rows_of(ids)
        return np.where(listed, self.primaries[at], ids) if len(at) else ids.copy()

    def with_versions(self, ids: Iterable[int]) -> list[int]:
        """Those of ``ids`` that have other versions."""
        ids, _, listed = self._rows_of(ids)
        return ids[listed].tolist()

    def _rows_of(self, ids) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(``ids`` as an array, each one's row in the table, whether it is listed there);
        no rows when the table is empty."""
        ids = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, dtype=np.int64)
        if not self or len(ids) == 0:
            return ids, np.zeros(0, dtype=np.int64), np.zeros(len(ids), dtype=bool)
        at = np.minimum(np.searchsorted(self.members, ids), len(self.members) - 1)
        return ids, at, self.members[at] == ids

    def primary(self, paper_id: int) -> int:
        return int(self.of(np.asarray([paper_id]))[0])

    def versions(self, paper_id: int) -> list[tuple[int, int]]:
        """(id, how) of every version of ``paper_id``'s work, the primary first; just the
        paper for one with no other version."""
        primary = self.primary(paper_id)
        start = np.searchsorted(self._work_of_row, primary, side="left")
        end = np.searchsorted(self._work_of_row, primary, side="right")
        rows = self._by_work[start:end]
        if len(rows) == 0:
            return [(paper_id, 0)]
        return [(int(self.members[r]), int(self.how[r])) for r in rows]

    def all_versions(self, ids: Iterable[int]) -> set[int]:
        """``ids`` and every other version of their works."""
        return {version for i in ids for version, _ in self.versions(int(i))}

    def collapse(self, ranked: Sequence[Row]) -> list[Row]:
        """``ranked`` (rows whose first item is a paper id, best first) with one row per
        work, where its best version ranked, under its primary's id."""
        if not self:
            return list(ranked)
        primaries = self.of(np.asarray([row[0] for row in ranked], dtype=np.int64))
        seen: set[int] = set()
        kept = []
        for row, primary in zip(ranked, primaries.tolist(), strict=True):
            if primary not in seen:
                seen.add(primary)
                kept.append((primary, *row[1:]))
        return kept

    def count(self, ids: np.ndarray | None, papers: int) -> int:
        """How many works the papers ``ids`` (None: all ``papers`` of the build) are."""
        if ids is None:
            return max(papers - self.hidden, 0)
        return len(np.unique(self.of(ids))) if self else len(ids)

    def slack(self, depth: int) -> int:
        """How much deeper than ``depth`` to rank so that collapsing leaves ``depth`` rows:
        one more row per version that could be collapsed, up to doubling."""
        return min(self.hidden, depth)
