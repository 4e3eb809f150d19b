"""How recent each served paper is, as one number, for ``sort=date``.

A paper's recency is the rank of (year, date) among the served papers: year first,
then the corpus's date string, with 0 and "" where the corpus gave none (so undated
papers sort last). Reading every served paper's keys once per index build (12 bytes
a paper) lets a date-sorted search order its pool without a query and read only the
page's rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from search.store.schema import Paper

UNDATED = 0  # the recency of a paper without year and date, and of an id not served


@dataclass(frozen=True)
class Recency:
    """Recency ranks by paper id: equal (year, date) share a rank, newer ranks higher."""

    ids: np.ndarray  # int64, sorted
    ranks: np.ndarray  # int32, aligned with ``ids``

    @classmethod
    def read(cls, session: Session, conditions: list) -> Recency:
        """The recency of the papers that satisfy ``conditions`` (one scan)."""
        rows = session.execute(select(Paper.id, Paper.year, Paper.date).where(*conditions))
        return cls.of((i, year or 0, date or "") for i, year, date in rows)

    @classmethod
    def of(cls, keys: Iterable[tuple[int, int, str]]) -> Recency:
        """From (id, year, date) triples."""
        rows = list(keys)
        ids = np.array([row[0] for row in rows], dtype=np.int64)
        years = np.array([row[1] for row in rows], dtype=np.int64)
        dates = np.array([row[2] for row in rows], dtype=str)
        by_id = np.argsort(ids)
        ids, years, dates = ids[by_id], years[by_id], dates[by_id]
        order = np.lexsort((dates, years))  # oldest first
        changes = np.ones(len(order), dtype=bool)
        later_years, later_dates = years[order][1:], dates[order][1:]
        changes[1:] = (later_years != years[order][:-1]) | (later_dates != dates[order][:-1])
        ranks = np.empty(len(order), dtype=np.int32)
        undated = len(order) and years[order[0]] == 0 and dates[order[0]] == ""
        ranks[order] = np.cumsum(changes) - (1 if undated else 0)
        return cls(ids, ranks)

    def of_ids(self, ids: np.ndarray) -> np.ndarray:
        """The recency of each of ``ids`` (UNDATED for an id not served: it sorts with the
        undated papers)."""
        ids = np.asarray(ids, dtype=np.int64)
        if not len(self.ids):
            return np.full(len(ids), UNDATED, dtype=np.int32)
        at = np.minimum(np.searchsorted(self.ids, ids), len(self.ids) - 1)
        return np.where(self.ids[at] == ids, self.ranks[at], UNDATED)

    def newest_first(self, ids: Iterable[int]) -> np.ndarray:
        """Positions into ``ids``, newest first; ties keep their order (a stable sort)."""
        recency = self.of_ids(np.fromiter(ids, dtype=np.int64))
        return np.argsort(-recency, kind="stable")
