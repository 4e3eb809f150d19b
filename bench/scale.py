"""Benchmark: out-of-core index builds at 1M and 10M vectors, keyword and hybrid search at
those sizes (``keyword_scale.py``), and Ray against local embedding.

    python bench/scale.py                          # 1M and 10M, then Ray vs local
    python bench/scale.py --sizes 1000000          # one size
    python bench/scale.py --skip-ray               # builds only
    python bench/scale.py --sizes 1000000 --reuse-build   # measure the last build again
    python bench/scale.py --sizes 200000 --skip-ray --build-memory 512MB   # a quick look
    python bench/scale.py --keywords-only          # keyword and hybrid on builds made before
    python bench/scale.py --shards 2 --reuse-build --skip-keywords --skip-ray   # 1 vs 2 shards
    python bench/scale.py --shards 2 --keywords-only   # keyword 1 vs 2 shards (no vectors)
    python bench/scale.py --sizes 1000000,10000000 --shards 2 --skip-keywords  # and Serve at 1M

Vectors: the 74,728 real all-MiniLM-L6-v2 arXiv vectors (``workload.arxiv_minilm_vectors``,
cached after the first run) plus perturbed copies (``bench/index.py``), written as
papersearch's own vector shards, with a paper row each in a real SQLite store, so the
build reads them exactly as ``papersearch index`` does (``store.vectors.live``). The
store and shards of a size are made once, under ~/.cache/papersearch-bench/scale-N.

Each build runs in a child process (``indexer.ivf.build`` with the budgets given, then
``search.ann.faiss_index.write``); its peak RSS is the kernel's count (``os.wait4``). Then, in this
process: nprobe tuned on 200 titles as the product does, recall@10 of 500 other titles
at that nprobe against exact search by brute force over the shards (chunked), single-
query latency, and recall with re-ranking from the vector files (``PAPERSEARCH_REFINE``).
An extrapolation to 100M and 200M SPECTER2 vectors (768 dims) follows, from the
measured figures. With ``--shards N``, each size's build against the same build in N
shards (``shard_scale.py``), and at ``--serve-size`` the shards in this process against
Ray Serve replicas (``shard_ray.py``). Last, embedding 2,000 papers through Ray (2 CPU
actors) against the local path, in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import keyword_scale
import numpy as np
import shard_ray
import shard_scale
from workload import (
    ARXIV_74K,
    CACHE,
    REPO,
    arxiv_minilm_vectors,
    minilm_settings,
    peak_rss,
    percentile_ms,
    read_arxiv,
)

KEY = "bench-minilm"  # the model key the shards are written under
TUNE_QUERIES = 200
EVAL_QUERIES = 500
K = 10
ZERO_HASH = "00" * 32


def prepare(n: int, real: np.ndarray) -> Path:
    """A data directory with ``n`` papers and their vectors in shards (made once)."""
    from index import perturbed_copies

    from search.store import Store, shards

    home = CACHE / f"scale-{n}"
    done = home / "prepared"
    if done.exists():
        return home
    if home.exists():
        import shutil

        shutil.rmtree(home)
    settings = minilm_settings(home=home)
    store = Store.open(settings, migrate=True)
    print(f"preparing {n:,} papers in {home} ...", flush=True)
    started = time.perf_counter()
    db = sqlite3.connect(settings.sqlite_path)
    step = len(real)
    for start in range(0, n, step):
        stop = min(n, start + step)
        ids = np.arange(start + 1, stop + 1, dtype=np.int64)
        if start == 0:
            vectors = real[: stop - start]
        else:  # copies of a random real vector each, moved by noise (seeded per block)
            vectors = perturbed_copies(real, len(real) + stop - start, seed=start)[len(real) :]
        rows = [(int(i), f"p{i}", f"paper {i}", "[]", "[]", "[]", "[]", ZERO_HASH, ZERO_HASH,
                 "2026-01-01 00:00:00") for i in ids]  # fmt: skip
        db.executemany(
            "INSERT INTO papers (id, external_id, title, authors, categories, category_keys, "
            "author_keys, content_hash, text_hash, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(*r, r[-1]) for r in rows],
        )
        db.commit()
        hashes = np.zeros((len(ids), shards.HASH_BYTES), dtype=np.uint8)
        store.vectors.record([shards.write_shard(settings.vectors_dir, KEY, ids, hashes,
                                                       vectors)])  # fmt: skip
        print(f"  {stop:,}/{n:,} ({time.perf_counter() - started:.0f} s)", flush=True)
    db.close()
    done.write_text("ok")
    return home


def child(home: Path, build_memory: int, index_memory: int) -> None:
    """The build alone, as `papersearch index` makes it: prints what it built as JSON."""
    import faiss

    from indexer import ivf
    from search.ann import faiss_index
    from search.store import Store

    faiss.omp_set_num_threads(os.cpu_count() or 1)
    settings = minilm_settings(home=home)
    store = Store.open(settings, migrate=True)
    started = time.perf_counter()
    source = store.vectors.live(KEY)
    path = settings.builds_dir / "bench.faiss"
    lists_file = path.with_suffix(".ivfdata")
    built = ivf.build(source, memory_budget=index_memory, build_memory=build_memory,
                      lists_file=lists_file, device="cpu")  # fmt: skip
    faiss_index.write(built.index, path)
    seconds = time.perf_counter() - started
    sizes = sum(p.stat().st_size for p in (path, lists_file) if p.exists())
    print(json.dumps({"seconds": seconds, "index_type": built.index_type, "nlist": built.nlist,
                      "on_disk": built.lists_file is not None, "file_bytes": sizes,
                      "vectors": len(source), "peak_rss": peak_rss()}))  # fmt: skip


def run_child(home: Path, build_memory: int, index_memory: int) -> tuple[dict, int]:
    """(the child's report, its peak RSS in bytes, as the child measured it)."""
    proc = subprocess.Popen([sys.executable, __file__, "--child", str(home),
                             "--build-memory", str(build_memory), "--index-memory",
                             str(index_memory)], stdout=subprocess.PIPE, text=True)  # fmt: skip
    out = proc.stdout.read()
    if proc.wait() != 0:
        raise SystemExit(f"the build failed ({proc.returncode})")
    report = json.loads(out.strip().splitlines()[-1])
    return report, report["peak_rss"]


def measure(home: Path, report: dict, titles: np.ndarray) -> dict:
    import faiss

    from search.ann import faiss_index, tuning
    from search.ranking.refine import rerank
    from search.store import Store

    settings = minilm_settings(home=home)
    store = Store.open(settings, migrate=True)
    source = store.vectors.live(KEY)
    path = settings.builds_dir / "bench.faiss"
    lists = path.with_suffix(".ivfdata")
    index = faiss_index.VectorIndex.read(path, None, lists_file=lists if lists.exists() else None)
    rng = np.random.default_rng(5)
    picked = rng.choice(len(titles), TUNE_QUERIES + EVAL_QUERIES, replace=False)
    tune_q, eval_q = titles[picked[:TUNE_QUERIES]], titles[picked[TUNE_QUERIES:]]
    faiss.omp_set_num_threads(1)  # one query at a time on one core, as a server thread
    rows = tuning.measure(index, source, tune_q)
    nprobe = tuning.smallest_nprobe(rows)
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    truth = tuning.exact_top_k(source.chunks(tuning.EXACT_CHUNK_ROWS), eval_q, K)
    faiss.omp_set_num_threads(1)
    index.ivf.nprobe = nprobe
    found = np.empty_like(truth)
    seconds = []
    for i in range(len(eval_q)):
        started = time.perf_counter()
        _, found[i : i + 1] = index.search(eval_q[i : i + 1], K)
        seconds.append(time.perf_counter() - started)
    result = {"nprobe": nprobe, "recall": tuning.top_k_overlap(found, truth),
              "p50_ms": percentile_ms(seconds, 50),
              "p95_ms": percentile_ms(seconds, 95)}  # fmt: skip
    for factor in (2, 4):
        refined = np.empty_like(truth)
        seconds = []
        for i in range(len(eval_q)):
            started = time.perf_counter()
            _, candidates = index.search(eval_q[i : i + 1], K * factor)
            best = rerank(
                store.vectors, KEY, eval_q[i], candidates[0], K, store.papers.text_hashes
            )[1]
            refined[i] = np.pad(best, (0, K - len(best)), constant_values=-1)
            seconds.append(time.perf_counter() - started)
        result[f"refine{factor}"] = (tuning.top_k_overlap(refined, truth),
                                     percentile_ms(seconds, 50))  # fmt: skip
    return result


def extrapolate(measured: list[tuple[int, dict, int, dict]], build_memory: int) -> None:
    """Memory and build time at 100M and 200M SPECTER2 vectors, from the largest run."""
    from indexer import ivf
    from search.ann import faiss_index

    n, report, rss, _ = measured[-1]
    dim_measured, dim = 384, 768
    per_vector_s = report["seconds"] / n
    print("\nExtrapolation to SPECTER2 (768 dims), from the largest measured build:")
    print(
        f"  measured: {n:,} × {dim_measured} dims in {report['seconds']:.0f} s "
        f"= {1e6 * per_vector_s:.1f} µs/vector; peak RSS {rss / 1e9:.2f} GB"
    )
    print("  time scales with n × dims (k-means on the bounded sample, then one")
    print("  assignment and encoding per vector): t = n × µs/vector × 768/384.")
    print("  memory: the plan's shares of PAPERSEARCH_BUILD_MEMORY + 40 B/paper of")
    print("  catalogue; the codes stay on disk (on-disk lists) when over half of it.")
    print("   papers   nlist  codes(PQ96)  catalogue  build memory  est. time (2 cores)")
    for target in (100_000_000, 200_000_000):
        memory = max(build_memory, _needed_build_memory(target, dim))
        plan = ivf.plan_build(target, dim, memory_budget=target * 104, build_memory=memory)
        codes = target * faiss_index.bytes_per_vector(plan.encoding, dim)
        hours = target * per_vector_s * dim / dim_measured / 3600
        print(
            f"  {target / 1e6:5.0f}M  {plan.nlist:6d}  {codes / 1e9:7.1f} GB"
            f"  {target * 40 / 1e9:6.1f} GB  {memory / 1e9:8.1f} GB"
            f"  {hours:6.1f} h = {target:,} × {1e6 * per_vector_s:.1f} µs × 2"
        )


def _built_vectors(sizes: str, titles: np.ndarray) -> dict[int, tuple[Path, int]]:
    """{size: (home, tuned nprobe)} of the vector builds earlier runs made."""
    built = {}
    for n in (int(s) for s in sizes.split(",")):
        home = CACHE / f"scale-{n}"
        if (home / "builds" / "bench-report.json").exists():
            report, _ = json.loads((home / "builds" / "bench-report.json").read_text())
            built[n] = (home, measure(home, report, titles)["nprobe"])
    return built


def _needed_build_memory(n: int, dim: int) -> int:
    from search.ann.faiss_index import MIN_POINTS_PER_LIST, choose_nlist

    return 2 * choose_nlist(n) * MIN_POINTS_PER_LIST * 4 * dim


def ray_against_local(papers: list, n: int = 2000) -> None:
    """Embed the same ``n`` papers locally and on Ray (2 CPU actors), in one run. The local
    Ray cluster is started before the clock (a real cluster is already running); the
    Ray job's time includes starting its actors and loading the model in each, so it
    is also run twice: the second job's actors start on a warm worker pool."""
    import tempfile

    from indexer.pipeline import embed_pending
    from indexer.ray_executor import connect
    from indexer.ray_executor import embed_pending as ray_embed_pending
    from search.model.encoder import Encoder
    from search.store import Store

    sample = papers[:n]
    connect(None)  # the cluster, started outside the timed part
    with tempfile.TemporaryDirectory() as tmp:
        results = {}
        for name in ("local", "ray", "ray, again"):
            executor = name.split(",")[0]
            settings = minilm_settings(home=Path(tmp) / name.replace(", ", "-"),
                                       precision="fp32", executor=executor,
                                       ray_actors=2)  # fmt: skip
            store = Store.open(settings, migrate=True)
            store.papers.upsert(sample)
            encoder = Encoder.load(settings)
            started = time.perf_counter()
            if executor == "local":
                done = embed_pending(store, encoder)
            else:
                done = ray_embed_pending(store, settings, encoder.info.key)
            assert done == len(sample), (name, done)
            results[name] = done / (time.perf_counter() - started)
        print(f"\nEmbedding {n:,} papers (all-MiniLM-L6-v2, fp32, {os.cpu_count()} cores):")
        for name, rate in results.items():
            print(f"  {name:<12}{rate:>8.1f} papers/s  ({rate / results['local']:.2f} × local)")
        print("  (Ray: 2 CPU actors of one thread each; local: one process, torch's threads)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--build-memory", default="2GB")
    parser.add_argument(
        "--index-memory",
        default="300B",
        help="index memory per paper: picks the codes (300B: SQ6 for 384 dims, 104B: PQ96)",
    )
    parser.add_argument("--budget", default="4GB", help="the peak RSS a build must stay under")
    parser.add_argument("--skip-ray", action="store_true")
    parser.add_argument("--ray-only", action="store_true", help="only Ray against local")
    parser.add_argument(
        "--reuse-build",
        action="store_true",
        help="measure the build the last run made (same settings) again",
    )
    parser.add_argument(
        "--keyword-sizes",
        default="74728,1000000,10000000",
        help="keyword index sizes (hybrid where --sizes built vectors too)",
    )
    parser.add_argument("--skip-keywords", action="store_true")
    parser.add_argument(
        "--keywords-only",
        action="store_true",
        help="keyword and hybrid only (hybrid on vector builds already made)",
    )
    parser.add_argument("--queries", type=int, default=500, help="title queries per size")
    parser.add_argument("--fts5-size", type=int, default=1_195_648)
    parser.add_argument("--fts5-queries", type=int, default=50)
    parser.add_argument(
        "--shards",
        type=int,
        default=1,
        help="also compare each size's build with the same build in this many shards",
    )
    parser.add_argument(
        "--serve-size",
        type=int,
        default=1_000_000,
        help="with --shards, the size whose shards are also searched through Ray Serve (0: none)",
    )
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    from search.base.units import parse_size

    if args.child:
        child(args.child, int(args.build_memory), int(args.index_memory))
        return 0
    if not ARXIV_74K.exists():
        print(f"skipped: {ARXIV_74K} is not here (the shared data)")
        return 0
    build_memory = parse_size(args.build_memory, "build_memory")
    per_paper = parse_size(args.index_memory, "index_memory")
    budget = parse_size(args.budget, "budget")
    papers = read_arxiv()
    if args.ray_only:
        ray_against_local(papers)
        return 0
    keyword_sizes = sorted(int(s) for s in args.keyword_sizes.split(","))
    if args.keywords_only and args.shards > 1:  # keyword shards need no vectors
        for n in keyword_sizes:
            shard_scale.keywords_only(n, args.shards, papers, args.queries)
        return 0
    real, titles = arxiv_minilm_vectors(papers, "arxiv74k")
    if args.keywords_only:
        keyword_scale.report(papers, keyword_sizes, _built_vectors(args.sizes, titles), args)
        return 0
    measured = []
    print(
        f"build memory {args.build_memory}; index memory {args.index_memory}/paper; "
        f"RSS budget {args.budget}; {os.cpu_count()} cores"
    )
    for n in (int(s) for s in args.sizes.split(",")):
        home = prepare(n, real)
        saved = home / "builds" / "bench-report.json"
        if args.reuse_build and saved.exists():  # measure the last build again
            report, rss = json.loads(saved.read_text())
        else:
            report, rss = run_child(home, build_memory, n * per_paper)
            saved.write_text(json.dumps([report, rss]))
        result = measure(home, report, titles)
        measured.append((n, report, rss, result))
        verdict = "under" if rss <= budget else "OVER"
        print(
            f"\n{n:,} vectors: {report['index_type']} (lists on disk: {report['on_disk']}), "
            f"built in {report['seconds']:.0f} s; peak RSS {rss / 1e9:.2f} GB ({verdict} the "
            f"{args.budget} budget); files {report['file_bytes'] / n:.0f} bytes/paper"
        )
        print(
            f"  tuned nprobe {result['nprobe']}: recall@10 {result['recall']:.4f} against "
            f"exact search ({EVAL_QUERIES} held-out titles); p50 {result['p50_ms']:.2f} ms, "
            f"p95 {result['p95_ms']:.2f} ms per query"
        )
        for factor in (2, 4):
            recall, p50 = result[f"refine{factor}"]
            print(
                f"  re-ranking {factor}×{K} candidates from the vector files: recall@10 "
                f"{recall:.4f}, p50 {p50:.2f} ms"
            )
    extrapolate(measured, build_memory)
    for n, _, _, result in measured if args.shards > 1 else []:
        shard_scale.run(n, args.shards, result["nprobe"], papers, titles,
                        build_memory=build_memory, queries=args.queries)  # fmt: skip
        if n == args.serve_size:
            shard_ray.run(n, args.shards, result["nprobe"], papers, titles, args.queries)
    if not args.skip_keywords:
        homes = {n: (CACHE / f"scale-{n}", result["nprobe"]) for n, _, _, result in measured}
        keyword_scale.report(papers, sorted(int(s) for s in args.keyword_sizes.split(",")),
                             homes, args)  # fmt: skip
    if not args.skip_ray:
        ray_against_local(papers)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "bench"))
    raise SystemExit(main())
