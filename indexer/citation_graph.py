"""Writing a build's citation graph (``search.graph``): every reference the build's papers
name, resolved to the papers it holds, as sparse rows in both directions.

Each paper is known by keys (``search.graph.keys``): its corpus id, DOI and the other ids
its source gives. A reference is a list of such keys (one reference may give a DOI and
an arXiv id); it resolves to the paper that holds the first of them this build knows.
Resolution joins 64-bit key hashes as sorted arrays, not a table or a dictionary of
strings, so it costs a sort of the keys and of the edges. A paper's source may also list
the papers citing it (Semantic Scholar's ``citations``): each becomes an edge towards it.
Self-citations and repeated edges are dropped; cycles are kept (papers cite each other).
A reference that resolves to no paper is counted in ``listed`` and kept in the paper's
row, so the first build after its paper joins the corpus links it up.

The graph is written into a temporary directory, fsynced and renamed into place before
the build is completed, as the keyword index is.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexer.crash_points import checkpoint
from search.base.atomic_files import TEMPORARY_SUFFIX, fsync_directory, fsync_tree
from search.graph.files import (
    ARRAYS,
    FORMAT,
    LISTED,
    PAPERS,
    GraphManifest,
    indices_file,
    indptr_file,
    sparse_rows,
)
from search.graph.keys import key_hashes, own_keys
from search.store import Store
from search.store.build_files import BuildFiles


@dataclass(frozen=True)
class WrittenGraph:
    """A citation graph in place: its directory's name, its papers and edges, the seconds
    writing it took."""

    name: str
    papers: int
    edges: int
    seconds: float


def write(
    store: Store, builds_dir: Path, build_id: int, ids: np.ndarray, edges: np.ndarray | None = None
) -> WrittenGraph:
    """The citation graph of the papers ``ids`` (sorted), as a build's directory; with the
    edges of files of edges (``indexer.citation_edges``: key hash pairs) too."""
    started = time.perf_counter()
    target = BuildFiles.named(builds_dir, build_id).graph
    scratch = target.with_name(target.name + TEMPORARY_SUFFIX)
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    keys = _KeyIndex.of(store, ids)
    sources, targets, listed = _edges(store, ids, keys)
    if edges is not None and len(edges):
        citing, cited = _resolve_pairs(np.asarray(edges), keys)
        sources, targets = np.concatenate([sources, citing]), np.concatenate([targets, cited])
    edges = _write_rows(scratch, ids, sources, targets, listed)
    checkpoint("graph")
    GraphManifest(FORMAT, len(ids), edges, None, list(ARRAYS)).write(scratch)
    fsync_tree(scratch)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(scratch, target)
    fsync_directory(target.parent)
    return WrittenGraph(target.name, len(ids), edges, round(time.perf_counter() - started, 3))


@dataclass(frozen=True)
class _KeyIndex:
    """Every key of the build's papers as (hash, position), sorted by hash; a key two
    papers share resolves to the one with the lower id."""

    hashes: np.ndarray
    positions: np.ndarray

    @classmethod
    def of(cls, store: Store, ids: np.ndarray) -> _KeyIndex:
        hashes, positions = [], []
        for rows in store.texts.links(ids):
            keys, owners = [], []
            for paper_id, external_id, doi, other, _, _ in rows:
                own = own_keys(external_id, doi, other or ())
                keys += own
                owners += [paper_id] * len(own)
            hashes.append(key_hashes(keys))
            positions.append(np.searchsorted(ids, np.asarray(owners, dtype=np.int64)))
        hashes = np.concatenate(hashes) if hashes else np.zeros(0, dtype=np.uint64)
        positions = np.concatenate(positions) if positions else np.zeros(0, dtype=np.int64)
        order = np.lexsort((positions, hashes))
        hashes, positions = hashes[order], positions[order]
        first = np.ones(len(hashes), dtype=bool)
        first[1:] = hashes[1:] != hashes[:-1]
        return cls(hashes[first], positions[first].astype(np.int32))

    def resolve(self, hashes: np.ndarray) -> np.ndarray:
        """The position holding each hash, -1 where none does."""
        if len(self.hashes) == 0:
            return np.full(len(hashes), -1, dtype=np.int32)
        at = np.minimum(np.searchsorted(self.hashes, hashes), len(self.hashes) - 1)
        return np.where(self.hashes[at] == hashes, self.positions[at], -1).astype(np.int32)


def _edges(store: Store, ids: np.ndarray, keys: _KeyIndex):
    """(citing positions, cited positions, references listed per position)."""
    listed = np.zeros(len(ids), dtype=np.int32)
    sources, targets = [], []
    for rows in store.texts.links(ids):
        for paper_id, _, _, _, references, citers in rows:
            at = int(np.searchsorted(ids, paper_id))
            listed[at] = len(references or ())
            for direction, entries in ((0, references or ()), (1, citers or ())):
                found = _resolve_entries(entries, keys)
                if len(found):
                    mine = np.full(len(found), at, dtype=np.int32)
                    sources.append(mine if direction == 0 else found)
                    targets.append(found if direction == 0 else mine)
    if not sources:
        return np.zeros(0, np.int32), np.zeros(0, np.int32), listed
    return np.concatenate(sources), np.concatenate(targets), listed


def _resolve_pairs(pairs: np.ndarray, keys: _KeyIndex, chunk: int = 1 << 22):
    """The (citing, cited) positions of the key hash ``pairs`` whose both ends this build
    holds, read a chunk at a time."""
    citing, cited = [], []
    for start in range(0, len(pairs), chunk):
        part = np.asarray(pairs[start : start + chunk])
        a, b = keys.resolve(part[:, 0]), keys.resolve(part[:, 1])
        both = (a >= 0) & (b >= 0)
        citing.append(a[both])
        cited.append(b[both])
    return np.concatenate(citing), np.concatenate(cited)


def _resolve_entries(entries, keys: _KeyIndex) -> np.ndarray:
    """The positions the entries (each a list of alternative keys) resolve to: for each,
    its first key the build knows; entries that resolve to nothing are left out."""
    flat, owner = [], []
    for number, entry in enumerate(entries):
        for key in entry if isinstance(entry, list) else [entry]:
            flat.append(key)
            owner.append(number)
    if not flat:
        return np.zeros(0, dtype=np.int32)
    positions = keys.resolve(key_hashes(flat))
    owner = np.asarray(owner)
    hit = positions >= 0
    _, first = np.unique(owner[hit], return_index=True)  # each entry's first key found
    return positions[hit][first]


def _write_rows(directory: Path, ids, sources, targets, listed) -> int:
    """Both directions' sparse rows, without self-citations or repeats: the edge count."""
    n = len(ids)
    width = max(n, 1)
    keep = sources != targets
    pairs = np.unique(sources[keep].astype(np.int64) * width + targets[keep])
    citing, cited = pairs // width, pairs % width
    np.save(directory / PAPERS, np.asarray(ids, dtype=np.int64))
    np.save(directory / LISTED, listed)
    for direction, (row, col) in (("references", (citing, cited)), ("cited_by", (cited, citing))):
        indptr, indices = sparse_rows(row, col, n)
        np.save(directory / indptr_file(direction), indptr)
        np.save(directory / indices_file(direction), indices)
    return len(pairs)
