"""Benchmark: IVF recall@10 and search latency against exact flat search, across nprobe.

    python bench/index.py                    # 74,728 real vectors and 1,000,000
    python bench/index.py --sizes 74728      # the real vectors only (no 1M set)
    python bench/index.py --encodings Flat,SQ8,PQ96
    python bench/index.py --limit 3000 --sizes 3000,30000   # a quick look

Vectors: all-MiniLM-L6-v2 embeddings of the shared 74,728-paper arXiv corpus
(cached in ~/.cache/papersearch-bench after the first run). The 1,000,000-vector
set is those plus perturbed copies (each copy is a real vector moved by
Gaussian noise of half the typical nearest-neighbour distance, renormalised),
so its neighbourhoods are as dense as a real corpus 13× larger.

Queries: 1,000 paper titles encoded as queries (held out from the 200 titles
that tuning uses, as `papersearch index` does). Every index is built by
papersearch's own code (`indexer.ivf.build`, nlist from corpus size, nprobe
tuned on the 200 titles), so the default row is what a user gets. Latency is
one query at a time (as a server searches), in this process, as a ratio to
exact flat search on the same queries.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
from workload import ARXIV_74K, arxiv_minilm_vectors, percentile_ms, read_arxiv

TUNE_QUERIES = 200
EVAL_QUERIES = 1000
K = 10
THREADS = os.cpu_count() or 1


def perturbed_copies(real: np.ndarray, total: int, seed: int = 11) -> np.ndarray:
    """``real`` plus noisy copies up to ``total`` rows (unit norm, like the encoder's output)."""
    import faiss

    rng = np.random.default_rng(seed)
    sample = real[rng.choice(len(real), 2000, replace=False)]
    flat = faiss.IndexFlatL2(real.shape[1])
    flat.add(real)
    distances, _ = flat.search(sample, 2)  # the first hit is the vector itself
    nn = float(np.median(np.sqrt(distances[:, 1])))
    sigma = 0.5 * nn / np.sqrt(real.shape[1])  # the noise vector's norm ≈ nn / 2
    out = np.empty((total, real.shape[1]), dtype=np.float32)
    out[: len(real)] = real
    for start in range(len(real), total, len(real)):
        stop = min(total, start + len(real))
        rows = real[rng.integers(0, len(real), stop - start)]
        noisy = rows + rng.normal(0, sigma, rows.shape).astype(np.float32)
        out[start:stop] = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
    return out


def one_at_a_time(search, queries: np.ndarray) -> tuple[np.ndarray, list[float]]:
    found = np.empty((len(queries), K), dtype=np.int64)
    seconds = []
    for i in range(len(queries)):
        started = time.perf_counter()
        _, found[i : i + 1] = search(queries[i : i + 1])
        seconds.append(time.perf_counter() - started)
    return found, seconds


def run_size(vectors: np.ndarray, tune_q: np.ndarray, eval_q: np.ndarray, encodings, grid_max):
    import faiss

    from indexer import ivf
    from search.ann import faiss_index, tuning

    n, dim = vectors.shape
    ids = np.arange(1, n + 1, dtype=np.int64)
    faiss.omp_set_num_threads(1)  # searches: one query at a time on one core, as a server thread
    flat = faiss.IndexFlatL2(dim)
    flat.add(vectors)
    _, positions = flat.search(eval_q, K)  # batched: the ground truth
    truth = ids[positions]
    _, flat_seconds = one_at_a_time(lambda q: flat.search(q, K), eval_q[:200])
    flat_ms = percentile_ms(flat_seconds, 50)
    print(f"\n{n:,} vectors of {dim} dims; exact flat search p50 {flat_ms:.2f} ms/query "
          f"(memory {4 * dim} bytes/paper)", flush=True)  # fmt: skip
    verdicts = []
    for encoding in encodings:
        budget = n * faiss_index.bytes_per_vector(encoding, dim)
        started = time.perf_counter()
        faiss.omp_set_num_threads(THREADS)  # building: every core, as `papersearch index`
        source = ivf.ArrayVectors(ids, vectors)
        built = ivf.build(source, memory_budget=budget, build_memory=64 << 30)  # all in RAM
        faiss.omp_set_num_threads(1)
        build_seconds = time.perf_counter() - started
        index = faiss_index.VectorIndex(built.index)
        rows = tuning.measure(index, source, tune_q)
        tuned = tuning.smallest_nprobe(rows)
        print(f"{built.index_type}: built in {build_seconds:.0f} s, "
              f"{faiss_index.bytes_per_vector(encoding, dim)} bytes/paper, "
              f"tuned nprobe {tuned}", flush=True)  # fmt: skip
        print("   nprobe  recall@10  p50 ms  p95 ms  speed-up vs flat")
        for nprobe in tuning.nprobe_grid(built.nlist):
            if nprobe > grid_max and nprobe != tuned:
                continue
            params = faiss.SearchParametersIVF(nprobe=nprobe)
            found, seconds = one_at_a_time(
                lambda q, p=params, ix=built.index: ix.search(q, K, params=p), eval_q
            )
            p50 = percentile_ms(seconds, 50)
            mark = "*" if nprobe == tuned else " "
            r = tuning.top_k_overlap(found, truth)
            print(f" {mark} {nprobe:>6}  {r:9.4f}  {p50:6.2f}  {percentile_ms(seconds, 95):6.2f}  "
                  f"{flat_ms / p50:8.1f}x", flush=True)  # fmt: skip
            if nprobe == tuned and encoding == "Flat":
                verdicts.append((n, r, flat_ms / p50))
    return verdicts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="74728,1000000", help="comma-separated vector counts")
    parser.add_argument(
        "--encodings", default="Flat,SQ8,PQ96", help="Flat, SQ8, PQm (at the first size)"
    )
    parser.add_argument(
        "--large-encodings", default="Flat", help="encodings at the other sizes (k-means is slow)"
    )
    parser.add_argument("--grid-max", type=int, default=256, help="largest nprobe printed")
    parser.add_argument("--limit", type=int, help="use only the first N papers (a quick look)")
    args = parser.parse_args()
    if not ARXIV_74K.exists():
        print(f"skipped: {ARXIV_74K} not found (the shared data directory)")
        return 0
    papers = read_arxiv(limit=args.limit)
    real, titles = arxiv_minilm_vectors(papers, "arxiv74k")
    rng = np.random.default_rng(5)
    chosen = rng.choice(len(papers), TUNE_QUERIES + EVAL_QUERIES, replace=False)
    tune_q = np.ascontiguousarray(titles[chosen[:TUNE_QUERIES]])
    eval_q = np.ascontiguousarray(titles[chosen[TUNE_QUERIES:]])
    verdicts = []
    for i, size in enumerate(int(s) for s in args.sizes.split(",")):
        listed = args.encodings if i == 0 else args.large_encodings
        encodings = [e.strip() for e in listed.split(",") if e.strip()]
        vectors = real[:size] if size <= len(real) else perturbed_copies(real, size)
        verdicts += run_size(
            np.ascontiguousarray(vectors), tune_q, eval_q, encodings, args.grid_max
        )
    print()
    for n, r, speedup in verdicts:
        ok = r >= 0.95 and (n < 1_000_000 or speedup >= 10)
        print(f"default settings at {n:,} vectors: recall@10 {r:.4f}, {speedup:.1f}x faster than "
              f"exact search ({'meets' if ok else 'MISSES'} the bar: recall >= 0.95"
              f"{', >= 10x' if n >= 1_000_000 else ''})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
