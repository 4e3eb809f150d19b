"""Benchmark: vector files as memory-mappable .npy shards against Parquet (pyarrow), and
what float16 storage would cost in ranking fidelity.

    python bench/vectors.py                 # 500,000 vectors of 768 dims (1.5 GB)
    python bench/vectors.py --rows 100000   # a quick look

Formats, on the same random float32 vectors (cost does not depend on the values),
written, scanned whole (as a build reads them, in chunks) and read at random rows
(as `similar` and re-ranking read them), each from a cold start of the reader:
- ``.npy``: papersearch's shards (ids, hashes, vectors), ``write_shard`` itself;
- Parquet: one table (id int64, hash binary(16), vector fixed_size_list<float32>),
  row groups of 65,536 rows, uncompressed and zstd.
The timings are ratios to the .npy figures of the same run.

Fidelity: the 74,728 real all-MiniLM-L6-v2 arXiv vectors (cached by the other
benchmarks; skipped without them) stored as float16: minimum cosine to float32 and
the top-10 overlap of 1,000 title queries against the float32 ranking.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from workload import ARXIV_74K, arxiv_minilm_vectors, read_arxiv, timed

ROW_GROUP = 65_536
RANDOM_READS = 2_000
CHUNK = 262_144


def npy_figures(root: Path, ids, hashes, vectors) -> dict[str, float]:
    from search.store import shards

    shard, write = timed(lambda: shards.write_shard(root, "m", ids, hashes, vectors))
    path = root / "m" / f"{shard.name}.vectors.npy"

    def scan() -> float:
        mapped = np.load(path, mmap_mode="r")
        return float(sum(mapped[s : s + CHUNK].sum() for s in range(0, len(mapped), CHUNK)))

    rows = np.sort(np.random.default_rng(1).choice(len(ids), RANDOM_READS, replace=False))

    def random_rows() -> np.ndarray:
        return np.load(path, mmap_mode="r")[rows]

    _, scan_s = timed(scan)
    _, random_s = timed(random_rows)
    size = sum(f.stat().st_size for f in (root / "m").iterdir())
    return {"write": write, "scan": scan_s, "random": random_s, "bytes": size}


def parquet_figures(root: Path, ids, hashes, vectors, compression: str) -> dict[str, float]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    dim = vectors.shape[1]
    path = root / f"vectors-{compression}.parquet"

    def write() -> None:
        flat = pa.array(vectors.reshape(-1), pa.float32())
        table = pa.table({
            "id": pa.array(ids, pa.int64()),
            "hash": pa.array([h.tobytes() for h in hashes], pa.binary(16)),
            "vector": pa.FixedSizeListArray.from_arrays(flat, dim),
        })  # fmt: skip
        pq.write_table(table, path, row_group_size=ROW_GROUP, compression=compression)

    def scan() -> float:
        total = 0.0
        for batch in pq.ParquetFile(path).iter_batches(batch_size=CHUNK, columns=["vector"]):
            column = batch.column(0)
            total += float(column.values.to_numpy().reshape(-1, dim).sum())
        return total

    rows = np.sort(np.random.default_rng(1).choice(len(ids), RANDOM_READS, replace=False))

    def random_rows() -> np.ndarray:
        file = pq.ParquetFile(path)
        groups = np.unique(rows // ROW_GROUP)
        out = []
        for group in groups:
            mine = rows[rows // ROW_GROUP == group] - group * ROW_GROUP
            column = file.read_row_group(int(group), columns=["vector"]).column(0)
            out.append(column.take(pa.array(mine)).combine_chunks().values.to_numpy())
        return np.concatenate(out).reshape(-1, dim)

    _, write_s = timed(write)
    _, scan_s = timed(scan)
    _, random_s = timed(random_rows)
    return {"write": write_s, "scan": scan_s, "random": random_s, "bytes": path.stat().st_size}


def float16_fidelity() -> None:
    if not ARXIV_74K.exists():
        print("\nfloat16 fidelity: skipped (no shared data)")
        return
    papers, titles = arxiv_minilm_vectors(read_arxiv(), "arxiv74k")
    import faiss

    half = papers.astype(np.float16).astype(np.float32)
    cosine = (papers * half).sum(1) / np.linalg.norm(papers, axis=1) / np.linalg.norm(half, axis=1)
    queries = titles[np.random.default_rng(2).choice(len(titles), 1000, replace=False)]
    exact, stored = faiss.IndexFlatL2(papers.shape[1]), faiss.IndexFlatL2(papers.shape[1])
    exact.add(papers)
    stored.add(half)
    _, a = exact.search(queries, 10)
    _, b = stored.search(queries, 10)
    overlap = np.mean([len(np.intersect1d(x, y)) / 10 for x, y in zip(a, b, strict=True)])
    print(f"\nfloat16 storage of {len(papers):,} real MiniLM vectors: minimum cosine to float32 "
          f"{cosine.min():.6f}; top-10 overlap of 1,000 title queries {overlap:.4f}")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--dim", type=int, default=768)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    ids = np.arange(1, args.rows + 1, dtype=np.int64)
    hashes = rng.integers(0, 256, (args.rows, 16), dtype=np.uint8)
    vectors = rng.normal(size=(args.rows, args.dim)).astype(np.float32)
    root = Path(tempfile.mkdtemp(prefix="papersearch-vectors-"))
    try:
        npy = npy_figures(root, ids, hashes, vectors)
        rows = [("npy (mmap)", npy)]
        for compression in ("none", "zstd"):
            rows.append((f"parquet {compression}", parquet_figures(root, ids, hashes, vectors,
                                                                   compression)))  # fmt: skip
    finally:
        shutil.rmtree(root)
    print(f"{args.rows:,} vectors of {args.dim} dims; timings as ratios to .npy in this run")
    print("format            write s   scan s  random s   bytes/vector  write× scan× random×")
    for name, f in rows:
        print(f"{name:<16} {f['write']:7.2f} {f['scan']:8.2f} {f['random']:9.4f} "
              f"{f['bytes'] / args.rows:13.0f}  {f['write'] / npy['write']:5.1f} "
              f"{f['scan'] / npy['scan']:5.1f} {f['random'] / npy['random']:7.1f}")  # fmt: skip
    float16_fidelity()
    return 0


if __name__ == "__main__":
    sys.exit(main())
