"""Shards at scale, for ``bench/scale.py --shards N``: one build against the same build in
N shards, in one run on this machine.

The papers and vectors are ``scale.py``'s (a size's store, vector files and FAISS
build) and ``keyword_scale.py``'s (its replicated keyword index). The build in shards
is made from them by the indexer's own code: FAISS through ``indexer.ivf_shards`` on the
one-shard build's centroids (so both probe the same lists), each keyword shard by
``write_fresh`` over the papers ``shard_of`` puts in it, each in a child process.
Measured with the same title queries, each query on one and on N shards in turn (the
machine's noise falls on both), after a pass of them all: keyword and hybrid p50/p95
and their ratio, semantic top 10 identical or not, and the keyword and hybrid top 10s'
overlap.
"""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import keyword_scale
import numpy as np
from workload import CACHE, minilm_settings, peak_rss, percentile_ms

KEY = "bench-minilm"


def run(n: int, shards: int, nprobe: int, records: list, title_vectors, *, build_memory: int,
        queries: int) -> None:  # fmt: skip
    """Build what is missing of size ``n`` in ``shards``, then compare and print."""
    home = CACHE / f"scale-{n}"
    keyword_scale.build(n)
    build_keyword_shards(n, shards)
    build_faiss_shards(home, shards, build_memory)
    report(n, shards, compare(home, n, shards, nprobe, records, title_vectors, queries))


def keywords_only(n: int, shards: int, records: list, queries: int) -> None:
    """Keyword mode alone, one index against its ``shards`` (no vectors needed)."""
    keyword_scale.build(n)
    build_keyword_shards(n, shards)
    found = _keyword_pair(n, shards, _titles(records, queries), len(records))
    report(n, shards, {"keyword": found["times"], "keyword_overlap": found["overlap"],
                       "record_overlap": found["records"]})  # fmt: skip


def keyword_dirs(n: int, shards: int) -> list[Path]:
    return [CACHE / f"keywords-{n}.shard-{s + 1}-of-{shards}" for s in range(shards)]


def build_keyword_shards(n: int, shards: int) -> list[Path]:
    """Each keyword shard of ``n`` replicated papers, written once, a child process each."""
    dirs = keyword_dirs(n, shards)
    for shard, directory in enumerate(dirs):
        if (directory / "papersearch.json").exists():
            continue
        started = time.perf_counter()
        _child_run(["keywords", str(n), str(shard), str(shards), str(directory)])
        print(f"  keyword shard {shard + 1}/{shards} of {n:,} written in "
              f"{time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip
    return dirs


def faiss_files(home: Path, shards: int) -> tuple[Path, list[tuple[Path, Path | None]]]:
    """(the shared centroids, each shard's (index, lists)) of ``home``'s build in shards."""
    builds = minilm_settings(home=home).builds_dir
    parts = []
    for s in range(shards):
        index = builds / f"bench.shard-{s + 1}-of-{shards}.faiss"
        lists = index.with_suffix(".ivfdata")
        parts.append((index, lists if lists.exists() else None))
    return builds / f"bench.centroids-{shards}.faiss", parts


def build_faiss_shards(home: Path, shards: int, build_memory: int) -> None:
    centroids, _ = faiss_files(home, shards)
    if not centroids.exists():
        started = time.perf_counter()
        _child_run(["faiss", str(home), str(shards), str(build_memory)])
        print(f"  FAISS in {shards} shards built in {time.perf_counter() - started:.0f} s",
              flush=True)  # fmt: skip


def compare(home: Path, n: int, shards: int, nprobe: int, records: list, title_vectors,
            queries: int) -> dict:  # fmt: skip
    """One build against its N shards: semantic, keyword and hybrid, query by query."""
    import faiss

    from search.ann.faiss_index import VectorIndex

    titles = _titles(records, queries)
    faiss.omp_set_num_threads(1)  # a server thread; the shards' pool adds the others
    path = minilm_settings(home=home).builds_dir / "bench.faiss"
    lists = path.with_suffix(".ivfdata")
    one = VectorIndex.read(path, nprobe, lists_file=lists if lists.exists() else None)
    centroids, parts = faiss_files(home, shards)
    many = VectorIndex.read_shards(centroids, parts, nprobe)
    vectors = title_vectors[:queries]
    semantic = _paired(lambda v: one.search(v[None, :], 10)[1][0],
                       lambda v: many.search(v[None, :], 10)[1][0], vectors)  # fmt: skip
    identical = float(np.mean([np.array_equal(a, b) for a, b in semantic["answers"]]))
    keyword = _keyword_pair(n, shards, titles, len(records))
    engines = [_engine(home, index, kw) for index, kw in
               ((one, keyword["one"]), (many, keyword["many"]))]  # fmt: skip
    hybrid = _paired(*(lambda t, e=e: [h.id for h in e.search(t, k=10, mode="hybrid").results]
                       for e in engines), titles)  # fmt: skip
    return {"semantic": semantic["times"], "semantic_identical": identical,
            "keyword": keyword["times"], "keyword_overlap": keyword["overlap"],
            "record_overlap": keyword["records"], "hybrid": hybrid["times"],
            "hybrid_overlap": _overlap(hybrid["answers"], lambda i: i),
            "hybrid_records": _overlap(hybrid["answers"], lambda i: (i - 1) % len(records)),
            "hybrid_identical": float(np.mean([a == b for a, b in hybrid["answers"]]))}  # fmt: skip


def report(n: int, shards: int, found: dict) -> None:
    print(f"\n{n:,} papers, 1 shard against {shards} (the same queries, in turn):")
    for mode in ("keyword", "hybrid", "semantic"):
        if mode not in found:
            continue
        one, many = found[mode]
        print(f"  {mode:<8} p50 {one['p50']:7.1f} → {many['p50']:7.1f} ms, p95 "
              f"{one['p95']:7.1f} → {many['p95']:7.1f} ms: p95 ratio "
              f"{many['p95'] / one['p95']:.2f} (goal for keyword and hybrid: ≤ 0.6)")  # fmt: skip
    if "semantic_identical" in found:
        print(f"  semantic top 10 identical for {100 * found['semantic_identical']:.1f}% of "
              "the queries")  # fmt: skip
    if "hybrid_overlap" in found:
        print(f"  hybrid top 10 overlap with one index: {found['hybrid_overlap']:.3f} of the "
              f"papers, {found['hybrid_records']:.3f} of the records; identical for "
              f"{100 * found['hybrid_identical']:.1f}% of the queries")  # fmt: skip
    print(f"  keyword top 10 overlap with one index: {found['keyword_overlap']:.3f} of the "
          f"papers, {found['record_overlap']:.3f} of the records they copy (the replicated "
          "corpus's near-copies of one record score within a hair of each other)")  # fmt: skip


def _titles(records: list, queries: int) -> list[str]:
    """Arxiv titles as queries, the same ones ``keyword_scale`` asks."""
    rng = random.Random(11)
    return [records[i].title for i in rng.sample(range(len(records)), queries)]


def _keyword_pair(n: int, shards: int, titles: list[str], records: int) -> dict:
    """Keyword mode's top 100 on one index and on its shards, query by query; the top 10s'
    overlap by paper and by the record (of ``records``) each paper copies."""
    from search.keyword_index import KeywordIndex
    from search.query.keywords import parse_keywords

    one = KeywordIndex(keyword_scale.index_dir(n))
    many = KeywordIndex(keyword_dirs(n, shards))
    found = _paired(lambda q: [i for i, _ in one.rank(q, 100)[0]],
                    lambda q: [i for i, _ in many.rank(q, 100)[0]],
                    [parse_keywords(t) for t in titles])  # fmt: skip

    return {"times": found["times"], "overlap": _overlap(found["answers"], lambda i: i),
            "records": _overlap(found["answers"], lambda i: (i - 1) % records),
            "one": one, "many": many}  # fmt: skip


def _overlap(answers: list, copied) -> float:
    """The mean share of the first top 10 in the second, each paper as ``copied`` maps it."""
    return float(np.mean([len({copied(i) for i in a[:10]} & {copied(i) for i in b[:10]})
                          / max(len({copied(i) for i in a[:10]}), 1)
                          for a, b in answers]))  # fmt: skip


def _paired(first, second, items) -> dict:
    """Each item through ``first`` then ``second``, after a pass of every item through
    both: their answers and latencies. The pass maps the pages the queries read into the
    process, as a server that has run a while has them; the first touch of a mapped page
    is a page fault, and the threads of one process contend for the kernel's handling
    of them: shards searched at once while their pages fault in scale far worse."""
    for item in items:
        first(item), second(item)
    seconds: tuple[list, list] = ([], [])
    answers = []
    for item in items:
        pair = []
        for side, run in enumerate((first, second)):
            started = time.perf_counter()
            pair.append(run(item))
            seconds[side].append(time.perf_counter() - started)
        answers.append(pair)
    times = [{"p50": percentile_ms(s, 50), "p95": percentile_ms(s, 95)} for s in seconds]
    return {"answers": answers, "times": times}


def _engine(home: Path, index, keywords):
    from search.engine.engine import SearchEngine
    from search.model.encoder import Encoder
    from search.store import Store
    from search.store.schema import IndexBuild

    settings = minilm_settings(home=home)
    store = Store.open(settings, migrate=True)
    with sqlite3.connect(settings.sqlite_path) as db:  # the papers are build 1's: hits read them
        db.execute("UPDATE papers SET content_build = 1, first_build = 1 "
                   "WHERE content_build IS NULL")  # fmt: skip
    encoder = Encoder.load(settings)
    build = IndexBuild(id=1, nprobe=index.nprobe, **encoder.info.build_fields())
    return SearchEngine(settings, store, build, index, keywords, encoder)


def _child_run(args: list[str]) -> None:
    proc = subprocess.run([sys.executable, __file__, *args], stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"the child {args[0]} failed ({proc.returncode})")
    print(f"    {proc.stdout.strip().splitlines()[-1]}", flush=True)


def _keywords_child(n: int, shard: int, shards: int, directory: Path) -> None:
    from workload import read_arxiv

    from indexer.keyword_index import finish, write_fresh
    from search.store.build_files import shard_of

    records = read_arxiv()
    batches = ([p for p, s in zip(batch, shard_of(np.array([p.id for p in batch]), shards),
                                  strict=True) if s == shard]
               for batch in keyword_scale.replicated(records, n))  # fmt: skip
    ids = np.arange(1, n + 1, dtype=np.int64)
    ids = ids[shard_of(ids, shards) == shard]
    directory.mkdir(parents=True)
    started = time.perf_counter()
    write_fresh(directory, batches)
    finish(directory, ids, np.zeros(len(ids), dtype=np.int64), None, 0)
    print(json.dumps({"seconds": time.perf_counter() - started, "peak_rss": peak_rss()}))


def _faiss_child(home: Path, shards: int, build_memory: int) -> None:
    import faiss

    from indexer import ivf_shards
    from search.ann import faiss_index
    from search.store import Store

    faiss.omp_set_num_threads(2)
    settings = minilm_settings(home=home)
    source = Store.open(settings, migrate=True).vectors.live(KEY)
    path = settings.builds_dir / "bench.faiss"
    lists = path.with_suffix(".ivfdata")
    trained = faiss_index.VectorIndex.read(path, lists_file=lists if lists.exists() else None)
    centroids, parts = faiss_files(home, shards)
    started = time.perf_counter()
    built = ivf_shards.build_shards(source, shards, [p.with_suffix(".ivfdata") for p, _ in parts],
                                    build_memory=build_memory, trained=trained)  # fmt: skip
    for part, (file, _) in zip(built.parts, parts, strict=True):
        faiss_index.write(part, file)
    faiss_index.write(built.index, centroids)
    print(json.dumps({"seconds": time.perf_counter() - started, "peak_rss": peak_rss()}))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    kind, *rest = sys.argv[1:]
    if kind == "keywords":
        _keywords_child(int(rest[0]), int(rest[1]), int(rest[2]), Path(rest[3]))
    else:
        _faiss_child(Path(rest[0]), int(rest[1]), int(rest[2]))
