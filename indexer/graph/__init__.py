"""Writing a build's citation graph (``search.graph``): every reference the build's papers
name, resolved to the papers it holds, as sparse rows in both directions.

Each paper is known by keys (``search.graph.keys``): its corpus id, DOI and the other ids
its source gives; a reference resolves to the paper holding its first known key
(``resolution``). A paper's source may also list the papers citing it (Semantic
Scholar's ``citations``): each becomes an edge towards it. Self-citations and repeated
edges are dropped; cycles are kept (papers cite each other). A reference that resolves
to no paper is counted in ``listed`` and its keys kept as pending, so the first build
after its paper joins the corpus links it up.

A graph is derived from the previous build's (``derive``) when that one is intact and
little changed, else written afresh (``full``); both work out of core. It is written
into a temporary directory, fsynced and renamed into place before the build is
completed, as the keyword index is. The build's works (``indexer.works``: which papers
are versions of one work) and its author index (``indexer.graph.authors``) are written
into it too.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexer.crash_points import checkpoint
from indexer.graph.authors import write_author_index
from indexer.graph.derive import derive
from indexer.graph.full import write_full
from indexer.graph.source import GraphSource
from indexer.works import WrittenWorks, write_works
from search.base.atomic_files import TEMPORARY_SUFFIX, fsync_directory, fsync_tree
from search.graph.files import ARRAYS, FORMAT, HASHES, LISTED, PAPERS, GraphManifest


@dataclass(frozen=True)
class WrittenGraph:
    """A citation graph in place: its directory's name, its papers and edges, the build
    it was derived from (None: written afresh), the seconds writing it took."""

    name: str
    papers: int
    edges: int
    derived_from: int | None
    seconds: float
    works: WrittenWorks | None = None
    authors_seconds: float = 0.0  # writing its author index


@dataclass(frozen=True)
class PreviousGraph:
    """The graph a new one may be derived from: the build's id and its directory."""

    build_id: int
    directory: Path


def write(
    source: GraphSource,
    target: Path,
    ids: np.ndarray,
    hashes: np.ndarray,
    *,
    edges: tuple[np.ndarray, str] = (np.zeros((0, 2), np.uint64), ""),
    previous: PreviousGraph | None = None,
    memory: int = 2 << 30,
) -> WrittenGraph:
    """The citation graph of the papers ``ids`` (sorted; ``hashes`` their content hashes)
    as the directory ``target``, with the kept ``edges`` (key hash pairs, and their
    digest), derived from ``previous`` when it can be."""
    started = time.perf_counter()
    scratch = target.with_name(target.name + TEMPORARY_SUFFIX)
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    pairs, digest = edges
    written, derived_from = None, None
    if previous is not None and _derivable(previous.directory, digest):
        written = derive(source, scratch, previous.directory, ids, hashes, pairs, memory)
        derived_from = previous.build_id if written is not None else None
    if written is None:
        written = write_full(source, scratch, ids, pairs, memory)
    listed, count = written
    np.save(scratch / PAPERS, np.asarray(ids, dtype=np.int64))
    np.save(scratch / LISTED, listed)
    np.save(scratch / HASHES, np.asarray(hashes, dtype=np.int64))
    ids, hashes = np.asarray(ids, dtype=np.int64), np.asarray(hashes, dtype=np.int64)
    before = previous.directory if previous else None
    works = write_works(source, scratch, ids, hashes, before, memory)
    authors_started = time.perf_counter()
    write_author_index(source, scratch, ids, hashes, before, memory)
    authors_seconds = round(time.perf_counter() - authors_started, 3)
    checkpoint("graph")
    GraphManifest(FORMAT, len(ids), count, derived_from, list(ARRAYS), digest).write(scratch)
    fsync_tree(scratch)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(scratch, target)
    fsync_directory(target.parent)
    elapsed = round(time.perf_counter() - started, 3)
    return WrittenGraph(target.name, len(ids), count, derived_from, elapsed, works,
                        authors_seconds)  # fmt: skip


def _derivable(directory: Path, digest: str) -> bool:
    """The previous graph is in this format, over the same files of edges."""
    try:
        manifest = GraphManifest.read(directory)
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return manifest.format == FORMAT and manifest.edges_digest == digest and manifest.papers > 0
