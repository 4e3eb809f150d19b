"""What a build takes over from the previous build's graph directory: which of its papers
are unchanged (the same id and content hash), at which positions in each build, and
whether that graph holds a given file (graphs from earlier formats hold fewer)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from search.graph.files import HASHES, PAPERS, GraphManifest

BLOCK = 1 << 22  # previous papers compared at a time


def holds(directory: Path, name: str) -> bool:
    """The graph in ``directory`` is intact enough to read and lists the file ``name``."""
    try:
        return name in GraphManifest.read(directory).files
    except (OSError, ValueError, KeyError, TypeError):
        return False


def unchanged(previous: Path, ids: np.ndarray, hashes: np.ndarray
              ) -> Iterator[tuple[np.ndarray, np.ndarray]]:  # fmt: skip
    """(positions in the previous graph, positions in ``ids``) of the papers both hold with
    the same content hash (``hashes``, of ``ids``), a block of previous papers at a time,
    each ascending."""
    old_ids = np.load(previous / PAPERS, mmap_mode="r")
    old_hashes = np.load(previous / HASHES, mmap_mode="r")
    if len(ids) == 0:
        return
    for start in range(0, len(old_ids), BLOCK):
        part = np.asarray(old_ids[start : start + BLOCK])
        at = np.minimum(np.searchsorted(ids, part), len(ids) - 1)
        same = (ids[at] == part) & (hashes[at] == np.asarray(old_hashes[start : start + BLOCK]))
        yield np.flatnonzero(same) + start, at[same]
