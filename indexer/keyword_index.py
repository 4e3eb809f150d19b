"""Writing a build's keyword index (``search.keyword_index``): derived from the previous
build's when most papers are unchanged, written afresh otherwise.

A nightly re-index changes a few papers of many. Tantivy's segments are immutable
files, so the next build's index starts as copies of the previous build's segments,
deletes the papers that changed or left, adds the new and changed ones, and
commits: the indexing follows the change, not the corpus (``bench/reindex.py``).
The copies are the filesystem's clones where it has them (XFS, Btrfs: no bytes
copied) and plain copies elsewhere; never hard links, which would let one changed
byte corrupt every kept build at once, rollback points included. The previous
build's files are only read, so a server of that build keeps answering from them
meanwhile.

Either way the index is written into a temporary directory, fsynced and renamed into
place before the build is completed: a run killed while writing it leaves the
previous build current and nothing half-written that anything reads (the next run
removes the leftover).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexer.crash_points import checkpoint
from search.base.atomic_files import TEMPORARY_SUFFIX, fsync_directory, fsync_tree
from search.base.settings import Settings
from search.keyword_index.documents import (
    FORMAT,
    MANIFEST,
    PAPERS_FILE,
    Manifest,
    PaperText,
    analyzers,
    schema,
)
from search.store import Store
from search.store.build_files import BuildFiles, shard_of

# Deleted documents stay in Tantivy's statistics (the paper count, mean lengths) until
# their segment is merged: past this share of the papers, the index is written afresh,
# so that a derived index ranks within a few per cent of the scores of a fresh one.
MAX_STALE_SHARE = 0.1
DELETE_BATCH = 10_000  # ids a delete query names
FICLONE = 0x40049409  # Linux's ioctl: clone a file's blocks (XFS, Btrfs)
WRITER_MEMORY = 256 * 1024 * 1024  # Tantivy's indexing buffer, split between its threads
LOCKS = (".tantivy-meta.lock", ".tantivy-writer.lock")  # empty, not part of the index


@dataclass(frozen=True)
class Written:
    """A keyword index in place: its directory's name, how many papers it holds, the build
    it was derived from (None: written afresh), and the seconds writing it took."""

    name: str
    papers: int
    derived_from: int | None
    seconds: float


def write(
    store: Store,
    settings: Settings,
    build_id: int,
    ids: np.ndarray,
    hashes: np.ndarray,
    previous=None,
    shards: int = 1,
) -> Written:
    """The keyword index of build ``build_id``, holding the papers ``ids`` (sorted, with
    their ``content_hashes``), in place: derived from ``previous``'s (an ``IndexBuild``)
    when it has a usable one. In ``shards``, each shard's index holds the papers of its
    shard (``shard_of``), derived from the same shard of ``previous`` when it has as many."""
    started = time.perf_counter()
    targets = BuildFiles.named(settings.builds_dir, build_id, shards)
    before = store.builds.files(previous) if previous is not None else None
    if before is not None and before.shards != shards:
        before = None  # split otherwise: every shard is written afresh
    shard = shard_of(ids, shards) if shards > 1 else np.zeros(len(ids), dtype=np.int64)
    derived = [
        _write_one(store, settings, targets.shard(number).keywords,
                   (ids[shard == number], hashes[shard == number]),
                   (previous.id, _base(before.shard(number).keywords)) if before else None)
        for number in range(shards)
    ]  # fmt: skip
    source = previous.id if all(derived) else None
    return Written(targets.keywords.name, len(ids), source,
                   round(time.perf_counter() - started, 3))  # fmt: skip


def _write_one(
    store: Store, settings: Settings, target: Path, papers: tuple[np.ndarray, np.ndarray],
    base: tuple[int, Path | None] | None,
) -> bool:  # fmt: skip
    """One keyword index (of a build, or of one of its shards) at ``target``, holding
    ``papers`` (ids, content hashes): derived from ``base`` (a build's id and its index)
    when it can be (then True), else written afresh."""
    ids, hashes = papers
    previous, base = base or (None, None)
    staging = Path(tempfile.mkdtemp(dir=settings.builds_dir,
                                    prefix=target.name + ".", suffix=TEMPORARY_SUFFIX))  # fmt: skip
    try:
        stale = _derive(store, base, staging, ids, hashes) if base is not None else None
        if stale is None:
            shutil.rmtree(staging)
            staging.mkdir()
            write_fresh(staging, store.texts.of(ids))
        finish(staging, ids, hashes, previous if stale is not None else None, stale or 0)
        checkpoint("keywords-written")
        if target.exists():  # left by a build that failed after the rename
            shutil.rmtree(target)
        os.rename(staging, target)
        fsync_directory(target.parent)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return stale is not None


def _base(directory: Path | None) -> Path | None:
    """The previous build's keyword index (or its shard's), if it is one this release can
    derive from (the caller gives a build whose files it verified against their checksum)."""
    if directory is None or not (directory / PAPERS_FILE).is_file():
        return None
    try:
        return directory if Manifest.read(directory).format == FORMAT else None
    except (OSError, ValueError, TypeError):
        return None


def _derive(
    store: Store, base: Path, staging: Path, ids: np.ndarray, hashes: np.ndarray
) -> int | None:
    """``base`` made into the index of ``ids``: unchanged papers kept, changed and
    withdrawn ones deleted, new and changed ones added. Returns the deleted documents the
    new index carries; None (nothing done) when they would be too many (MAX_STALE_SHARE)."""
    import tantivy

    held = np.load(base / PAPERS_FILE)
    before_ids, before_hashes = held[:, 0], held[:, 1]
    if len(before_ids) == 0:
        return None
    at = np.minimum(np.searchsorted(before_ids, ids), len(before_ids) - 1)
    same = (before_ids[at] == ids) & (before_hashes[at] == hashes)
    kept = ids[same]
    gone = np.setdiff1d(before_ids, kept, assume_unique=True)
    added = ids[~same]
    stale = Manifest.read(base).stale + len(gone)  # deleted documents the index carries
    if stale > MAX_STALE_SHARE * max(len(ids), 1):
        return None
    for name in Manifest.read(base).files:
        if name != PAPERS_FILE:
            _clone(base / name, staging / name)
    index = tantivy.Index.open(str(staging))
    _register(index)
    writer = index.writer(WRITER_MEMORY, _threads())
    for start in range(0, len(gone), DELETE_BATCH):  # (by term, a u64 id is never matched)
        ids = gone[start : start + DELETE_BATCH].tolist()
        writer.delete_documents_by_query(tantivy.Query.term_set_query(index.schema, "id", ids))
    _add(writer, store.texts.of(added))
    return stale


def write_fresh(directory: Path, batches: Iterable[list[PaperText]]) -> None:
    """A keyword index of these papers, written afresh into ``directory`` (empty)."""
    import tantivy

    index = tantivy.Index(schema(), path=str(directory))
    _register(index)
    _add(index.writer(WRITER_MEMORY, _threads()), batches)


def finish(
    directory: Path, ids: np.ndarray, hashes: np.ndarray, derived_from: int | None, stale: int
) -> None:
    """Record what the index in ``directory`` holds (its papers and their content hashes,
    its manifest) and fsync it all: then it can be renamed into place."""
    np.save(directory / PAPERS_FILE, np.stack([ids, hashes], axis=1).astype(np.int64))
    files = sorted(f.name for f in directory.iterdir() if f.name not in (*LOCKS, MANIFEST))
    Manifest(FORMAT, len(ids), derived_from, files, stale).write(directory)
    fsync_tree(directory)


def _add(writer, batches: Iterable[list[PaperText]]) -> None:
    """Add the papers, commit, and let Tantivy finish its merges."""
    for papers in batches:
        for paper in papers:
            writer.add_document(paper.document())
        checkpoint("keywords")
    writer.commit()
    writer.wait_merging_threads()


def _clone(source: Path, target: Path) -> None:
    """A copy of ``source`` of its own: a clone sharing its blocks where the filesystem
    can (copy-on-write), else a byte copy."""
    import fcntl

    with open(source, "rb") as src, open(target, "wb") as dst:
        try:
            fcntl.ioctl(dst.fileno(), FICLONE, src.fileno())
            return
        except OSError:
            pass
    shutil.copyfile(source, target)


def _register(index) -> None:
    for name, analyzer in analyzers().items():
        index.register_tokenizer(name, analyzer)


def _threads() -> int:
    return max(1, min(4, len(os.sched_getaffinity(0))))
