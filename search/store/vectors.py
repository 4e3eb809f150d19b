"""Paper vectors, kept as files per model so that unchanged papers are never embedded again.

Each model has a directory, ``vectors/<model key>/``, of append-only shards.
A shard is three memory-mappable ``.npy`` files: the paper ids (int64), the
first 16 bytes of the SHA-256 of the text each vector was made from, and the
vectors (float32). Its files are written atomically and only then recorded in
the ``vector_shards`` table, the manifest: the database holds no vector. A
paper embedded again (its text changed) gets a row in a newer shard, and its
newest row is its vector; a paper whose newest row was made from other text
is pending. ``compact`` merges small shards and drops rows nothing reads.

Why ``.npy`` and not Parquet: ``bench/vectors.py`` measures both (write, full
scan, random rows): memory-mapped arrays need no decoding and no dependency.
Memory: the catalogue of where each paper's row is takes 32 bytes a paper
(:class:`Catalogue`), built when first needed and kept while the shards do not
change; a build adds 8 bytes a paper for the list of searchable rows.

One module, though long: writing shards, the catalogue that reads them and the moves
between them share the file layout and its invariants (newest row wins, recorded only
once written). Splitting the catalogue and its readers out is planned.
"""

from __future__ import annotations

import functools
import mmap
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from search.errors import VectorsUnavailable
from search.files import TEMPORARY_SUFFIX, write_atomically
from search.schema import Embedding, Paper, VectorShard

HASH_BYTES = 16  # of a text's SHA-256: enough to tell texts apart
PAPERS_PER_QUERY = 20_000  # papers read from the database at a time
SHARD_BYTES = 1 << 30  # vectors per shard after compaction: 1 GiB of them
SMALL_SHARDS = 64  # merge the small shards once a model has this many
DEAD_SHARE = 0.25  # rewrite every shard once this share of rows is superseded or unused
COPY_ROWS = 65_536  # rows copied at a time when shards are merged
PARTS = ("ids", "hashes", "vectors")


@dataclass(frozen=True)
class PendingPaper:
    id: int
    title: str
    abstract: str | None
    text_hash: str


@dataclass(frozen=True)
class ShardFile:
    """A shard whose files are written: what the manifest records about it."""

    model_key: str
    name: str
    rows: int
    dim: int

    def record(self) -> VectorShard:
        return VectorShard(model_key=self.model_key, name=self.name, rows=self.rows,
                           dim=self.dim, dtype="float32")  # fmt: skip


def hash_array(text_hashes: Iterable[str]) -> np.ndarray:
    """Hex SHA-256 digests → (n, HASH_BYTES) uint8: their first bytes."""
    raw = b"".join(bytes.fromhex(h)[:HASH_BYTES] for h in text_hashes)
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, HASH_BYTES)


def write_shard(
    directory: Path,
    model_key: str,
    ids: np.ndarray,
    hashes: np.ndarray,
    vectors: np.ndarray | Iterable[np.ndarray],
    *,
    dim: int | None = None,
) -> ShardFile:
    """Write one shard's files (not yet recorded: :meth:`Vectors.record` does that).

    ``vectors`` is an (n, d) array or, to write a shard larger than memory,
    blocks of rows with ``dim`` given. Needs no database, so that workers on
    other hosts (the Ray executor) can write shards into a shared directory.
    """
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    hashes = np.ascontiguousarray(hashes, dtype=np.uint8)
    if isinstance(vectors, np.ndarray):
        if vectors.ndim != 2 or len(vectors) != len(ids):
            raise ValueError("one vector per paper")
        dim, blocks = vectors.shape[1], [vectors]
    elif dim is None:
        raise ValueError("dim is needed when vectors come in blocks")
    else:
        blocks = vectors
    if hashes.shape != (len(ids), HASH_BYTES):
        raise ValueError("one text hash per paper")
    name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}"
    folder = directory / model_key
    write_atomically(folder / f"{name}.ids.npy", functools.partial(_save, array=ids))
    write_atomically(folder / f"{name}.hashes.npy", functools.partial(_save, array=hashes))

    def write_vectors(path: Path) -> None:
        out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(len(ids), dim))
        at = 0
        for block in blocks:
            out[at : at + len(block)] = block
            at += len(block)
        if at != len(ids):
            raise ValueError(f"{at} vectors for {len(ids)} papers")
        out.flush()
        del out

    write_atomically(folder / f"{name}.vectors.npy", write_vectors)
    return ShardFile(model_key, name, len(ids), int(dim))


@dataclass(frozen=True)
class Catalogue:
    """Where each paper's newest row is, sorted by paper id: 32 bytes a paper."""

    manifest: tuple[VectorShard, ...]
    ids: np.ndarray  # int64
    shards: np.ndarray  # int32, index into ``manifest``
    rows: np.ndarray  # int32, row in that shard
    hashes: np.ndarray  # (n, HASH_BYTES) uint8

    @property
    def key(self) -> tuple[int, ...]:
        return tuple(s.id for s in self.manifest)

    @property
    def dim(self) -> int:
        return self.manifest[0].dim if self.manifest else 0

    def current(self, ids: np.ndarray, hashes: np.ndarray) -> np.ndarray:
        """Which of ``ids`` have a newest row made from the text whose hash is ``hashes``."""
        at = np.searchsorted(self.ids, ids)
        found = at < len(self.ids)
        found[found] = self.ids[at[found]] == ids[found]
        same = np.zeros(len(ids), dtype=bool)
        same[found] = (self.hashes[at[found]] == hashes[found]).all(axis=1)
        return same


class LiveVectors:
    """The current vector of every searchable paper of one model, as of one moment:
    what an index build reads, in chunks, never all at once. Valid while the shards it
    was made from exist (a writer holds the write lock while it builds)."""

    def __init__(self, vectors: Vectors, model_key: str, where: Catalogue, positions) -> None:
        self._vectors = vectors
        self.model_key = model_key
        self._where = where
        self._positions = positions  # into ``where``, in paper id order

    def __len__(self) -> int:
        return len(self._positions)

    @property
    def dim(self) -> int:
        return self._where.dim

    @property
    def ids(self) -> np.ndarray:
        return self._where.ids[self._positions]

    def chunks(self, rows: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(ids int64, vectors float32) in id order, ``rows`` at a time."""
        for start in range(0, len(self._positions), max(rows, 1)):
            part = self._positions[start : start + rows]
            vectors = self._vectors.gather(self.model_key, self._where, part, release=True)
            yield self._where.ids[part], vectors

    def sample(self, n: int, seed: int = 1234) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of ``n`` papers drawn at random (all of them if fewer)."""
        picked = self._positions
        if n < len(picked):
            rng = np.random.default_rng(seed)
            picked = np.sort(picked[rng.choice(len(picked), n, replace=False)])
        vectors = self._vectors.gather(self.model_key, self._where, picked, release=True)
        return self._where.ids[picked], vectors

    def all(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) in one array each: only for corpora that fit in memory."""
        return self.ids, self._vectors.gather(self.model_key, self._where, self._positions)


class Vectors:
    """The vector shards of every model under ``directory``, and their manifest."""

    def __init__(self, sessions: sessionmaker[Session], directory: Path) -> None:
        self.sessions = sessions
        self.directory = directory
        self._catalogues: dict[str, Catalogue] = {}
        self._opened: dict[tuple[str, str, str], np.ndarray] = {}
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

    def compact(self, model_key: str) -> int:
        """Keep the shards' dead rows bounded: once DEAD_SHARE of the rows are superseded or
        belong to withdrawn papers, rewrite every shard with only the rows a build reads;
        otherwise :meth:`merge_small`. Returns how many shards were replaced. Reads every
        searchable paper's id: call at the end of a run, holding the write lock."""
        where = self.catalogue(model_key)
        total = sum(s.rows for s in where.manifest)
        live = self.live(model_key)
        if len(where.manifest) > 1 and total - len(live) > DEAD_SHARE * total:
            return self._replace(model_key, where, list(where.manifest), live._positions)
        return self.merge_small(model_key)

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

    def pending(self, model_key: str, chunk: int = 4096) -> Iterator[list[PendingPaper]]:
        """Searchable papers with no vector for ``model_key``, or one made from older text,
        in id order."""
        batch: list[PendingPaper] = []
        where = self.catalogue(model_key)
        for rows in self._searchable(text=True):
            current = where.current(*_ids_and_hashes(rows))
            batch.extend(PendingPaper(*r) for r, ok in zip(rows, current, strict=True) if not ok)
            while len(batch) >= chunk:
                yield batch[:chunk]
                batch = batch[chunk:]
        if batch:
            yield batch

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
        return LiveVectors(self, model_key, where, joined)

    def all(self, model_key: str) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of every searchable paper's current vector, in one array each."""
        return self.live(model_key).all()

    def get(self, paper_id: int, model_key: str) -> np.ndarray | None:
        """A paper's newest vector for ``model_key`` (None: it has none)."""
        found, vectors = self.get_many(np.array([paper_id], dtype=np.int64), model_key)
        return vectors[0] if found[0] else None

    def get_many(self, paper_ids: np.ndarray, model_key: str) -> tuple[np.ndarray, np.ndarray]:
        """(which of ``paper_ids`` have a vector, those vectors in that order)."""
        paper_ids = np.asarray(paper_ids, dtype=np.int64)
        for attempt in range(2):
            where = self.catalogue(model_key)
            at = np.minimum(np.searchsorted(where.ids, paper_ids), max(len(where.ids) - 1, 0))
            found = (where.ids[at] == paper_ids) if len(where.ids) else at < 0
            try:
                return found, self.gather(model_key, where, at[found])
            except VectorsUnavailable:
                if attempt or [s.id for s in self._manifest(model_key)] == list(where.key):
                    raise  # the file is missing, not replaced by a compaction meanwhile
        raise AssertionError("unreachable")

    def gather(self, model_key: str, where: Catalogue, at: np.ndarray, *,
               release: bool = False) -> np.ndarray:  # fmt: skip
        """The vectors of the catalogue's rows ``at``, read shard by shard.

        ``release``: drop the shards' pages from this process once copied (a build reads
        every shard once; mapped pages it keeps would count in its memory, though the
        kernel could reclaim them)."""
        out = np.empty((len(at), where.dim), dtype=np.float32)
        shards = where.shards[at]
        for number in np.unique(shards):
            mine = shards == number
            vectors = self._open(model_key, where.manifest[number].name, "vectors")
            out[mine] = vectors[where.rows[at[mine]]]
            mapping = getattr(vectors, "_mmap", None)
            if release and mapping is not None and hasattr(mmap, "MADV_DONTNEED"):
                mapping.madvise(mmap.MADV_DONTNEED)
        return out

    def catalogue(self, model_key: str) -> Catalogue:
        """Each paper's newest row (cached until the manifest changes)."""
        manifest = tuple(self._manifest(model_key))
        with self._lock:
            cached = self._catalogues.get(model_key)
            # Shard rows are never changed, only added and deleted: their ids say it all.
            if cached is not None and cached.key == tuple(s.id for s in manifest):
                return cached
        ids = [self._read(model_key, s.name, "ids") for s in manifest]
        if ids:
            shards = np.repeat(np.arange(len(ids), dtype=np.int32), [len(i) for i in ids])
            rows = np.concatenate([np.arange(len(i), dtype=np.int32) for i in ids])
            ids = np.concatenate(ids)
            # The newest row of each id: sort by id, newest last, keep each id's last.
            order = np.lexsort((shards, ids))
            ids, shards, rows = ids[order], shards[order], rows[order]
            last = np.append(ids[1:] != ids[:-1], True)
            ids, shards, rows = ids[last], shards[last], rows[last]
            hashes = np.empty((len(ids), HASH_BYTES), dtype=np.uint8)
            for number, shard in enumerate(manifest):
                mine = shards == number
                if mine.any():
                    hashes[mine] = self._read(model_key, shard.name, "hashes")[rows[mine]]
        else:
            ids, shards, rows = (np.empty(0, dtype=t) for t in (np.int64, np.int32, np.int32))
            hashes = np.empty((0, HASH_BYTES), dtype=np.uint8)
        made = Catalogue(manifest, ids, shards, rows, hashes)
        names = {s.name for s in manifest}
        with self._lock:
            self._catalogues[model_key] = made
            for key in [k for k in self._opened if k[0] == model_key and k[1] not in names]:
                del self._opened[key]  # a compacted shard: let its mapping (and disk) go
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

    def _replace(self, model_key: str, where: Catalogue, old: list, positions) -> int:
        """Write the rows ``positions`` (in id order) into new shards that replace ``old``."""
        per_shard = max(SHARD_BYTES // (4 * where.dim), 1)
        written = []
        for start in range(0, len(positions), per_shard):
            part = positions[start : start + per_shard]
            blocks = (
                self.gather(model_key, where, part[i : i + COPY_ROWS])
                for i in range(0, len(part), COPY_ROWS)
            )
            written.append(write_shard(self.directory, model_key, where.ids[part],
                                       where.hashes[part], blocks, dim=where.dim))  # fmt: skip
        with self.sessions.begin() as session:  # the new shards replace the old, at once
            session.add_all([shard.record() for shard in written])
            session.execute(delete(VectorShard).where(VectorShard.id.in_([s.id for s in old])))
        for shard in old:
            for part in PARTS:
                (self.directory / model_key / f"{shard.name}.{part}.npy").unlink(missing_ok=True)
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

    def _open(self, model_key: str, name: str, part: str) -> np.ndarray:
        """A shard's part, memory-mapped once (each mapping holds a file descriptor: only
        the vectors are kept mapped, and shards are merged to keep them few)."""
        key = (model_key, name, part)
        with self._lock:
            opened = self._opened.get(key)
        if opened is None:
            opened = self._read(model_key, name, part, mmap_mode="r")
            with self._lock:
                self._opened[key] = opened
        return opened

    def _read(self, model_key: str, name: str, part: str, mmap_mode=None) -> np.ndarray:
        path = self.directory / model_key / f"{name}.{part}.npy"
        try:
            return np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
        except FileNotFoundError:
            raise VectorsUnavailable(
                f"The vector file {path} is missing. A host that serves similar papers "
                "and search by example needs the data directory's vectors/ as well as "
                "its builds/ (see docs/hosts.md)."
            ) from None


def _ids_and_hashes(rows) -> tuple[np.ndarray, np.ndarray]:
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    return ids, hash_array(r[-1] for r in rows)


def _save(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as fh:  # a file object: np.save would add ".npy" to a path
        np.save(fh, array, allow_pickle=False)
