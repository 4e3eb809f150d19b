"""Building the FAISS index out of core: vectors are read in chunks, never all at once.

The IVF centroids are trained on a random sample of bounded size, then the
vectors are added chunk by chunk. When the inverted lists (the codes and ids)
would take more than half of ``PAPERSEARCH_BUILD_MEMORY``, they are built a
block at a time, each block written to disk, and merged into FAISS's on-disk
inverted lists (``OnDiskInvertedLists``, a ``.ivfdata`` file beside the build
file that servers map). So the build's working memory is bounded by the
setting, apart from the lists themselves when they fit in it; the catalogue of
vector files adds 40 bytes a paper (``search.store.catalogue``).

Sizes: ``nlist`` from ``search.ann.faiss_index.choose_nlist``; from HNSW_FROM_NLIST lists
the coarse quantiser is an HNSW graph over the centroids (``IVF{nlist}_HNSW32``),
since scanning that many centroids per query and per added vector would cost
more than the lists. The sample holds from MIN_POINTS_PER_LIST to
MAX_TRAINING_POINTS_PER_LIST vectors a list (FAISS's guidance) within half of the build
memory (k-means adds little to it, and PQ codebooks train on a subsample of
residuals); it is freed before vectors are added.

GPU: training and adding run on the GPU when faiss sees one (with resources
kept alive for the process); the index is moved back with ``index_gpu_to_cpu``
before it is written. An HNSW quantiser has no GPU version: those build on the CPU.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from search.ann.faiss_index import (
    MAX_TRAINING_POINTS_PER_LIST,
    MIN_POINTS_PER_LIST,
    VectorIndex,
    bytes_per_vector,
    choose_encoding,
    choose_nlist,
    default_nprobe,
)
from search.base.atomic_files import TEMPORARY_SUFFIX
from search.base.errors import DeviceUnavailable, SettingsError
from search.base.units import format_size

HNSW_FROM_NLIST = 65_536  # this many lists or more: an HNSW coarse quantiser
HNSW_NEIGHBOURS = 32
DEFAULT_BUILD_MEMORY = 2 << 30
MIN_CHUNK_ROWS = 1_024
# Bytes per code that FAISS's GPU IVFPQ implements; other PQ sizes build on the CPU.
GPU_PQ_SIZES = frozenset({1, 2, 3, 4, 8, 12, 16, 20, 24, 28, 32, 40, 48, 56, 64, 96})


class VectorSource(Protocol):
    """Vectors with their paper ids, read in chunks: ``search.store.catalogue.LiveVectors``
    for a build, :class:`ArrayVectors` for arrays already in memory."""

    def __len__(self) -> int: ...

    @property
    def dim(self) -> int: ...

    @property
    def ids(self) -> np.ndarray: ...

    def chunks(self, rows: int) -> Iterator[tuple[np.ndarray, np.ndarray]]: ...

    def sample(self, n: int, seed: int = 1234) -> tuple[np.ndarray, np.ndarray]: ...


class ArrayVectors:
    """A :class:`VectorSource` over arrays in memory (benchmarks, tests, small corpora)."""

    def __init__(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self.ids = np.ascontiguousarray(ids, dtype=np.int64)
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if self.vectors.ndim != 2 or len(self.vectors) != len(self.ids):
            raise ValueError("vectors must be n×d and match ids")

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def chunks(self, rows: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for start in range(0, len(self.ids), rows):
            yield self.ids[start : start + rows], self.vectors[start : start + rows]

    def sample(self, n: int, seed: int = 1234) -> tuple[np.ndarray, np.ndarray]:
        if n >= len(self.ids):
            return self.ids, self.vectors
        picked = np.sort(np.random.default_rng(seed).choice(len(self.ids), n, replace=False))
        return self.ids[picked], self.vectors[picked]


@dataclass(frozen=True)
class BuildPlan:
    """How a build of ``n`` vectors of ``dim`` dimensions uses its memory."""

    n: int
    dim: int
    nlist: int | None  # None: an exact flat index
    encoding: str
    index_type: str
    sample_rows: int  # vectors the centroids are trained on
    chunk_rows: int  # vectors read and added at a time
    on_disk: bool  # lists merged into an .ivfdata file, a block at a time
    block_rows: int  # vectors per block when on disk


def plan_build(
    n: int,
    dim: int,
    *,
    nlist: int | None = None,
    memory_budget: int | None = None,
    build_memory: int = DEFAULT_BUILD_MEMORY,
) -> BuildPlan:
    """The index type and the memory shares of a build (see the module docstring)."""
    vector_bytes = 4 * dim
    chunk_rows = _chunk_rows(dim, build_memory)
    lists = choose_nlist(n, nlist)
    if lists is None:
        return BuildPlan(n, dim, None, "Flat", "Flat", 0, chunk_rows, False, n)
    encoding = choose_encoding(n, dim, memory_budget)
    quantiser = f"IVF{lists}_HNSW{HNSW_NEIGHBOURS}" if lists >= HNSW_FROM_NLIST else f"IVF{lists}"
    sample_rows = min(n, lists * MAX_TRAINING_POINTS_PER_LIST, build_memory // 2 // vector_bytes)
    if sample_rows < lists * MIN_POINTS_PER_LIST:
        need = lists * MIN_POINTS_PER_LIST * vector_bytes * 2
        raise SettingsError(
            f"Training {lists} IVF lists needs a sample of {lists * MIN_POINTS_PER_LIST:,} "
            f"vectors: PAPERSEARCH_BUILD_MEMORY={format_size(build_memory)} is too small, "
            f"it needs at least {format_size(need)} (or set a smaller PAPERSEARCH_NLIST)."
        )
    return BuildPlan(n, dim, lists, encoding, f"{quantiser},{encoding}", sample_rows,
                     chunk_rows, *lists_placement(n, dim, encoding, build_memory))  # fmt: skip


def _chunk_rows(dim: int, build_memory: int) -> int:
    return max(MIN_CHUNK_ROWS, build_memory // 16 // (4 * dim))


def lists_placement(n: int, dim: int, encoding: str, build_memory: int) -> tuple[bool, int]:
    """(on disk?, vectors per block): lists over half the build memory go to disk, built
    a quarter of it at a time."""
    per_vector = bytes_per_vector(encoding, dim)
    if n * per_vector <= build_memory // 2:
        return False, n
    return True, max(_chunk_rows(dim, build_memory), build_memory // 4 // per_vector)


def factory_string(index_type: str) -> str:
    """FAISS's factory string for ``index_type``: PQ codes without polysemous training
    (``x8np``), which only serves Hamming-distance filtering that papersearch does not
    use and took most of a PQ build's training time."""
    quantiser, _, encoding = index_type.partition(",")
    if encoding.startswith("PQ") and encoding[2:].isdigit():
        return f"{quantiser},{encoding}x8np"
    return index_type


def choose_faiss_device(
    setting: str, num_gpus: int, has_gpu_api: bool, index_type: str = "IVF1,Flat"
) -> str:
    """Build on the GPU when asked for (``cuda``) or, with ``auto``, when faiss sees one
    (unless the GPU cannot hold this index: PQ codes of some sizes, an HNSW quantiser)."""
    gpu_ready = has_gpu_api and num_gpus > 0
    if setting == "cuda" and not gpu_ready:
        raise DeviceUnavailable("PAPERSEARCH_DEVICE=cuda but faiss sees no GPU.")
    encoding = index_type.partition(",")[2]
    unsupported = "_HNSW" in index_type or (
        encoding.startswith("PQ") and int(encoding[2:]) not in GPU_PQ_SIZES
    )
    if setting == "cpu" or unsupported:
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
    index: object  # a CPU faiss.Index (in shards: trained, empty, the shared centroids)
    index_type: str
    nlist: int | None
    nprobe: int | None
    device: str
    lists_file: Path | None = None  # the on-disk lists, when the plan put them there
    parts: list | None = None  # in shards: each shard's index, in shard order
    lists_files: list[Path] | None = None  # each shard's on-disk lists, when it has them

    def searchable(self) -> VectorIndex:
        """The index built, to search (tuning measures it as servers will)."""
        return VectorIndex(self.index, self.nprobe, parts=self.parts)


def build(
    source: VectorSource,
    *,
    nlist: int | None = None,
    nprobe: int | None = None,
    device: str = "auto",
    memory_budget: int | None = None,
    build_memory: int = DEFAULT_BUILD_MEMORY,
    lists_file: Path | None = None,
    seed: int = 1234,
    trained: VectorIndex | None = None,
) -> BuiltIndex:
    """Build an index over ``source`` (ids int64, vectors float32) as :func:`plan_build` says.

    With ``trained`` (a loaded IVF build over the same embedding space; it is emptied
    here), its centroids and codec are reused and only the vectors are added: no
    k-means. ``lists_file`` is where on-disk lists go, if the plan needs them. A build in
    shards is ``indexer.ivf_shards``'s, from the same parts.
    """
    plan, template, where = trained_template(source, nlist, memory_budget, build_memory,
                                             device, seed, trained)  # fmt: skip
    if plan.nlist is None:
        return BuiltIndex(fill(template, source, plan, "cpu", None), "Flat", None, None, "cpu")
    index = fill(template, source, plan, where, lists_file)
    return BuiltIndex(index, plan.index_type, plan.nlist, probes(plan, nprobe, trained), where,
                      lists_file if plan.on_disk else None)  # fmt: skip


def trained_template(
    source: VectorSource,
    nlist: int | None,
    memory_budget: int | None,
    build_memory: int,
    device: str,
    seed: int,
    trained: VectorIndex | None,
):
    """(the plan, its trained empty index, where vectors are added): ``trained``'s centroids
    and codec when given, else centroids trained on a sample of ``source``; an exact
    index (no lists) for a corpus too small for IVF."""
    import faiss

    n, dim = len(source), source.dim
    if trained is not None and trained.ivf is not None:
        lists = int(trained.ivf.nlist)
        encoding = trained.encoding
        quantiser = faiss.downcast_index(trained.ivf.quantizer)
        graph = f"_HNSW{quantiser.hnsw.nb_neighbors(1)}" if hasattr(quantiser, "hnsw") else ""
        index_type = f"IVF{lists}{graph},{encoding}"
        plan = BuildPlan(n, dim, lists, encoding, index_type, 0, _chunk_rows(dim, build_memory),
                         *lists_placement(n, dim, encoding, build_memory))  # fmt: skip
        return plan, _emptied(trained.index), "cpu"
    plan = plan_build(n, dim, nlist=nlist, memory_budget=memory_budget,
                      build_memory=build_memory)  # fmt: skip
    if plan.nlist is None:
        return plan, faiss.IndexIDMap2(faiss.IndexFlatL2(dim)), "cpu"
    has_gpu_api = hasattr(faiss, "StandardGpuResources")
    where = choose_faiss_device(device, faiss.get_num_gpus(), has_gpu_api, plan.index_type)
    template = faiss.index_factory(dim, factory_string(plan.index_type), faiss.METRIC_L2)
    _, sample = source.sample(plan.sample_rows, seed)
    return plan, _train(template, sample, where), where


def fill(template, source: VectorSource, plan: BuildPlan, where: str, lists_file: Path | None):
    """A copy of the trained ``template`` holding ``source``'s vectors: in memory, or with
    its lists on disk at ``lists_file`` when the plan says so."""
    if not plan.on_disk:
        return _add(template, source.chunks(plan.chunk_rows), where)
    if lists_file is None:
        raise ValueError("this build needs on-disk lists: give lists_file")
    return _add_on_disk(template, source, plan, where, lists_file)


def probes(plan: BuildPlan, nprobe: int | None, trained: VectorIndex | None) -> int:
    """The nprobe asked for, else the one ``trained`` was tuned to, else a safe default."""
    probes = nprobe or (trained.ivf.nprobe if trained is not None else None)
    return min(probes or default_nprobe(plan.nlist), plan.nlist)


def _emptied(index):
    """A trained index with no vectors, from a loaded one (whose lists may be mapped)."""
    import faiss

    ivf = faiss.extract_index_ivf(index)
    lists = faiss.ArrayInvertedLists(ivf.nlist, ivf.code_size)
    ivf.replace_invlists(lists, True)
    lists.this.disown()  # the index owns it now
    ivf.ntotal = 0
    index.ntotal = 0
    return index


def _train(index, sample: np.ndarray, where: str):
    import faiss

    if where == "cuda":
        on_gpu = faiss.index_cpu_to_gpu(gpu_resources(), 0, index)
        on_gpu.train(sample)
        return faiss.index_gpu_to_cpu(on_gpu)
    index.train(sample)
    return index


def _add(template, chunks: Iterable[tuple[np.ndarray, np.ndarray]], where: str, *,
         keep_on_gpu: bool = False):  # fmt: skip
    """A copy of the trained ``template`` with ``chunks`` added, on the CPU (or left on
    the GPU, with ``keep_on_gpu``, for more to be added)."""
    import faiss

    index = faiss.clone_index(template)
    if where == "cuda":
        index = faiss.index_cpu_to_gpu(gpu_resources(), 0, index)
    for ids, vectors in chunks:
        index.add_with_ids(vectors, ids)
    return faiss.index_gpu_to_cpu(index) if where == "cuda" and not keep_on_gpu else index


def _add_on_disk(template, source: VectorSource, plan: BuildPlan, where: str, lists_file: Path):
    """Add the vectors a chunk at a time to a block index, write each block to a file once
    it holds ``plan.block_rows`` vectors, then copy the blocks' lists into FAISS's on-disk
    layout at ``lists_file`` (written under a temporary name, fsynced, renamed).

    Memory: one chunk of vectors and one block of codes. FAISS's own ``merge_ondisk``
    maps every block and the whole output, so its resident size grows to twice the
    codes; here each block is read in turn and its lists written with ``pwrite`` at
    offsets known from the blocks' list sizes, which touches no mapped page."""
    import faiss

    lists_file.parent.mkdir(parents=True, exist_ok=True)
    blocks: list[Path] = []
    sizes = np.zeros(plan.nlist or 0, dtype=np.uint64)
    temporary = lists_file.with_name(lists_file.name + TEMPORARY_SUFFIX)

    def write_block(part) -> None:
        part = faiss.index_gpu_to_cpu(part) if where == "cuda" else part
        lists = faiss.extract_index_ivf(part).invlists
        sizes[:] += _list_sizes(lists)
        path = lists_file.with_name(f"{lists_file.stem}.block-{len(blocks):04d}{TEMPORARY_SUFFIX}")
        faiss.write_index(part, str(path))
        blocks.append(path)

    try:
        part, rows = None, 0
        for ids, vectors in source.chunks(plan.chunk_rows):
            if part is None:
                part = _add(template, [], where, keep_on_gpu=True)
            part.add_with_ids(vectors, ids)
            rows += len(ids)
            if rows >= plan.block_rows:
                write_block(part)
                part, rows = None, 0
        if part is not None:
            write_block(part)
        del part
        code_size = faiss.extract_index_ivf(template).code_size
        _write_lists(blocks, sizes, code_size, temporary)
        os.replace(temporary, lists_file)
        on_disk = faiss.OnDiskInvertedLists(len(sizes), code_size, str(lists_file))
        on_disk.set_all_lists_sizes(faiss.swig_ptr(sizes))
        on_disk.totsize = int(sizes.sum()) * (code_size + 8)
        on_disk.read_only = True
        if on_disk.totsize:
            on_disk.do_mmap()
        index = faiss.clone_index(template)
        ivf = faiss.extract_index_ivf(index)
        ivf.replace_invlists(on_disk, True)
        on_disk.this.disown()  # the index owns it now
        ivf.ntotal = index.ntotal = int(sizes.sum())
        return index
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    finally:
        for path in blocks:
            path.unlink(missing_ok=True)


def _write_lists(blocks: list[Path], sizes: np.ndarray, code_size: int, path: Path) -> None:
    """The ``.ivfdata`` layout of ``OnDiskInvertedLists.set_all_lists_sizes``: list j at
    the sum of the earlier lists' bytes, its codes then its int64 ids."""
    import faiss

    starts = np.concatenate([[0], np.cumsum(sizes * np.uint64(code_size + 8))]).astype(np.int64)
    filled = np.zeros(len(sizes), dtype=np.int64)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.ftruncate(fd, int(starts[-1]))
        for block in blocks:
            part = faiss.read_index(str(block))  # held: the lists below belong to it
            lists = faiss.extract_index_ivf(part).invlists
            for j in np.flatnonzero(_list_sizes(lists)):
                n = lists.list_size(int(j))
                codes = faiss.rev_swig_ptr(lists.get_codes(int(j)), n * code_size)
                ids = faiss.rev_swig_ptr(lists.get_ids(int(j)), n)
                at = int(starts[j])
                _pwrite_all(fd, codes, at + int(filled[j]) * code_size)
                _pwrite_all(fd, ids, at + int(sizes[j]) * code_size + int(filled[j]) * 8)
                filled[j] += n
            del lists, part
        if not np.array_equal(filled, sizes.astype(np.int64)):
            raise RuntimeError("the blocks' lists changed size while they were merged")
        os.fsync(fd)
    finally:
        os.close(fd)


def _list_sizes(lists) -> np.ndarray:
    return np.fromiter((lists.list_size(j) for j in range(lists.nlist)), np.uint64, lists.nlist)


def _pwrite_all(fd: int, data: np.ndarray, offset: int) -> None:
    view = memoryview(data).cast("B")
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written
