"""Where a graph's papers' records come from: the store's (``search.store.texts.Texts``),
or any object with the same readers (a benchmark's generated corpus)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import numpy as np


class GraphSource(Protocol):
    def keys(self, ids: np.ndarray) -> Iterator[list[tuple]]:
        """(id, external id, DOI, other keys) of the papers of ``ids`` (sorted), in id
        order, a batch at a time."""

    def links(self, ids: np.ndarray) -> Iterator[list[tuple]]:
        """(id, external id, DOI, other keys, reference keys, citer keys) of the same."""

    def work_fields(self, ids: np.ndarray) -> Iterator[list[tuple]]:
        """The columns ``indexer.works.features.FIELDS`` of the same."""

    def author_fields(self, ids: np.ndarray) -> Iterator[list[tuple]]:
        """(id, authors, author ids) of the same."""
