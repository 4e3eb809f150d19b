"""Which of a build's papers are versions of one work, written beside its citation graph
(``search.graph.works`` reads it).

Versions are linked by what the sources say first: papers sharing any id (a DOI, an
arXiv id, a PMID, an OpenAlex or Semantic Scholar id: the graph's keys,
``search.graph.keys``). Papers no id links are then matched conservatively: the same
normalised title and first author's surname, years within one (``features``). Two
papers with different DOIs or arXiv ids are never one work (``linking``).

Each build recomputes its works from the stored records, so a link found wrong, or a
record withdrawn, undoes a merge at the next build and loses nothing: the table is a
view over the records, never a change to them. Only the papers changed since the
previous build are read again; the others' features are copied from its graph.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from indexer.previous_graph import holds, unchanged
from indexer.works.features import features
from indexer.works.linking import LinkCounts, Linker, shared_keys, title_matches
from search.graph.files import KEY_OWNERS, KEYS, WORK_KEYS, WORK_META, WORKS
from search.graph.works import BY_ID, BY_TITLE


@dataclass(frozen=True)
class WrittenWorks:
    """What a build's works are: its papers, the versions in works of two or more, those
    works, the features read afresh, and what linking did."""

    papers: int
    versions: int
    works: int
    read: int
    counts: LinkCounts
    seconds: float = 0.0

    def summary(self) -> dict:
        return {**{k: v for k, v in asdict(self).items() if k != "counts"},
                **asdict(self.counts)}  # fmt: skip


def write_works(source, directory: Path, ids: np.ndarray, hashes: np.ndarray,
                previous: Path | None, memory: int) -> WrittenWorks:  # fmt: skip
    """The works of the papers ``ids`` (sorted; ``hashes`` their content hashes) into the
    graph being written in ``directory`` (its keys already there), the features of
    unchanged papers copied from the graph ``previous``."""
    started = time.perf_counter()
    keys, meta, read = _features(source, directory, ids, hashes, previous)
    linker = Linker(keys)
    for pairs in shared_keys(directory / KEYS, directory / KEY_OWNERS, linker.counts):
        for a, b in pairs.tolist():
            linker.union(a, b, BY_ID)
    for pairs in title_matches(keys, meta, memory):
        for a, b in pairs.tolist():
            linker.union(a, b, BY_TITLE)
    table = _table(linker, ids, meta)
    np.save(directory / WORKS, table)
    del keys, meta  # the memory maps are flushed when released
    works = len(np.unique(table[:, 1]))
    elapsed = round(time.perf_counter() - started, 3)
    return WrittenWorks(len(ids), len(table), works, read, linker.counts, elapsed)


def _features(source, directory: Path, ids: np.ndarray, hashes: np.ndarray,
              previous: Path | None) -> tuple[np.ndarray, np.ndarray, int]:  # fmt: skip
    """Each paper's features (``features``) as memory-mapped files in ``directory``:
    copied for the papers the previous graph held with the same content, read from
    ``source`` for the rest; and how many were read."""
    n = len(ids)
    keys = np.lib.format.open_memmap(directory / WORK_KEYS, "w+", np.uint64, (n, 3))
    meta = np.lib.format.open_memmap(directory / WORK_META, "w+", np.int16, (n, 2))
    fresh = np.ones(n, dtype=bool)
    if previous is not None and holds(previous, WORK_KEYS):
        old_keys = np.load(previous / WORK_KEYS, mmap_mode="r")
        old_meta = np.load(previous / WORK_META, mmap_mode="r")
        for old, new in unchanged(previous, ids, hashes):
            keys[new], meta[new] = old_keys[old], old_meta[old]
            fresh[new] = False
    wanted = ids[fresh]
    for rows in source.work_fields(wanted):
        at = np.searchsorted(ids, [row[0] for row in rows])
        keys[at], meta[at] = features(rows)
    return keys, meta, len(wanted)


def _table(linker: Linker, ids: np.ndarray, meta: np.ndarray) -> np.ndarray:
    """(member id, primary id, how) of every paper in a work of two or more, by member:
    the primary is the most published version (``features``' rank), ties by lowest id."""
    linked = np.asarray(sorted(linker.linked), dtype=np.int64)
    if len(linked) == 0:
        return np.zeros((0, 3), dtype=np.int64)
    roots = np.asarray([linker.find(int(p)) for p in linked], dtype=np.int64)
    ranks = np.asarray(meta[linked, 1], dtype=np.int64)
    order = np.lexsort((linked, -ranks, roots))  # per work: best rank, then lowest position
    first = np.ones(len(order), dtype=bool)
    first[1:] = roots[order][1:] != roots[order][:-1]
    primary_of_root = dict(zip(roots[order][first].tolist(), linked[order][first].tolist(),
                               strict=True))  # fmt: skip
    primaries = np.asarray([primary_of_root[r] for r in roots.tolist()], dtype=np.int64)
    how = np.where(np.isin(linked, list(linker.by_id)), BY_ID, BY_TITLE)
    how[linked == primaries] = 0
    return np.stack([ids[linked], ids[primaries], how], axis=1).astype(np.int64)
