"""Benchmark: keyword rankings of a build in shards against one index, on the seven dev
collections.

    python bench/shard_keywords.py [--shards 2,3,8]

Each collection's papers are stored once and their keyword index written by the
indexer's own code (``indexer.keyword_index.write``) in one shard and in each count of
``--shards`` (papers split by ``shard_of``, as a build splits them). Keyword mode
(``search.engine.keyword_mode``, what ``search --mode keyword`` runs) ranks every judged
query on each; printed per collection and shard count: the mean overlap of the top 10
with one index's, the share of queries whose top 10 is identical, and nDCG@10 of both.
"own IDF" ranks the shards with each shard's own word statistics (merged by score), the
way shards rank without ``search.keyword_index.statistics.corpus_weights``: what the correction
buys. Semantic rankings need no such table: they are identical by construction, and
``tests/unit/test_shard_search.py`` holds them to it.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from pathlib import Path

import numpy as np
from workload import SHARED, keyword_bench

_keyword = keyword_bench()
PAGE, available, load, score = _keyword.PAGE, _keyword.available, _keyword.load, _keyword.score

DEPTH = 100


def indexes(records, counts: list[int]) -> tuple[dict, dict]:
    """({shard count: KeywordIndex}, {paper id: external id}) over one store."""
    from indexer import keyword_index as writer
    from search.base.settings import Settings
    from search.keyword_index import KeywordIndex
    from search.store import Store
    from search.store.build_files import BuildFiles

    home = Path(tempfile.mkdtemp(prefix="papersearch-shard-keywords-"))
    settings = Settings(home=home)
    store = Store.open(settings, migrate=True)
    for start in range(0, len(records), 1000):
        store.papers.upsert(records[start : start + 1000])
    external = store.papers.external_ids()
    ids = np.asarray(sorted(external), dtype=np.int64)
    hashes = store.texts.content_hashes(ids)
    settings.builds_dir.mkdir(parents=True, exist_ok=True)
    found = {}
    for build, shards in enumerate(counts, start=1):
        writer.write(store, settings, build, ids, hashes, shards=shards)
        files = BuildFiles.named(settings.builds_dir, build, shards)
        found[shards] = KeywordIndex([part.keywords for part in files.parts()])
    return found, external


def ranked(index, queries: dict[str, str], *, own_idf: bool = False) -> dict[str, list[int]]:
    """Keyword mode's top DEPTH ids per query; ``own_idf``: each shard on its own IDF."""
    from search.engine.keyword_mode import rank_by_keywords
    from search.keyword_index import statistics
    from search.query.plan import SearchPlan

    plain = statistics.corpus_weights
    if own_idf:  # every shard's term queries left unboosted
        statistics.corpus_weights = lambda weighed, statistics: [None] * len(statistics)
    try:
        run = {}
        for query_id, text in queries.items():
            plan = SearchPlan.of(text, PAGE, 0, "keyword", None, "relevance")
            found = rank_by_keywords(index, dataclasses.replace(plan, depth=DEPTH))
            run[query_id] = [i for i, _ in found.matches]
        return run
    finally:
        statistics.corpus_weights = plain


def compare(one: dict, many: dict) -> tuple[float, float]:
    """(mean overlap@10, share of identical top 10s)."""
    overlaps = [len(set(one[q][:10]) & set(many[q][:10])) / max(len(one[q][:10]), 1)
                for q in one]  # fmt: skip
    same = [one[q][:10] == many[q][:10] for q in one]
    return float(np.mean(overlaps)), float(np.mean(same))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shards", default="2,3,8")
    args = parser.parse_args()
    collections = available()
    if not collections:
        print(f"skipped: the dev collections are not under {SHARED}")
        return 0
    counts = [int(c) for c in args.shards.split(",")]
    print("collection      shards  overlap@10  same top 10  nDCG@10 (one index → shards)  "
          "own IDF: overlap@10  nDCG@10")  # fmt: skip
    totals: dict[int, list] = {n: [] for n in counts}
    for collection in collections:
        records, judged = load(collection)
        built, external = indexes(records, [1, *counts])
        one = ranked(built[1], judged.queries)
        base = score(_scored(one, external), judged.qrels)["nDCG@10"]
        for n in counts:
            many = ranked(built[n], judged.queries)
            own = ranked(built[n], judged.queries, own_idf=True)
            overlap, same = compare(one, many)
            own_overlap, _ = compare(one, own)
            ndcg = score(_scored(many, external), judged.qrels)["nDCG@10"]
            own_ndcg = score(_scored(own, external), judged.qrels)["nDCG@10"]
            totals[n].append((overlap, same, ndcg - base, own_overlap, own_ndcg - base))
            print(f"{collection:<15} {n:>6}  {overlap:>10.3f}  {same:>11.3f}  "
                  f"{base:.4f} → {ndcg:.4f} ({ndcg - base:+.4f})       {own_overlap:>10.3f}  "
                  f"{own_ndcg:.4f} ({own_ndcg - base:+.4f})", flush=True)  # fmt: skip
    for n, rows in totals.items():
        mean = np.mean(rows, axis=0)
        print(f"mean over {len(rows)} collections, {n} shards: overlap@10 {mean[0]:.3f}, "
              f"same top 10 {mean[1]:.3f}, nDCG@10 {mean[2]:+.4f}; own IDF: overlap@10 "
              f"{mean[3]:.3f}, nDCG@10 {mean[4]:+.4f}")  # fmt: skip
    return 0


def _scored(run: dict[str, list[int]], external: dict) -> dict:
    return {q: {external[i]: float(DEPTH - r) for r, i in enumerate(ids)} for q, ids in run.items()}


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    raise SystemExit(main())
