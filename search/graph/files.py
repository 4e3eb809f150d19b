"""What a build's citation graph is on disk: a directory of NumPy arrays and a manifest.

The graph is compressed sparse rows over the build's papers, in both directions: row i
of ``references`` lists the positions (in ``papers``, the build's paper ids sorted) of
the papers paper i cites, row i of ``cited_by`` those that cite it. Positions are 32-bit
and each edge is stored once a direction, so an edge costs 8 bytes; ``listed`` keeps
how many references each paper's source gave, found in the corpus or not. Servers
memory-map the arrays: replicas share the pages, and nothing is read until asked.

The other arrays serve no query: they let the next build derive its graph from this one
in proportion to what changed (``indexer.graph.derive``). ``hashes`` are the papers'
content hashes (what changed), ``claims`` each paper's own resolved references and
citers (what its record says, as sparse rows: a target position, or ``-(position + 1)``
for a paper its record says cites it), ``keys`` every id of every paper (what a
reference can resolve to) and ``pending`` the ids named by references that resolved to
no paper yet (who to link up when a paper with that id arrives).

Format 3 adds the build's works (``search.graph.works``): which papers are versions of
one work (a preprint and its published version), and the features each paper was
matched on, so that the next build reads only the changed papers' records again; and
its author index (``search.graph.authors``): which papers each author id and each
author's name is on, so that an author's page is a lookup on every store and at any size.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FORMAT = 3
MANIFEST = "graph.json"
PAPERS = "papers.npy"  # int64, the build's paper ids, sorted: a position is a node
LISTED = "listed.npy"  # int32, the references each paper's source listed
HASHES = "hashes.npy"  # int64, each paper's content hash
KEYS = "keys.npy"  # uint64, every key hash of every paper, sorted (search.graph.keys)
KEY_OWNERS = "key_owners.npy"  # int32, the position holding each key (ascending per key)
PENDING = "pending.npy"  # uint64, key hashes named by references that found no paper, sorted
PENDING_OWNERS = "pending_owners.npy"  # int32, the position whose record named each
WORKS = "works.npy"  # int64 (m, 3): member id, its work's primary id, how it was linked
WORK_KEYS = "work_keys.npy"  # uint64 (n, 3): title block, DOI, arXiv id hashes (0: none)
WORK_META = "work_meta.npy"  # int16 (n, 2): year (0: unknown), how published the record is
AUTHOR_KEYS = "author_keys.npy"  # uint64, every author key hash of every paper, sorted
AUTHOR_OWNERS = "author_owners.npy"  # int32, the position holding each (ascending per key)
DIRECTIONS = ("references", "cited_by")
CLAIMS = "claims"  # sparse rows, as the directions are


def indptr_file(direction: str) -> str:
    return f"{direction}.indptr.npy"  # int64, n + 1 row starts


def indices_file(direction: str) -> str:
    return f"{direction}.npy"  # int32, each row's positions, ascending


ARRAYS = (
    PAPERS, LISTED, HASHES, KEYS, KEY_OWNERS, PENDING, PENDING_OWNERS, WORKS, WORK_KEYS, WORK_META,
    AUTHOR_KEYS, AUTHOR_OWNERS,
    *(f(d) for d in (*DIRECTIONS, CLAIMS) for f in (indptr_file, indices_file)),
)  # fmt: skip


@dataclass(frozen=True)
class GraphManifest:
    """A graph's own description: its format, papers, edges (in this corpus, each once),
    the build it was derived from (None: resolved afresh), its files in checksum order,
    and the SHA-256 of the kept files of edges it resolved (``indexer.citation_edges``)."""

    format: int
    papers: int
    edges: int
    derived_from: int | None
    files: list[str]
    edges_digest: str = ""

    @classmethod
    def read(cls, directory: Path) -> GraphManifest:
        fields = json.loads((directory / MANIFEST).read_text())
        return cls(**{k: v for k, v in fields.items() if k in cls.__dataclass_fields__})

    def write(self, directory: Path) -> None:
        (directory / MANIFEST).write_text(json.dumps(self.__dict__, indent=1) + "\n")


def graph_files(directory: Path) -> list[Path]:
    """The files of the graph in ``directory`` that the build's checksum covers: its
    manifest, then the arrays it lists (just the manifest's path when it is missing, so
    that verifying says so)."""
    manifest = directory / MANIFEST
    if not manifest.is_file():
        return [manifest]
    return [manifest, *(directory / name for name in GraphManifest.read(directory).files)]


def sparse_rows(rows: np.ndarray, columns: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(row starts, each row's columns ascending) of the unique edges ``rows[i]`` →
    ``columns[i]`` over ``n`` rows: one direction of the graph."""
    order = np.lexsort((columns, rows))
    starts = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=starts[1:])
    return starts, np.asarray(columns)[order].astype(np.int32)
