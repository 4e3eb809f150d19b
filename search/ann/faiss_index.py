"""The FAISS index: IVF over raw paper vectors, L2 distance, paper ids as FAISS ids.

Why L2 on raw vectors: SPECTER2 was trained with an L2 (Euclidean) triplet
loss, and SciRepEval ranks search candidates by Euclidean distance on the
unnormalised CLS vectors. Inner product or cosine would rank differently.

Size rules (FAISS's guidance): ``nlist`` about LISTS_PER_ROOT·√N (FAISS suggests 4·√N to
16·√N), with at least MIN_POINTS_PER_LIST training points per list and at most
MAX_TRAINING_POINTS_PER_LIST. Below the size where that gives MIN_IVF_LISTS lists, an
exact flat index is used instead. Builds run on the GPU when faiss sees one and are always
written as CPU indexes.

Memory: the vectors in the lists are stored as full float32 (``Flat``, 4·d
bytes a paper) unless ``PAPERSEARCH_INDEX_MEMORY`` is too small for that; then
as 8-bit scalar-quantised codes (``SQ8``, d bytes, recall nearly unchanged) or,
below that, product-quantised codes (``PQm``, m bytes, recall capped: see
docs/configuration.md). Indexes are memory-mapped when loaded, so every worker process on a
host shares one copy in the page cache.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from search.base.atomic_files import file_checksum, write_atomically
from search.base.errors import IndexCorrupt, SettingsError
from search.base.parallel import each

MIN_POINTS_PER_LIST = 39
MAX_TRAINING_POINTS_PER_LIST = 256
MIN_IVF_LISTS = 16  # fewer lists than this: IVF buys nothing over exact search
LISTS_PER_ROOT = 4  # nlist = this times the square root of the vectors


def choose_nlist(n_vectors: int, override: int | None = None) -> int | None:
    """Number of IVF lists for ``n_vectors``; None means use an exact flat index."""
    max_lists = n_vectors // MIN_POINTS_PER_LIST
    if override is not None:
        if override > max_lists:
            raise SettingsError(
                f"PAPERSEARCH_NLIST={override} needs at least "
                f"{override * MIN_POINTS_PER_LIST} vectors to train, there are {n_vectors}"
            )
        return override
    nlist = min(int(round(LISTS_PER_ROOT * math.sqrt(n_vectors))), max_lists)
    return nlist if nlist >= MIN_IVF_LISTS else None


ID_BYTES = 8  # every vector in an inverted list carries its int64 id


def bytes_per_vector(encoding: str, dim: int) -> int:
    """Memory one paper takes in an IVF index with this encoding (codes + id)."""
    if encoding == "Flat":
        return 4 * dim + ID_BYTES
    if encoding in ("SQ8", "SQ6", "SQ4"):
        return math.ceil(dim * int(encoding[2:]) / 8) + ID_BYTES
    if encoding.startswith("PQ"):
        return int(encoding[2:]) + ID_BYTES
    raise ValueError(f"unknown index encoding {encoding!r}")


def pq_sizes(dim: int) -> list[int]:
    """PQ code sizes (bytes, one per sub-vector of 4+ dims), largest first."""
    return [m for m in (dim // 4, dim // 8, dim // 16, dim // 32) if m >= 8 and dim % m == 0]


def choose_encoding(n_vectors: int, dim: int, budget: int | None) -> str:
    """The most exact encoding whose lists fit ``budget`` bytes (None: no limit → Flat)."""
    if budget is None:
        return "Flat"
    ladder = ["Flat", "SQ8", "SQ6", "SQ4", *(f"PQ{m}" for m in pq_sizes(dim))]
    for encoding in ladder:
        if n_vectors * bytes_per_vector(encoding, dim) <= budget:
            return encoding
    need = n_vectors * bytes_per_vector(ladder[-1], dim)
    raise SettingsError(
        f"PAPERSEARCH_INDEX_MEMORY={budget / 1e6:.0f}MB cannot hold {n_vectors} vectors "
        f"of {dim} dimensions: even the smallest codes need {need / 1e6:.0f}MB."
    )


def encoding_of(index_type: str) -> str:
    """``IVF273,SQ8`` → ``SQ8``; an exact index is ``Flat``."""
    return index_type.partition(",")[2] or "Flat"


PAGE_K = 10  # the first page: a ranking read deeper uses the deep nprobe


def default_nprobe(nlist: int) -> int:
    """A recall-safe start: 1/16 of the lists, at least 8 (measured tuning can refine it)."""
    return min(nlist, max(8, math.ceil(nlist / 16)))


def write(index, path: Path, before_rename: Callable[[], object] | None = None) -> None:
    """Write a CPU index atomically (``search.base.atomic_files``); the build's checksum
    covers it with the build's other files (``indexer.build_lifecycle``)."""
    import faiss

    write_atomically(path, lambda tmp: faiss.write_index(index, str(tmp)),
                     before_rename=before_rename)  # fmt: skip


def verify(paths: Sequence[Path], checksum: str | None) -> None:
    """Raise IndexCorrupt unless the build's files (``Builds.files``: the index, its
    on-disk lists, its keyword index) exist and have the recorded SHA-256 (builds made
    before checksums were recorded are only checked for existence)."""
    for path in paths:
        if not path.is_file():
            raise IndexCorrupt(f"index file {path} is missing")
    if checksum is not None and file_checksum(*paths) != checksum:
        names = " and ".join(str(p) for p in paths)
        raise IndexCorrupt(f"index file {names} does not match its checksum (truncated or changed)")


class VectorIndex:
    """A loaded index for searching; FAISS search is safe from several threads.

    A build in shards is one index over its ``parts``, each a shard's lists under the
    build's shared centroids (``index``, trained and empty): a query is assigned its
    lists once and every shard scans them at once (``search.base.parallel``), so the
    shards return exactly the candidates one index would, merged by distance then id.
    """

    def __init__(
        self,
        index,
        nprobe: int | None = None,
        deep_nprobe: int | None = None,
        parts: Sequence | None = None,
    ) -> None:
        import faiss

        self.index = index
        self.parts = [p if hasattr(p, "search_lists") else FaissShard(p) for p in parts or ()]
        self.parts = self.parts or [FaissShard(index)]
        self.ivf = faiss.try_extract_index_ivf(index)
        self.nprobe = nprobe
        self.deep_nprobe = deep_nprobe  # for rankings read beyond the first page (tuning)
        if self.ivf is not None and nprobe is not None:
            self.ivf.nprobe = nprobe

    @classmethod
    def read(
        cls,
        path: Path,
        nprobe: int | None = None,
        *,
        mmap: bool = True,
        lists_file: Path | None = None,
        deep_nprobe: int | None = None,
    ) -> VectorIndex:
        """Load a build; ``mmap`` (for searching) maps the vectors instead of copying them.

        Mapped, the codes stay in the page cache once per host however many
        worker processes load the build, and loading takes milliseconds. A
        build too large to make in memory keeps its lists in ``lists_file``
        (FAISS's on-disk lists, ``indexer.ivf``), which is always mapped.
        """
        return cls(read_part(path, mmap=mmap, lists_file=lists_file), nprobe, deep_nprobe)

    @classmethod
    def read_shards(
        cls,
        centroids: Path,
        parts: Sequence[tuple[Path, Path | None]],
        nprobe: int | None = None,
        *,
        mmap: bool = True,
        deep_nprobe: int | None = None,
    ) -> VectorIndex:
        """Load a build in shards: its shared ``centroids`` and each shard's (index, lists)."""
        import faiss

        shards = [FaissShard(read_part(path, mmap=mmap, lists_file=lists)) for path, lists in parts]
        return cls(faiss.read_index(str(centroids)), nprobe, deep_nprobe, shards)

    @classmethod
    def open_build(
        cls,
        build,
        paths: Sequence[Path],
        lists_file: Path | None,
        *,
        mmap: bool = True,
        shards: Sequence[tuple[Path, Path | None]] = (),
    ) -> VectorIndex:
        """Load an index build (an ``IndexBuild`` row; its files, from ``Builds.files``, the
        index file first) after checking every file against the checksum they were
        written with: a missing or changed file raises IndexCorrupt and is never handed to
        FAISS (or Tantivy). A build in shards gives each shard's (index, lists)."""
        try:
            verify(paths, build.checksum)
        except IndexCorrupt as exc:
            raise IndexCorrupt(f"index build {build.id}: {exc}") from exc
        if shards:
            return cls.read_shards(paths[0], shards, build.nprobe, mmap=mmap,
                                   deep_nprobe=build.deep_nprobe)  # fmt: skip
        return cls.read(paths[0], build.nprobe, mmap=mmap, lists_file=lists_file,
                        deep_nprobe=build.deep_nprobe)  # fmt: skip

    @property
    def encoding(self) -> str:
        """How the vectors are stored: ``Flat``, ``SQ8``, ``SQ6``, ``SQ4`` or ``PQm``."""
        import faiss

        if self.ivf is None:
            return "Flat"
        ivf = faiss.downcast_index(self.ivf)
        if isinstance(ivf, faiss.IndexIVFScalarQuantizer):
            bits = {faiss.ScalarQuantizer.QT_8bit: 8, faiss.ScalarQuantizer.QT_6bit: 6,
                    faiss.ScalarQuantizer.QT_4bit: 4}  # fmt: skip
            return f"SQ{bits[ivf.sq.qtype]}"
        if isinstance(ivf, faiss.IndexIVFPQ):
            return f"PQ{ivf.pq.M}"
        return "Flat"

    @property
    def ntotal(self) -> int:
        return sum(int(part.ntotal) for part in self.parts)

    def probes_for(self, k: int) -> int | None:
        """nprobe for a search that must return ``k`` hits.

        The configured nprobe is right for the first page. Deeper rankings (hybrid's
        top 100, later pages) take the deep nprobe that tuning measured to reach
        recall@100, and at least enough lists not to run out of candidates before
        ``k`` (about twice the expected candidates, since lists are uneven).
        """
        if self.ivf is None:
            return None
        base = self.ivf.nprobe
        if k > PAGE_K and self.deep_nprobe:
            base = max(base, self.deep_nprobe)
        per_list = max(self.ntotal / self.ivf.nlist, 1.0)
        return int(min(self.ivf.nlist, max(base, math.ceil(2 * k / per_list))))

    def search(
        self,
        queries: np.ndarray,
        k: int,
        allowed: np.ndarray | None = None,
        *,
        ranking_depth: int = 0,
    ) -> tuple[np.ndarray, np.ndarray]:
        """→ (Euclidean distances, ids), each (n_queries, ≤k); an id of -1 marks no hit.

        Lists are probed as for ``max(k, ranking_depth)`` results: with the
        deepest page as ``ranking_depth``, every page of results is cut from
        one ranking (no paper shown twice or skipped between pages).

        With ``allowed`` (sorted paper ids), only those papers are candidates:
        FAISS skips every other vector while scanning, and the search probes
        more lists the more selective the filter is, so that k hits come back
        whenever k allowed papers are in the index.
        """
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        depth = max(k, ranking_depth)
        if allowed is not None:
            return self._search_allowed(queries, k, np.asarray(allowed, dtype=np.int64), depth)
        k = max(1, min(k, self.ntotal))
        squared, ids = self.run(queries, k, self.probes_for(min(depth, self.ntotal)))
        return np.sqrt(np.maximum(squared, 0.0)), ids

    def _search_allowed(
        self, queries: np.ndarray, k: int, allowed: np.ndarray, depth: int
    ) -> tuple[np.ndarray, np.ndarray]:

        if len(allowed) == 0 or self.ntotal == 0:
            empty = np.empty((len(queries), 0))
            return empty.astype(np.float32), empty.astype(np.int64)
        k = max(1, min(k, len(allowed), self.ntotal))
        # A bitmap over the id range: built in microseconds, one bit test per vector.
        members = np.zeros(int(allowed[-1]) + 1, dtype=bool)
        members[allowed] = True
        bits = np.packbits(members, bitorder="little")
        if self.ivf is None:
            squared, ids = self.run(queries, k, bits=bits)
            return np.sqrt(np.maximum(squared, 0.0)), ids
        # Probe as many lists as it takes to see as many allowed papers as an
        # unfiltered search sees papers; if that still falls short (a filter that
        # is concentrated in far-away lists), probe every list.
        fraction = min(1.0, len(allowed) / self.ntotal)
        per_list = max(self.ntotal / self.ivf.nlist, 1.0) * fraction
        wanted = max(self.ivf.nprobe / fraction, 2 * min(depth, len(allowed)) / per_list)
        probes = min(self.ivf.nlist, math.ceil(wanted))
        for attempt in (probes, self.ivf.nlist):
            squared, ids = self.run(queries, k, attempt, bits)
            if attempt == self.ivf.nlist or (ids >= 0).sum(axis=1).min() >= k:
                break
        return np.sqrt(np.maximum(squared, 0.0)), ids

    def run(
        self, queries: np.ndarray, k: int, nprobe: int | None = None, bits: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(squared distances, ids) of the ``k`` nearest in ``nprobe`` lists (None: the
        index's own), only among the ids set in ``bits`` (a bitmap over ids) when given: in
        a build of one shard, FAISS's search; in shards, the lists are assigned once and
        every shard scans them at once, the results merged by (distance, id)."""
        probes = None if self.ivf is None else nprobe or self.ivf.nprobe
        if len(self.parts) == 1 and isinstance(self.parts[0], FaissShard):
            own = self.ivf is not None and bits is None and probes == self.ivf.nprobe
            params = None if own else search_params(self.ivf is not None, probes, bits)
            return self.index.search(queries, k, params=params)
        if self.ivf is None:
            return _merged(each(lambda part: part.search_all(queries, k, bits), self.parts), k)
        coarse, lists = self.ivf.quantizer.search(queries, probes)
        found = each(lambda part: part.search_lists(queries, k, lists, coarse, bits), self.parts)
        return _merged(found, k)


class FaissShard:
    """One shard's FAISS index in this process: searched in all its vectors (exact) or in
    the lists a query was assigned (IVF). ``search.shards`` serves the same calls from
    another host."""

    def __init__(self, index) -> None:
        self.index = index

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    def search_all(self, queries: np.ndarray, k: int, bits: np.ndarray | None):
        """(squared distances, ids) of an exact index's ``k`` nearest."""
        return self.index.search(queries, k, params=search_params(False, None, bits))

    def search_lists(self, queries: np.ndarray, k: int, lists: np.ndarray, coarse: np.ndarray,
                     bits: np.ndarray | None):  # fmt: skip
        """(squared distances, ids) of the ``k`` nearest in the ``lists`` already assigned
        (FAISS's ``search_preassigned``, with the filter and the lists' number)."""
        import faiss

        queries = np.ascontiguousarray(queries, dtype=np.float32)
        lists = np.ascontiguousarray(lists, dtype=np.int64)
        coarse = np.ascontiguousarray(coarse, dtype=np.float32)
        params = search_params(True, lists.shape[1], bits)
        ivf = faiss.extract_index_ivf(self.index)
        distances = np.empty((len(queries), k), dtype=np.float32)
        ids = np.empty((len(queries), k), dtype=np.int64)
        ivf.search_preassigned_c(len(queries), faiss.swig_ptr(queries), k, faiss.swig_ptr(lists),
                                 faiss.swig_ptr(coarse), faiss.swig_ptr(distances),
                                 faiss.swig_ptr(ids), False, params)  # fmt: skip
        return distances, ids


def search_params(ivf: bool, probes: int | None, bits: np.ndarray | None):
    """FAISS's parameters for one search: ``probes`` lists (IVF), within the ids ``bits``
    sets. A fresh object a search: FAISS may change one while it searches with it."""
    import faiss

    selector = None
    if bits is not None:
        selector = faiss.IDSelectorBitmap(len(bits), faiss.swig_ptr(bits))  # n is in bytes
    if not ivf:
        params = faiss.SearchParameters(sel=selector) if selector is not None else None
    elif selector is not None:
        params = faiss.SearchParametersIVF(sel=selector, nprobe=probes)
    else:
        params = faiss.SearchParametersIVF(nprobe=probes)
    if selector is not None:
        params.held = (selector, bits)  # alive as long as the parameters are
    return params


def read_part(path: Path, *, mmap: bool = True, lists_file: Path | None = None):
    """One FAISS index file, for searching: ``mmap`` maps the vectors instead of copying
    them; on-disk lists (``lists_file``) are always mapped."""
    import faiss

    read_only = faiss.IO_FLAG_READ_ONLY
    if lists_file is not None:
        # The file records where the lists were written; find them beside it instead
        # (a data directory may move), and map them read-only.
        index = faiss.read_index(str(path), faiss.IO_FLAG_SKIP_IVF_DATA | read_only)
        lists = faiss.downcast_InvertedLists(faiss.extract_index_ivf(index).invlists)
        lists.filename = str(lists_file)
        lists.do_mmap()
    else:
        index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP | read_only if mmap else 0)
    ivf = faiss.try_extract_index_ivf(index)
    if (mmap or lists_file is not None) and ivf is not None:
        # Mapped lists start prefetch threads on every search, for disks that are slow
        # to read; from the page cache they only slow the search down (a test checks).
        faiss.downcast_InvertedLists(ivf.invlists).prefetch_nthread = 0
    return index


def _merged(found: list[tuple[np.ndarray, np.ndarray]], k: int) -> tuple[np.ndarray, np.ndarray]:
    """The shards' results as one: each query's ``k`` nearest by (distance, id), misses
    (id −1) last."""
    distances = np.concatenate([d for d, _ in found], axis=1)
    ids = np.concatenate([i for _, i in found], axis=1)
    order = np.lexsort((ids, distances, ids < 0), axis=-1)[:, :k]
    return np.take_along_axis(distances, order, 1), np.take_along_axis(ids, order, 1)


def distance_to_score(distance: float) -> float:
    """Shown to users: 1 / (1 + Euclidean distance), in (0, 1], higher is closer."""
    return 1.0 / (1.0 + float(distance))
