"""Out-of-core builds (``indexer.ivf``): bounded samples and chunks, on-disk inverted lists,
an HNSW coarse quantiser from 65,536 lists; through the real pipeline and its publish."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from indexer import ivf, pipeline
from indexer.pipeline import index_corpus
from search.ann import faiss_index
from search.base.atomic_files import file_checksum
from search.base.errors import IndexCorrupt
from search.base.settings import SettingsError
from search.engine.engine import SearchEngine
from search.store import Store
from tests.helpers import cli_args, sample_lines, write_lines

REPO = Path(__file__).resolve().parent.parent
DIM = 32
# A build memory that puts 800 tiny-model vectors' lists on disk (they take ~109 kB,
# over half of it) while 4 lists still get a sample of 39 vectors each.
SMALL_BUILD_MEMORY = 128 << 10


def vectors(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return np.arange(100, 100 + n, dtype=np.int64), rng.normal(size=(n, DIM)).astype(np.float32)


def test_plan_bounds_sample_and_chunks_by_the_build_memory():
    small = ivf.plan_build(100_000, 768, build_memory=2 << 30)
    assert small.nlist == 1265 and small.index_type == "IVF1265,Flat"
    assert small.sample_rows == 100_000 and not small.on_disk  # 307 MB of lists fit
    memory = 3 << 30
    big = ivf.plan_build(10_000_000, 768, memory_budget=2 << 30, build_memory=memory)
    assert big.encoding == "PQ192" and big.nlist == 12649  # 2 GB of codes: on disk
    assert 39 * big.nlist <= big.sample_rows and big.sample_rows * 768 * 4 <= memory // 2
    assert big.chunk_rows * 768 * 4 <= memory // 16
    assert big.on_disk
    assert big.block_rows * faiss_index.bytes_per_vector(big.encoding, 768) <= memory // 4
    huge = ivf.plan_build(300_000_000, 768, memory_budget=20 << 30, build_memory=20 << 30)
    assert huge.nlist >= ivf.HNSW_FROM_NLIST
    assert huge.index_type.startswith(f"IVF{huge.nlist}_HNSW32,PQ")
    with pytest.raises(
        SettingsError, match="BUILD_MEMORY=1.07GB is too small, it needs at least 3.03GB"
    ):
        ivf.plan_build(10_000_000, 768, build_memory=1 << 30)


@pytest.mark.parametrize("encoding", ["Flat", "SQ8"])
def test_on_disk_lists_search_exactly_like_lists_built_in_memory(tmp_path, monkeypatch, encoding):
    ids, data = vectors(5000)
    budget = len(ids) * faiss_index.bytes_per_vector(encoding, DIM)
    memory = 256 << 10  # lists of 5000 vectors take more than half: on disk, in blocks
    plan = ivf.plan_build(len(ids), DIM, nlist=16, memory_budget=budget, build_memory=memory)
    assert plan.on_disk and plan.block_rows < len(ids)
    monkeypatch.setattr(ivf, "MIN_CHUNK_ROWS", 500)  # several blocks, several chunks each
    source = ivf.ArrayVectors(ids, data)
    lists_file = tmp_path / "b.ivfdata"
    kwargs = dict(nlist=16, memory_budget=budget, build_memory=memory, device="cpu")
    on_disk = ivf.build(source, lists_file=lists_file, **kwargs)
    assert on_disk.lists_file == lists_file and lists_file.is_file()
    assert not list(tmp_path.glob("*.tmp"))  # the blocks are gone
    with monkeypatch.context() as m:  # the same plan, with the lists kept in memory
        m.setattr(ivf, "lists_placement", lambda n, *a: (False, n))
        in_memory = ivf.build(source, **kwargs)
    assert in_memory.lists_file is None and on_disk.index_type == in_memory.index_type
    path = tmp_path / "b.faiss"
    faiss_index.write(on_disk.index, path)
    checksum = file_checksum(path, lists_file)
    faiss_index.verify([path, lists_file], checksum)
    served = faiss_index.VectorIndex.read(path, 16, lists_file=lists_file)
    reference = faiss_index.VectorIndex(in_memory.index, 16)
    assert served.ntotal == reference.ntotal == len(ids)
    d1, i1 = served.search(data[:50], 10)
    d2, i2 = reference.search(data[:50], 10)
    np.testing.assert_array_equal(i1, i2)
    np.testing.assert_allclose(d1, d2, rtol=1e-5)
    # the checksum covers the lists: a changed byte in them is caught before serving
    with open(lists_file, "r+b") as fh:
        fh.seek(100)
        byte = fh.read(1)
        fh.seek(100)
        fh.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(IndexCorrupt):
        faiss_index.verify([path, lists_file], checksum)


def test_a_failed_on_disk_build_leaves_no_files(tmp_path, monkeypatch):
    ids, data = vectors(3000)
    monkeypatch.setattr(ivf, "MIN_CHUNK_ROWS", 500)
    calls = {"n": 0}
    real_add = ivf._add

    def add_then_fail(template, chunks, where, **options):
        calls["n"] += 1  # one call per block
        if calls["n"] == 3:
            raise OSError(28, "No space left on device")
        return real_add(template, chunks, where, **options)

    monkeypatch.setattr(ivf, "_add", add_then_fail)
    with pytest.raises(OSError):
        ivf.build(ivf.ArrayVectors(ids, data), nlist=4, build_memory=128 << 10,
                  device="cpu", lists_file=tmp_path / "b.ivfdata")  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def test_an_hnsw_quantiser_from_many_lists(tmp_path, monkeypatch):
    monkeypatch.setattr(ivf, "HNSW_FROM_NLIST", 16)
    ids, data = vectors(4000)
    built = ivf.build(ivf.ArrayVectors(ids, data), nlist=32, device="auto")
    assert built.index_type == "IVF32_HNSW32,Flat" and built.device == "cpu"
    path = tmp_path / "h.faiss"
    faiss_index.write(built.index, path)
    index = faiss_index.VectorIndex.read(path, 32)  # every list: exact
    _, found = index.search(data[:20], 1)
    np.testing.assert_array_equal(found[:, 0], ids[:20])
    again = ivf.build(ivf.ArrayVectors(ids[:500], data[:500]), trained=index)
    assert again.index_type == "IVF32_HNSW32,Flat" and again.index.ntotal == 500


def test_the_pipeline_builds_on_disk_publishes_and_serves_from_a_moved_directory(
    settings, tmp_path, tiny_encoder, monkeypatch
):
    monkeypatch.setattr(ivf, "MIN_CHUNK_ROWS", 200)
    small = settings.replace(build_memory=SMALL_BUILD_MEMORY, nlist=4, keep_builds=1)
    corpus = write_lines(tmp_path / "corpus.jsonl", sample_lines(800))
    index_corpus(small, [corpus], encoder=tiny_encoder)
    build = Store.open(small).builds.current()
    assert (build.lists_path, build.vector_count) == ("build-000001.ivfdata", 800)
    engine = SearchEngine.open(small, encoder=tiny_encoder)
    first = [h.id for h in engine.search("graph neural networks", k=10).results]
    assert len(first) == 10
    # The data directory moved (the lists file records the path it was written at):
    # the lists are found beside the index file.
    moved = small.replace(home=tmp_path / "moved")
    shutil.move(small.home, moved.home)
    engine = SearchEngine.open(moved, encoder=tiny_encoder)
    assert [h.id for h in engine.search("graph neural networks", k=10).results] == first
    # The nightly re-index reuses the on-disk build's centroids, builds on disk again and
    # prunes the first build's files, its lists included.
    grown = write_lines(tmp_path / "grown.jsonl", sample_lines(850))
    summary = pipeline.run(moved, [grown], encoder=tiny_encoder)
    assert summary.embedded == 50
    build = Store.open(moved).builds.current()
    assert build.id == 2 and build.centroids_from == 1 and build.vector_count == 850
    assert sorted(p.name for p in moved.builds_dir.iterdir()) == [
        "build-000002.faiss",
        "build-000002.graph",
        "build-000002.ivfdata",
        "build-000002.keywords",
    ]
    assert len(SearchEngine.open(moved, encoder=tiny_encoder).search("graph", k=5).results) == 5


@pytest.mark.slow  # a whole process (or a Ray cluster) started
def test_index_json_output_stays_json_with_on_disk_lists(settings, tmp_path, tiny_model_dirs):
    """An on-disk build from the command line: ``--json`` prints only JSON (FAISS's own
    merge printed to the C stdout; the streaming merge must not)."""
    corpus = write_lines(tmp_path / "corpus.jsonl", sample_lines(800))
    args = ["index", str(corpus), "--json", "--build-memory", "128KB", "--nlist", "4"]
    done = subprocess.run([sys.executable, "-m", "papersearch", *args, *cli_args(settings)],
                          capture_output=True, text=True, cwd=REPO, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "resizing" not in done.stdout + done.stderr
    assert json.loads(done.stdout)["build_id"] == 1
    assert Store.open(settings).builds.current().lists_path == "build-000001.ivfdata"


def test_refine_reranks_approximate_codes_with_the_exact_vectors(settings, tmp_path, tiny_encoder):
    """Similar papers on PQ8 codes, with and without re-ranking, against exact neighbours.
    (The tiny model's paper vectors differ in the fourth decimal: PQ cannot order them.)"""
    corpus = write_lines(tmp_path / "corpus.jsonl", sample_lines(800))
    pq = settings.replace(index_memory=800 * 16)  # PQ8 codes: 8 bytes + the id
    index_corpus(pq, [corpus], encoder=tiny_encoder)
    plain = SearchEngine.open(pq, encoder=tiny_encoder)
    refined = SearchEngine.open(pq.replace(refine=4), encoder=tiny_encoder)
    assert plain.index.encoding == "PQ8"
    ids, vectors = Store.open(pq).vectors.all(tiny_encoder.info.key)
    found = {"plain": 0, "refined": 0}
    for row in range(0, 800, 40):
        exact = np.sqrt(((vectors - vectors[row]) ** 2).sum(1))
        exact[row] = np.inf  # the paper itself is left out
        truth = set(ids[np.argsort(exact)[:10]].tolist())
        got = refined.similar(int(ids[row]), k=10).results
        distances = [float(exact[np.searchsorted(ids, h.id)]) for h in got]
        assert distances == sorted(distances)  # ordered by the exact distances
        found["refined"] += len(truth & {h.id for h in got})
        found["plain"] += len(truth & {h.id for h in plain.similar(int(ids[row]), k=10).results})
    assert found["refined"] > found["plain"] + 20, found
