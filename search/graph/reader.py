"""Reading a build's citation graph (``search.graph.files``): a paper's references, the
papers citing it, and their counts, from memory-mapped sparse rows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from search.base.errors import IndexCorrupt
from search.graph.authors import AuthorIndex
from search.graph.files import (
    AUTHOR_KEYS,
    DIRECTIONS,
    KEY_OWNERS,
    KEYS,
    LISTED,
    PAPERS,
    WORKS,
    GraphManifest,
    indices_file,
    indptr_file,
    sparse_rows,
)
from search.graph.keys import KINDS, key_hashes, paper_key
from search.graph.works import Works

READABLE = (1, 2, 3)  # 2 adds what derivation keeps, 3 the works (versions of one work)


@dataclass(frozen=True)
class LinkCounts:
    """A paper's references as its source listed them, those in this corpus, and the papers
    of this corpus citing it."""

    listed: int
    references: int
    cited_by: int


class CitationGraph:
    """One build's citation graph, opened read-only (memory-mapped: safe from many threads
    and shared by every process that opens it), and its works: a work's references and
    citers are the union of its versions', each cited or citing work once."""

    works = Works()
    authors: AuthorIndex | None = None  # builds from before author indexes have none

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
            keyed = manifest.format > 1  # format 1 keeps no keys
            self.keys = np.load(directory / KEYS, mmap_mode="r") if keyed else None
            self.key_owners = np.load(directory / KEY_OWNERS, mmap_mode="r") if keyed else None
            if manifest.format > 2:
                self.works = Works(np.load(directory / WORKS))
            if AUTHOR_KEYS in manifest.files:
                self.authors = AuthorIndex(directory)
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
        """Ids of the works ``paper_id``'s work cites (``references``) or that cite it
        (``cited_by``), by their primaries, in id order; none for a paper the build does
        not hold."""
        versions = self.works.all_versions([paper_id]) if self.works else {paper_id}
        rows = [self.own(version, direction) for version in sorted(versions)]
        ids = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        if not self.works:
            return ids
        ids = np.unique(self.works.of(ids))
        return ids[~np.isin(ids, list(versions))]

    def own(self, paper_id: int, direction: str) -> np.ndarray:
        """The ids in ``paper_id``'s own row (not its work's), in id order."""
        at = self.position(paper_id)
        if at is None:
            return np.zeros(0, dtype=np.int64)
        indptr, indices = self._rows[direction]
        return np.asarray(self.papers[indices[indptr[at] : indptr[at + 1]]], dtype=np.int64)

    def counts(self, paper_id: int) -> LinkCounts:
        """The work's counts: the most references any version's source listed, and its
        references and citers in this corpus, each work once."""
        at = self.position(paper_id)
        if at is None:
            return LinkCounts(0, 0, 0)
        versions = self.works.versions(paper_id) if self.works else []
        if len(versions) > 1:
            held = [self.position(v) for v, _ in versions]
            listed = max(int(self.listed[v]) for v in held if v is not None)
            return LinkCounts(listed, len(self.linked(paper_id, "references")),
                              len(self.linked(paper_id, "cited_by")))  # fmt: skip
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

    def find(self, ref: str) -> int | None:
        """The id of a paper known by ``ref`` as any kind of id its record gives (a PMID,
        an OpenAlex or Semantic Scholar id, a DOI, an arXiv id, in any spelling the keys
        accept); None when no paper is (or the graph keeps no keys)."""
        if self.keys is None or len(self.keys) == 0:
            return None
        keys = [key for kind in KINDS if kind != "id" for key in [paper_key(kind, ref)] if key]
        if not keys:
            return None
        hashes = key_hashes(keys)
        at = np.minimum(np.searchsorted(self.keys, hashes), len(self.keys) - 1)
        held = np.flatnonzero(np.asarray(self.keys[at]) == hashes)
        return int(self.papers[self.key_owners[at[held[0]]]]) if len(held) else None

    def degrees(self, direction: str) -> np.ndarray:
        """Every paper's count of references (``references``) or citers (``cited_by``)."""
        return np.diff(np.asarray(self._rows[direction][0]))

    def cited_by_counts(self, ids: np.ndarray) -> np.ndarray:
        """How many works of this corpus cite each of ``ids``' works (0 for one not held)."""
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) == 0 or len(self.papers) == 0:
            return np.zeros(len(ids), dtype=np.int64)
        at = np.minimum(np.searchsorted(self.papers, ids), len(self.papers) - 1)
        held = np.asarray(self.papers[at]) == ids
        indptr = self._rows["cited_by"][0]
        counts = np.where(held, indptr[at + 1] - indptr[at], 0)
        if not self.works:
            return counts
        # citers that are versions of one work count once: (paper, citing work) pairs
        rows = np.flatnonzero(held)
        lengths = counts[rows]
        owner = np.repeat(rows, lengths)
        first = np.repeat(indptr[at[rows]] - np.cumsum(lengths) + lengths, lengths)
        citers = self.papers[self._rows["cited_by"][1][first + np.arange(len(owner))]]
        pairs = np.unique(np.stack([owner, self.works.of(np.asarray(citers))], axis=1), axis=0)
        counts[:] = np.bincount(pairs[:, 0], minlength=len(ids)) if len(pairs) else 0
        for i in rows[np.isin(ids[rows], self.works.members)].tolist():  # several versions
            counts[i] = len(self.linked(int(ids[i]), "cited_by"))
        return counts

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
        graph.keys, graph.key_owners = self.keys, self.key_owners
        graph.works, graph.authors = self.works, self.authors
        graph.edges = len(kept)
        citing_at, cited_at = kept // width, kept % width
        graph._rows = {"references": sparse_rows(citing_at, cited_at, n),
                       "cited_by": sparse_rows(cited_at, citing_at, n)}  # fmt: skip
        return graph
