"""Reading a build's citation graph (``search.graph.files``): a paper's references, the
papers citing it, and their counts, from memory-mapped sparse rows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from search.base.errors import IndexCorrupt
from search.graph.files import (
    DIRECTIONS,
    KEYS,
    LISTED,
    PAPERS,
    GraphManifest,
    indices_file,
    indptr_file,
    sparse_rows,
)
from search.graph.keys import key_hashes

READABLE = (1, 2)  # the served arrays are the same in both (2 adds what derivation keeps)


@dataclass(frozen=True)
class LinkCounts:
    """A paper's references as its source listed them, those in this corpus, and the papers
    of this corpus citing it."""

    listed: int
    references: int
    cited_by: int


class CitationGraph:
    """One build's citation graph, opened read-only (memory-mapped: safe from many threads
    and shared by every process that opens it)."""

    def __init__(self, directory: Path | None) -> None:
        if directory is None:  # ``without``'s graph, in memory
            return
        try:
            manifest = GraphManifest.read(directory)
            if manifest.format not in READABLE:
                raise IndexCorrupt(f"citation graph {directory} has format {manifest.format}, "
                                   f"which this release does not read: re-index")  # fmt: skip
            self.papers = np.load(directory / PAPERS, mmap_mode="r")
            self.listed = np.load(directory / LISTED, mmap_mode="r")
            self.keys = np.load(directory / KEYS, mmap_mode="r") if manifest.format > 1 else None
            self._rows = {
                d: (np.load(directory / indptr_file(d), mmap_mode="r"),
                    np.load(directory / indices_file(d), mmap_mode="r"))
                for d in DIRECTIONS
            }  # fmt: skip
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexCorrupt(f"citation graph {directory} cannot be opened ({exc})") from exc
        self.directory = directory
        self.edges = manifest.edges

    def position(self, paper_id: int) -> int | None:
        """The paper's row, or None when the build does not hold it."""
        at = int(np.searchsorted(self.papers, paper_id))
        return at if at < len(self.papers) and int(self.papers[at]) == paper_id else None

    def linked(self, paper_id: int, direction: str) -> np.ndarray:
        """Ids of the papers ``paper_id`` cites (``references``) or that cite it
        (``cited_by``), in id order; none for a paper the build does not hold."""
        at = self.position(paper_id)
        if at is None:
            return np.zeros(0, dtype=np.int64)
        indptr, indices = self._rows[direction]
        return np.asarray(self.papers[indices[indptr[at] : indptr[at + 1]]], dtype=np.int64)

    def counts(self, paper_id: int) -> LinkCounts:
        at = self.position(paper_id)
        if at is None:
            return LinkCounts(0, 0, 0)
        degree = {d: int(ptr[at + 1] - ptr[at]) for d, (ptr, _) in self._rows.items()}
        return LinkCounts(int(self.listed[at]), degree["references"], degree["cited_by"])

    def known(self, references: list) -> np.ndarray | None:
        """For each reference (its alternative keys), whether a paper of this build holds
        one of them; None for a graph that keeps no keys (format 1)."""
        if self.keys is None:
            return None
        flat, owner = [], []
        for number, entry in enumerate(references):
            for key in entry if isinstance(entry, list) else [entry]:
                flat.append(key)
                owner.append(number)
        found = np.zeros(len(references), dtype=bool)
        if not flat or len(self.keys) == 0:
            return found
        hashes = key_hashes(flat)
        at = np.minimum(np.searchsorted(self.keys, hashes), len(self.keys) - 1)
        found[np.asarray(owner)[np.asarray(self.keys[at]) == hashes]] = True
        return found

    def degrees(self, direction: str) -> np.ndarray:
        """Every paper's count of references (``references``) or citers (``cited_by``)."""
        return np.diff(np.asarray(self._rows[direction][0]))

    def cited_by_counts(self, ids: np.ndarray) -> np.ndarray:
        """How many papers of this corpus cite each of ``ids`` (0 for one not held)."""
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) == 0 or len(self.papers) == 0:
            return np.zeros(len(ids), dtype=np.int64)
        at = np.minimum(np.searchsorted(self.papers, ids), len(self.papers) - 1)
        held = np.asarray(self.papers[at]) == ids
        indptr = self._rows["cited_by"][0]
        return np.where(held, indptr[at + 1] - indptr[at], 0)

    def without(self, citing: np.ndarray, cited: np.ndarray) -> CitationGraph:
        """This graph, in memory, without the edges ``citing[i]`` → ``cited[i]`` (paper ids):
        what a graph that never knew them would answer (the link recovery measurement)."""
        indptr, indices = self._rows["references"]
        n = len(self.papers)
        width = max(n, 1)
        rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(np.asarray(indptr)))
        pairs = rows * width + np.asarray(indices, dtype=np.int64)
        gone = np.searchsorted(self.papers, citing) * width + np.searchsorted(self.papers, cited)
        kept = pairs[~np.isin(pairs, gone)]
        graph = CitationGraph(None)
        graph.papers, graph.listed, graph.directory = self.papers, self.listed, self.directory
        graph.keys = self.keys
        graph.edges = len(kept)
        citing_at, cited_at = kept // width, kept % width
        graph._rows = {"references": sparse_rows(citing_at, cited_at, n),
                       "cited_by": sparse_rows(cited_at, citing_at, n)}  # fmt: skip
        return graph
