"""Paper vectors, kept as files per model so that unchanged papers are never embedded again.

The shards (``search.store.shards``) are recorded in the ``vector_shards``
table, the manifest, once written: the database holds no vector. A paper
embedded again (its text changed) gets a row in a newer shard, and its newest
row is its vector (``search.store.catalogue``); a paper whose newest row was
made from other text is pending. ``compact`` merges small shards and drops rows
nothing reads.

Why ``.npy`` and not Parquet: ``bench/vectors.py`` measures both (write, full
scan, random rows): memory-mapped arrays need no decoding and no dependency.
Memory: the catalogue takes 32 bytes a paper, built when first needed and kept
while the shards do not change; a build adds 8 bytes a paper for the list of
searchable rows.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from search.base.atomic_files import TEMPORARY_SUFFIX
from search.base.errors import VectorsUnavailable
from search.store.catalogue import Catalogue, LiveVectors, ShardReader
from search.store.schema import Embedding, Paper, VectorShard
from search.store.shards import (
    PARTS,
    ShardFile,
    hash_array,
    read_part,
    shard_path,
    write_shard,
)

PAPERS_PER_QUERY = 20_000  # papers read from the database at a time
SHARD_BYTES = 1 << 30  # vectors per shard after compaction: 1 GiB of them
SMALL_SHARDS = 64  # merge the small shards once a model has this many
DEAD_SHARE = 0.25  # rewrite every shard once this share of rows is superseded or unused
COPY_ROWS = 65_536  # rows copied at a time when shards are merged


@dataclass(frozen=True)
class PendingPaper:
    id: int
    title: str
    abstract: str | None
    text_hash: str


class Vectors:
    """The vector shards of every model under ``directory``, and their manifest."""

    def __init__(self, sessions: sessionmaker[Session], directory: Path) -> None:
        self.sessions = sessions
        self.directory = directory
        self.reader = ShardReader(directory)
        self._catalogues: dict[str, Catalogue] = {}
        self._lock = threading.Lock()

    # -- writing --------------------------------------------------------------------

    def save(self, model_key: str, papers: Sequence[PendingPaper], vectors: np.ndarray) -> None:
        """Append one shard: one vector per paper, with the hash of the text it was made from."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if len(papers) != len(vectors):
            raise ValueError("one vector per paper")
        if not papers:
            return
        ids = np.fromiter((p.id for p in papers), dtype=np.int64, count=len(papers))
        hashes = hash_array(p.text_hash for p in papers)
        self.record([write_shard(self.directory, model_key, ids, hashes, vectors)])

    def record(self, shards: Sequence[ShardFile]) -> None:
        """Add written shards to the manifest, in this order, in one transaction."""
        with self.sessions.begin() as session:
            session.add_all([shard.record() for shard in shards])

    def compacted_live(self, model_key: str) -> LiveVectors:
        """The shards' dead rows kept bounded, then every searchable paper's current vector
        as the shards hold them now (what the build reads). Once DEAD_SHARE of the rows are
        superseded or belong to withdrawn papers, every shard is rewritten with only the
        rows a build reads; otherwise the small ones are merged (:meth:`merge_small`). The
        papers are read once, and again only when shards were rewritten or merged. Call at
        the end of a run, holding the write lock."""
        replaced, live = self._compact(model_key)
        return self.live(model_key) if replaced else live

    def _compact(self, model_key: str) -> tuple[int, LiveVectors]:
        where = self.catalogue(model_key)
        total = sum(s.rows for s in where.manifest)
        live = self.live(model_key)
        if len(where.manifest) > 1 and total - len(live) > DEAD_SHARE * total:
            return self._replace(model_key, where, list(where.manifest), live.positions), live
        return self.merge_small(model_key), live

    def merge_small(self, model_key: str) -> int:
        """Merge the small shards into one once there are SMALL_SHARDS of them (each run
        writes one every few hundred papers), keeping each paper's newest row: the number
        of files stays bounded while a long run goes on. Returns how many were merged."""
        where = self.catalogue(model_key)
        small_rows = SHARD_BYTES // (4 * max(where.dim, 1)) // 2
        small = [s for s in where.manifest if s.rows < small_rows]
        if len(small) < SMALL_SHARDS:
            return 0
        numbers = [where.manifest.index(s) for s in small]
        positions = np.flatnonzero(np.isin(where.shards, numbers))  # their newest rows
        return self._replace(model_key, where, small, positions)

    def remove_orphans(self) -> None:
        """Delete shard files no manifest row names (a crash between writing a shard and
        recording it) and temporary files. Call while holding the write lock."""
        if not self.directory.is_dir():
            return
        with self.sessions() as session:
            named = {(s.model_key, s.name) for s in session.scalars(select(VectorShard))}
        for model_dir in self.directory.iterdir():
            for file in model_dir.glob("*"):
                name = file.name.split(".")[0]
                if file.name.endswith(TEMPORARY_SUFFIX) or (model_dir.name, name) not in named:
                    file.unlink(missing_ok=True)

    def move_from_table(self) -> int:
        """Move the vectors a store kept in its ``embeddings`` table (before migration 0006)
        into shards, a batch at a time: each batch's shard is recorded and its rows deleted
        in one transaction, so a move that is interrupted resumes where it stopped and loses
        nothing. Returns how many vectors moved."""
        moved = 0
        while True:
            with self.sessions() as session:
                model_key = session.scalar(select(Embedding.model_key).limit(1))
                if model_key is None:
                    return moved
                rows = session.execute(
                    select(Embedding.paper_id, Embedding.text_hash, Embedding.vector)
                    .where(Embedding.model_key == model_key)
                    .order_by(Embedding.paper_id)
                    .limit(PAPERS_PER_QUERY)
                ).all()
            ids = np.array([r.paper_id for r in rows], dtype=np.int64)
            vectors = np.frombuffer(b"".join(r.vector for r in rows), dtype=np.float32)
            shard = write_shard(self.directory, model_key, ids,
                                hash_array(r.text_hash for r in rows),
                                vectors.reshape(len(rows), -1))  # fmt: skip
            with self.sessions.begin() as session:
                session.add(shard.record())
                session.execute(
                    delete(Embedding).where(
                        Embedding.model_key == model_key, Embedding.paper_id.in_(ids.tolist())
                    )
                )
            moved += len(rows)

    def legacy_rows(self) -> bool:
        """Whether vectors are still in the ``embeddings`` table, waiting to be moved."""
        with self.sessions() as session:
            return session.scalar(select(Embedding.paper_id).limit(1)) is not None

    # -- reading --------------------------------------------------------------------

    def pending(
        self, model_key: str, chunk: int = 4096, ids: np.ndarray | None = None
    ) -> Iterator[list[PendingPaper]]:
        """Searchable papers with no vector for ``model_key``, or one made from older text,
        in id order; with ``ids`` (from :meth:`pending_ids`), those papers, read by id
        rather than by reading every searchable paper again."""
        batch: list[PendingPaper] = []
        where = self.catalogue(model_key)
        rows_of = self._searchable(text=True) if ids is None else self._by_ids(ids)
        for rows in rows_of:
            current = where.current(*_ids_and_hashes(rows))
            batch.extend(PendingPaper(*r) for r, ok in zip(rows, current, strict=True) if not ok)
            while len(batch) >= chunk:
                yield batch[:chunk]
                batch = batch[chunk:]
        if batch:
            yield batch

    def pending_ids(self, model_key: str) -> np.ndarray:
        """Ids (sorted) of the papers :meth:`pending` yields: their count, and what it reads
        by id, from one read of the searchable papers' ids and text hashes."""
        where = self.catalogue(model_key)
        found = []
        for rows in self._searchable(text=False):
            ids, hashes = _ids_and_hashes(rows)
            found.append(ids[~where.current(ids, hashes)])
        return np.concatenate(found) if found else np.empty(0, dtype=np.int64)

    def pending_sample(self, model_key: str, n: int, pending: int) -> list[PendingPaper]:
        """``n`` of the ``pending`` papers :meth:`pending` yields, evenly spread over them
        (every ``pending / n``-th): the same papers each time for the same store."""
        stride = max(1, pending // max(n, 1))
        chosen: list[PendingPaper] = []
        for number, paper in enumerate(p for chunk in self.pending(model_key) for p in chunk):
            if number % stride == 0:
                chosen.append(paper)
                if len(chosen) == n:
                    break
        return chosen

    def count_pending(self, model_key: str) -> int:
        where = self.catalogue(model_key)
        return sum(
            int((~where.current(*_ids_and_hashes(rows))).sum())
            for rows in self._searchable(text=False)
        )

    def live(self, model_key: str) -> LiveVectors:
        """Every searchable paper's current vector: what an index build adds."""
        where = self.catalogue(model_key)
        positions = [
            np.searchsorted(where.ids, ids[where.current(ids, hashes)])
            for ids, hashes in (_ids_and_hashes(rows) for rows in self._searchable(text=False))
        ]
        joined = np.concatenate(positions) if positions else np.empty(0, dtype=np.int64)
        return LiveVectors(self.reader, model_key, where, joined)

    def all(self, model_key: str) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of every searchable paper's current vector, in one array each."""
        return self.live(model_key).all()

    def get(self, paper_id: int, model_key: str, text_hash: str | None = None) -> np.ndarray | None:
        """A paper's vector for ``model_key`` (None: it has none); see :meth:`get_many`."""
        ids = np.array([paper_id], dtype=np.int64)
        found, vectors = self.get_many(ids, model_key, None if text_hash is None else [text_hash])
        return vectors[0] if found[0] else None

    def get_many(
        self, paper_ids: np.ndarray, model_key: str, text_hashes: Sequence[str] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(which of ``paper_ids`` have a vector, those vectors in that order). With
        ``text_hashes`` (one a paper), each the vector made from that text (what the build
        served holds, though the paper may have been embedded again since) while the shards
        keep it, else the paper's newest."""
        paper_ids = np.asarray(paper_ids, dtype=np.int64)
        found, vectors, where = self._newest(paper_ids, model_key)
        if text_hashes is None or not len(paper_ids):
            return found, vectors
        wanted = hash_array(text_hashes)
        older = np.flatnonzero(found & ~where.current(paper_ids, wanted))
        if len(older):
            row_of = np.cumsum(found) - 1  # a found paper's row in ``vectors``
            for i in older:
                vector = self._older_row(model_key, where, int(paper_ids[i]), wanted[i])
                if vector is not None:
                    vectors[row_of[i]] = vector
        return found, vectors

    def _older_row(self, model_key: str, where: Catalogue, paper_id: int, wanted: np.ndarray):
        """The newest of a paper's rows made from the text ``wanted`` (a hash) other than its
        newest row, from the shards' id files, newest shard first (None: compacted away)."""
        try:
            for shard in reversed(where.manifest):
                ids = read_part(self.directory, model_key, shard.name, "ids", mmap_mode="r")
                rows = np.flatnonzero(ids == paper_id)
                if not len(rows):
                    continue
                hashes = read_part(self.directory, model_key, shard.name, "hashes", mmap_mode="r")
                same = rows[(hashes[rows] == wanted).all(axis=1)]
                if len(same):
                    vectors = read_part(self.directory, model_key, shard.name, "vectors",
                                        mmap_mode="r")  # fmt: skip
                    return np.array(vectors[same[-1]], dtype=np.float32)
        except VectorsUnavailable:  # replaced by a compaction meanwhile
            return None
        return None

    def _newest(self, paper_ids: np.ndarray, model_key: str) -> tuple:
        """(found, their newest vectors, the catalogue they were read with)."""
        for attempt in range(2):
            where = self.catalogue(model_key)
            found, at = where.find(paper_ids)
            try:
                return found, self.reader.gather(model_key, where, at), where
            except VectorsUnavailable:
                if attempt or [s.id for s in self._manifest(model_key)] == list(where.key):
                    raise  # the file is missing, not replaced by a compaction meanwhile
        raise AssertionError("unreachable")

    def catalogue(self, model_key: str) -> Catalogue:
        """Each paper's newest row (cached until the manifest changes)."""
        manifest = tuple(self._manifest(model_key))
        with self._lock:
            cached = self._catalogues.get(model_key)
            if cached is not None and cached.key == tuple(s.id for s in manifest):
                return cached
        made = Catalogue.of(manifest, lambda name, part: self.reader.read(model_key, name, part))
        with self._lock:
            self._catalogues[model_key] = made
        self.reader.keep_only(model_key, {s.name for s in manifest})
        return made

    # -- internals ------------------------------------------------------------------

    def _searchable(self, *, text: bool) -> Iterator[list]:
        """Searchable papers, a query's worth at a time, in id order: rows of (id, title,
        abstract, text hash) with ``text``, else (id, text hash)."""
        after = 0
        columns = (Paper.id, Paper.title, Paper.abstract) if text else (Paper.id,)
        while True:
            with self.sessions() as session:
                rows = session.execute(
                    select(*columns, Paper.text_hash)
                    .where(Paper.withdrawn_at.is_(None), Paper.id > after)
                    .order_by(Paper.id)
                    .limit(PAPERS_PER_QUERY)
                ).all()
            if not rows:
                return
            after = rows[-1][0]
            yield rows

    def _by_ids(self, ids: np.ndarray) -> Iterator[list]:
        """Rows of (id, title, abstract, text hash) of the searchable papers of ``ids``."""
        for start in range(0, len(ids), PAPERS_PER_QUERY):
            wanted = [int(i) for i in ids[start : start + PAPERS_PER_QUERY]]
            with self.sessions() as session:
                rows = session.execute(
                    select(Paper.id, Paper.title, Paper.abstract, Paper.text_hash)
                    .where(Paper.withdrawn_at.is_(None), Paper.id.in_(wanted))
                    .order_by(Paper.id)
                ).all()
            if rows:
                yield rows

    def _replace(self, model_key: str, where: Catalogue, old: list, positions) -> int:
        """Write the rows ``positions`` (in id order) into new shards that replace ``old``."""
        per_shard = max(SHARD_BYTES // (4 * where.dim), 1)
        written = []
        for start in range(0, len(positions), per_shard):
            part = positions[start : start + per_shard]
            blocks = (
                self.reader.gather(model_key, where, part[i : i + COPY_ROWS])
                for i in range(0, len(part), COPY_ROWS)
            )
            written.append(write_shard(self.directory, model_key, where.ids[part],
                                       where.hashes[part], blocks, dim=where.dim))  # fmt: skip
        with self.sessions.begin() as session:  # the new shards replace the old, at once
            session.add_all([shard.record() for shard in written])
            session.execute(delete(VectorShard).where(VectorShard.id.in_([s.id for s in old])))
        for shard in old:
            for part in PARTS:
                shard_path(self.directory, model_key, shard.name, part).unlink(missing_ok=True)
        return len(old)

    def _manifest(self, model_key: str) -> list[VectorShard]:
        with self.sessions() as session:
            return list(
                session.scalars(
                    select(VectorShard)
                    .where(VectorShard.model_key == model_key)
                    .order_by(VectorShard.id)
                )
            )


def _ids_and_hashes(rows) -> tuple[np.ndarray, np.ndarray]:
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    return ids, hash_array(r[-1] for r in rows)
