"""The orders ``sort=`` may ask for, as one number per served paper: recency, citations.

A paper's key is its rank among the served papers: for ``date``, by year, then the
corpus's date string, with 0 and "" where the corpus gave none (undated papers sort
last); for ``citations``, by its citation count, none counting as fewest. Each is
read once per index build (12 bytes a paper), so that a sorted search orders its
pool without a query and reads only the page's rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

LOWEST = 0  # the key of a paper the order knows nothing of, and of an id not served


@dataclass(frozen=True)
class SortKeys:
    """Ranks by paper id: equal values share a rank, higher sorts first."""

    ids: np.ndarray  # int64, sorted
    ranks: np.ndarray  # int32, aligned with ``ids``

    @classmethod
    def read(cls, session: Session, paper, conditions: Iterable, sort: str) -> SortKeys:
        """The keys of ``sort`` for the rows of ``paper`` (``papers``, or a build's view of
        them) that satisfy ``conditions`` (one scan)."""
        if sort == "date":
            rows = session.execute(select(paper.id, paper.year, paper.date).where(*conditions))
            return cls.of((i, year or 0, date or "") for i, year, date in rows)
        if sort == "citations":
            rows = session.execute(select(paper.id, paper.citations).where(*conditions))
            return cls.of(((i, -1 if n is None else n, "") for i, n in rows), unknown=(-1, ""))
        raise ValueError(f"no sort keys for {sort!r}")

    @classmethod
    def of(
        cls, keys: Iterable[tuple[int, int, str]], unknown: tuple[int, str] = (0, "")
    ) -> SortKeys:
        """From (id, number, text) triples, ordered by number, then text; ``unknown`` (the
        lowest key there is: no date, no count) ranks LOWEST, with ids not served."""
        rows = list(keys)
        ids = np.array([row[0] for row in rows], dtype=np.int64)
        numbers = np.array([row[1] for row in rows], dtype=np.int64)
        texts = np.array([row[2] for row in rows], dtype=str)
        by_id = np.argsort(ids)
        ids, numbers, texts = ids[by_id], numbers[by_id], texts[by_id]
        order = np.lexsort((texts, numbers))  # lowest first
        changes = np.ones(len(order), dtype=bool)
        later_numbers, later_texts = numbers[order][1:], texts[order][1:]
        changes[1:] = (later_numbers != numbers[order][:-1]) | (later_texts != texts[order][:-1])
        ranks = np.empty(len(order), dtype=np.int32)
        lowest_unknown = len(order) and (numbers[order[0]], texts[order[0]]) == unknown
        ranks[order] = np.cumsum(changes) - (1 if lowest_unknown else 0)
        return cls(ids, ranks)

    def of_ids(self, ids: np.ndarray) -> np.ndarray:
        """The key of each of ``ids`` (LOWEST for an id not served)."""
        ids = np.asarray(ids, dtype=np.int64)
        if not len(self.ids):
            return np.full(len(ids), LOWEST, dtype=np.int32)
        at = np.minimum(np.searchsorted(self.ids, ids), len(self.ids) - 1)
        return np.where(self.ids[at] == ids, self.ranks[at], LOWEST)

    def highest_first(self, ids: Iterable[int]) -> np.ndarray:
        """Positions into ``ids``, highest key first; ties keep their order (stable)."""
        keys = self.of_ids(np.fromiter(ids, dtype=np.int64))
        return np.argsort(-keys, kind="stable")
