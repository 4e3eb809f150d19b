"""The FAISS index: IVF over raw paper vectors, L2 distance, paper ids as FAISS ids.

Why L2 on raw vectors: SPECTER2 was trained with an L2 (Euclidean) triplet
loss, and SciRepEval ranks search candidates by Euclidean distance on the
unnormalised CLS vectors. Inner product or cosine would rank differently.

Size rules (FAISS's guidance): ``nlist`` about 4·√N (range 4·√N … 16·√N) with at
least 39 training points per list, trained on at most 256 points per list.
Below the size where that gives a useful number of lists, an exact flat index
is used instead. Builds run on the GPU when faiss sees one and are always
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
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from search.errors import DeviceUnavailable, IndexCorrupt, SettingsError
from search.files import file_checksum, write_atomically

MIN_POINTS_PER_LIST = 39
MAX_TRAINING_POINTS_PER_LIST = 256
MIN_IVF_LISTS = 16  # fewer lists than this: IVF buys nothing over exact search


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
    nlist = min(int(round(4 * math.sqrt(n_vectors))), max_lists)
    return nlist if nlist >= MIN_IVF_LISTS else None


ID_BYTES = 8  # every vector in an inverted list carries its int64 id


def bytes_per_vector(encoding: str, dim: int) -> int:
    """Memory one paper takes in an IVF index with this encoding (codes + id)."""
    if encoding == "Flat":
        return 4 * dim + ID_BYTES
    if encoding == "SQ8":
        return dim + ID_BYTES
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
    ladder = ["Flat", "SQ8", *(f"PQ{m}" for m in pq_sizes(dim))]
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


def default_nprobe(nlist: int) -> int:
    """A recall-safe start: 1/16 of the lists, at least 8 (measured tuning can refine it)."""
    return min(nlist, max(8, math.ceil(nlist / 16)))


# Bytes per code that FAISS's GPU IVFPQ implements; other PQ sizes build on the CPU.
GPU_PQ_SIZES = frozenset({1, 2, 3, 4, 8, 12, 16, 20, 24, 28, 32, 40, 48, 56, 64, 96})


def choose_faiss_device(
    setting: str, num_gpus: int, has_gpu_api: bool, encoding: str = "Flat"
) -> str:
    """Build on the GPU when asked for (``cuda``) or, with ``auto``, when faiss sees one
    (unless the GPU cannot hold this encoding: PQ codes of some sizes)."""
    gpu_ready = has_gpu_api and num_gpus > 0
    if setting == "cuda" and not gpu_ready:
        raise DeviceUnavailable("PAPERSEARCH_DEVICE=cuda but faiss sees no GPU.")
    if setting == "cpu" or (encoding.startswith("PQ") and int(encoding[2:]) not in GPU_PQ_SIZES):
        return "cpu"
    return "cuda" if gpu_ready else "cpu"


_gpu_resources = None
_gpu_lock = threading.Lock()


def gpu_resources():
    """One StandardGpuResources per process, kept alive: FAISS GPU indexes borrow it."""
    global _gpu_resources
    import faiss

    with _gpu_lock:
        if _gpu_resources is None:
            _gpu_resources = faiss.StandardGpuResources()
        return _gpu_resources


@dataclass
class BuiltIndex:
    index: object  # a CPU faiss.Index
    index_type: str
    nlist: int | None
    nprobe: int | None
    device: str


def build(
    vectors: np.ndarray,
    ids: np.ndarray,
    *,
    nlist: int | None = None,
    nprobe: int | None = None,
    device: str = "auto",
    memory_budget: int | None = None,
    seed: int = 1234,
    trained: VectorIndex | None = None,
) -> BuiltIndex:
    """Build an index over ``vectors`` (float32, n×d) labelled with ``ids`` (int64).

    With ``trained`` (an IVF index over the same embedding space, loaded
    without mmap), its centroids and codec are reused and only the vectors are
    added: no k-means. ``memory_budget`` (bytes) picks the codes' encoding.
    """
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    if vectors.ndim != 2 or len(vectors) != len(ids):
        raise ValueError("vectors must be n×d and match ids")
    n, dim = vectors.shape
    if trained is not None and trained.ivf is not None:
        index = faiss.clone_index(trained.index)
        index.reset()  # keeps the trained centroids, drops the vectors
        index.add_with_ids(vectors, ids)
        lists = int(trained.ivf.nlist)
        probes = min(nprobe or trained.ivf.nprobe, lists)
        return BuiltIndex(index, f"IVF{lists},{trained.encoding}", lists, probes, "cpu")
    lists = choose_nlist(n, nlist)
    if lists is None:
        index = faiss.IndexIDMap2(faiss.IndexFlatL2(dim))
        index.add_with_ids(vectors, ids)
        return BuiltIndex(index, "Flat", None, None, "cpu")

    encoding = choose_encoding(n, dim, memory_budget)
    index_type = f"IVF{lists},{encoding}"
    where = choose_faiss_device(
        device, faiss.get_num_gpus(), hasattr(faiss, "StandardGpuResources"), encoding
    )
    index = faiss.index_factory(dim, index_type, faiss.METRIC_L2)
    if where == "cuda":
        index = faiss.index_cpu_to_gpu(gpu_resources(), 0, index)
    rng = np.random.default_rng(seed)
    sample_size = min(n, lists * MAX_TRAINING_POINTS_PER_LIST)
    sample = vectors[np.sort(rng.choice(n, sample_size, replace=False))]
    index.train(sample)
    index.add_with_ids(vectors, ids)
    if where == "cuda":
        index = faiss.index_gpu_to_cpu(index)
    probes = nprobe or default_nprobe(lists)
    return BuiltIndex(index, index_type, lists, min(probes, lists), where)


def write(index, path: Path, before_rename: Callable[[], object] | None = None) -> str:
    """Write a CPU index atomically (``search.files``) and return the file's SHA-256."""
    import faiss

    write_atomically(path, lambda tmp: faiss.write_index(index, str(tmp)),
                     before_rename=before_rename)  # fmt: skip
    return file_checksum(path)


def verify(path: Path, checksum: str | None) -> None:
    """Raise IndexCorrupt unless ``path`` exists and has the recorded SHA-256 (builds made
    before checksums were recorded are only checked for existence)."""
    if not path.is_file():
        raise IndexCorrupt(f"index file {path} is missing")
    if checksum is not None and file_checksum(path) != checksum:
        raise IndexCorrupt(f"index file {path} does not match its checksum (truncated or changed)")


class VectorIndex:
    """A loaded index for searching; FAISS search is safe from several threads."""

    def __init__(self, index, nprobe: int | None = None) -> None:
        import faiss

        self.index = index
        self.ivf = faiss.try_extract_index_ivf(index)
        self.nprobe = nprobe
        if self.ivf is not None and nprobe is not None:
            self.ivf.nprobe = nprobe

    @classmethod
    def read(cls, path: Path, nprobe: int | None = None, *, mmap: bool = True) -> VectorIndex:
        """Load a build; ``mmap`` (for searching) maps the vectors instead of copying them.

        Mapped, the codes stay in the page cache once per host however many
        worker processes load the build, and loading takes milliseconds. A
        mapped index is read-only: to add to it (reusing centroids), load
        with ``mmap=False``.
        """
        import faiss

        flags = faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY  # maps the inverted lists
        loaded = cls(faiss.read_index(str(path), flags if mmap else 0), nprobe)
        if mmap and loaded.ivf is not None:
            # Mapped lists start prefetch threads on every search, for disks that are slow
            # to read; from the page cache they only slow the search down (a test checks).
            faiss.downcast_InvertedLists(loaded.ivf.invlists).prefetch_nthread = 0
        return loaded

    @classmethod
    def open_build(cls, build, path: Path, *, mmap: bool = True) -> VectorIndex:
        """Load an index build (an ``IndexBuild`` row, its file at ``path``) after checking
        the file against the checksum it was written with: a missing or changed file raises
        IndexCorrupt and is never handed to FAISS."""
        try:
            verify(path, build.checksum)
        except IndexCorrupt as exc:
            raise IndexCorrupt(f"index build {build.id}: {exc}") from exc
        return cls.read(path, build.nprobe, mmap=mmap)

    @property
    def encoding(self) -> str:
        """How the vectors are stored: ``Flat``, ``SQ8`` or ``PQm``."""
        import faiss

        if self.ivf is None:
            return "Flat"
        ivf = faiss.downcast_index(self.ivf)
        if isinstance(ivf, faiss.IndexIVFScalarQuantizer):
            return "SQ8"
        if isinstance(ivf, faiss.IndexIVFPQ):
            return f"PQ{ivf.pq.M}"
        return "Flat"

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    def probes_for(self, k: int) -> int | None:
        """nprobe for a search that must return ``k`` hits.

        The configured nprobe is right for the first page; deep pages need more
        lists, or the probed lists run out of candidates before ``k`` (about
        twice the expected candidates, since lists are uneven).
        """
        if self.ivf is None:
            return None
        base = self.ivf.nprobe
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
        import faiss

        queries = np.ascontiguousarray(queries, dtype=np.float32)
        depth = max(k, ranking_depth)
        if allowed is not None:
            return self._search_allowed(queries, k, np.asarray(allowed, dtype=np.int64), depth)
        k = max(1, min(k, self.ntotal))
        probes = self.probes_for(min(depth, self.ntotal))
        if probes is not None and probes != self.ivf.nprobe:
            params = faiss.SearchParametersIVF(nprobe=probes)
            squared, ids = self.index.search(queries, k, params=params)
        else:
            squared, ids = self.index.search(queries, k)
        return np.sqrt(np.maximum(squared, 0.0)), ids

    def _search_allowed(
        self, queries: np.ndarray, k: int, allowed: np.ndarray, depth: int
    ) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        if len(allowed) == 0 or self.ntotal == 0:
            empty = np.empty((len(queries), 0))
            return empty.astype(np.float32), empty.astype(np.int64)
        k = max(1, min(k, len(allowed), self.ntotal))
        # A bitmap over the id range: built in microseconds, one bit test per vector.
        members = np.zeros(int(allowed[-1]) + 1, dtype=bool)
        members[allowed] = True
        bits = np.packbits(members, bitorder="little")
        selector = faiss.IDSelectorBitmap(len(bits), faiss.swig_ptr(bits))  # n is in bytes
        if self.ivf is None:
            squared, ids = self.index.search(
                queries, k, params=faiss.SearchParameters(sel=selector)
            )
            return np.sqrt(np.maximum(squared, 0.0)), ids
        # Probe as many lists as it takes to see as many allowed papers as an
        # unfiltered search sees papers; if that still falls short (a filter that
        # is concentrated in far-away lists), probe every list.
        fraction = min(1.0, len(allowed) / self.ntotal)
        per_list = max(self.ntotal / self.ivf.nlist, 1.0) * fraction
        wanted = max(self.ivf.nprobe / fraction, 2 * min(depth, len(allowed)) / per_list)
        probes = min(self.ivf.nlist, math.ceil(wanted))
        for attempt in (probes, self.ivf.nlist):
            params = faiss.SearchParametersIVF(sel=selector, nprobe=attempt)
            squared, ids = self.index.search(queries, k, params=params)
            if attempt == self.ivf.nlist or (ids >= 0).sum(axis=1).min() >= k:
                break
        return np.sqrt(np.maximum(squared, 0.0)), ids


def distance_to_score(distance: float) -> float:
    """Shown to users: 1 / (1 + Euclidean distance), in (0, 1], higher is closer."""
    return 1.0 / (1.0 + float(distance))
