"""Shards on Ray Serve against the same shards in this process, for ``bench/scale.py
--shards N``: what the Serve path adds to a query.

The build in shards is ``shard_scale``'s (a size's FAISS shards and keyword shards). Its
files are given the names of build 1 in a builds directory of their own (symlinks), with
their checksums, so that the replicas find and verify them as ``papersearch shards
deploy`` makes them do. Ray runs in this process's machine (``ray.init``) with every
shard's resource; the replicas are deployed by ``search.shards.cluster.deploy`` and
called through ``search.shards.remote``, the servers' own code. The same queries go to
both paths in turn: semantic, keyword and hybrid p50/p95, the difference per query, and
whether the answers are identical.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import shard_scale
from workload import CACHE, minilm_settings


def run(n: int, shards: int, nprobe: int, records: list, title_vectors, queries: int) -> None:
    """Deploy size ``n``'s shards on a local Ray, then compare and print."""
    import ray
    from ray import serve

    from indexer.build_lifecycle import part_checksums
    from search.ann.faiss_index import VectorIndex
    from search.keyword_index import KeywordIndex
    from search.shards import cluster, remote
    from search.store.schema import IndexBuild

    home = CACHE / f"scale-{n}"
    settings = minilm_settings(home=CACHE / f"ray-shards-{n}", shard_service="ray")
    files = _named_files(home, n, shards, settings.builds_dir)
    build = IndexBuild(id=1, shards=shards, nprobe=nprobe, path=files.index.name,
                       lists_path=None, keywords_path=files.keywords.name,
                       part_checksums=part_checksums(files))  # fmt: skip
    resources = {cluster.RESOURCE.format(s + 1): 1000 for s in range(shards)}
    ray.init(num_cpus=os.cpu_count(), resources=resources, namespace="papersearch",
             log_to_driver=False, include_dashboard=False)  # fmt: skip
    try:
        cluster.deploy(settings, build, replicas=1, say=lambda line: print(f"  {line}"))
        served = remote.open_served(settings, build, files)
        centroids, parts = shard_scale.faiss_files(home, shards)
        local = (VectorIndex.read_shards(centroids, parts, nprobe),
                 KeywordIndex(shard_scale.keyword_dirs(n, shards)))  # fmt: skip
        found = _compare(home, local, served, shard_scale._titles(records, queries),
                         title_vectors[:queries])  # fmt: skip
    finally:
        serve.shutdown()
        ray.shutdown()
    _report(n, shards, found)


def _named_files(home: Path, n: int, shards: int, builds: Path):
    """Build 1's file names in ``builds``, linked to the bench's files of size ``n``."""
    from search.store.build_files import BuildFiles

    files = BuildFiles.named(builds, 1, shards)
    files = BuildFiles(files.index, None, files.keywords, None, shards)
    centroids, parts = shard_scale.faiss_files(home, shards)
    links = [(files.index, centroids)]
    keywords = shard_scale.keyword_dirs(n, shards)
    for part, (index, lists), words in zip(files.parts(), parts, keywords, strict=True):
        if lists is not None:
            raise SystemExit("the Ray comparison runs on a build whose lists are in memory")
        links += [(part.index, index), (part.keywords, words)]
    builds.mkdir(parents=True, exist_ok=True)
    for link, target in links:
        if link.is_symlink():
            link.unlink()
        link.symlink_to(target)
    return files


def _compare(home: Path, local: tuple, served: tuple, titles: list[str], vectors) -> dict:
    from search.query.keywords import parse_keywords

    found = {}
    found["semantic"] = shard_scale._paired(lambda v: local[0].search(v[None, :], 10)[1][0],
                                            lambda v: served[0].search(v[None, :], 10)[1][0],
                                            vectors)  # fmt: skip
    found["keyword"] = shard_scale._paired(lambda q: local[1].rank(q, 100)[0],
                                           lambda q: served[1].rank(q, 100)[0],
                                           [parse_keywords(t) for t in titles])  # fmt: skip
    engines = [shard_scale._engine(home, *pair) for pair in (local, served)]
    found["hybrid"] = shard_scale._paired(
        *(lambda t, e=e: [(h.id, h.score) for h in e.search(t, k=10, mode="hybrid").results]
          for e in engines), titles)  # fmt: skip
    return found


def _report(n: int, shards: int, found: dict) -> None:
    print(f"\n{n:,} papers in {shards} shards, in this process against Ray Serve replicas "
          "(the same queries, in turn):")  # fmt: skip
    for mode, result in found.items():
        here, there = result["times"]
        same = np.mean([_same(a, b) for a, b in result["answers"]])
        print(f"  {mode:<8} p50 {here['p50']:6.2f} → {there['p50']:6.2f} ms (+"
              f"{there['p50'] - here['p50']:.2f}), p95 {here['p95']:6.2f} → {there['p95']:6.2f}"
              f" ms (+{there['p95'] - here['p95']:.2f}); answers identical: "
              f"{100 * same:.1f}%")  # fmt: skip


def _same(a, b) -> bool:
    return np.array_equal(np.asarray(a), np.asarray(b))
