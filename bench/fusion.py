"""Benchmark: how hybrid mode fuses the semantic and keyword rankings, measured on SciFact.

    python bench/fusion.py                       # SQLite: builds (once) and measures
    python bench/fusion.py --database-url URL    # the same on a PostgreSQL server

Indexes ``../shared/data/scifact-train`` with all-MiniLM-L6-v2 (kept in
~/.cache/papersearch-bench/scifact, or a database ``bench_fusion_scifact`` on the
server), takes each query's semantic and keyword top 100 from the engine, and
prints nDCG@10 / Recall@100 / MRR@10 for reciprocal rank fusion at several k
and for a weighted sum of min-max normalised scores at several weights.
papersearch's hybrid mode uses the winner (``search/fusion.py``); docs/search.md
reports the tables.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from workload import CACHE, SHARED, minilm_settings

SCIFACT = SHARED / "scifact-train"


def bench_database(server_url: str) -> str:
    """The URL of the benchmark's database on ``server_url``, made when missing (it is kept,
    so that the corpus is embedded once)."""
    from sqlalchemy import create_engine, make_url, text

    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = 'bench_fusion_scifact'")
        )
        if not exists:
            conn.execute(text("CREATE DATABASE bench_fusion_scifact"))
    admin.dispose()
    return make_url(server_url).set(database="bench_fusion_scifact").render_as_string(False)


def weighted(semantic, keyword, alpha: float) -> list[int]:
    """alpha · semantic + (1 − alpha) · keyword, each min-max normalised per query."""

    def normalised(pairs, higher_is_better: bool) -> dict[int, float]:
        if not pairs:
            return {}
        values = np.array([v for _, v in pairs], dtype=float)
        values = values if higher_is_better else -values
        span = values.max() - values.min()
        scaled = (values - values.min()) / span if span > 0 else np.ones_like(values)
        return {i: float(s) for (i, _), s in zip(pairs, scaled, strict=True)}

    sem = normalised(semantic, higher_is_better=False)  # distances
    kw = normalised(keyword, higher_is_better=True)  # negated bm25
    ids = set(sem) | set(kw)
    score = {i: alpha * sem.get(i, 0.0) + (1 - alpha) * kw.get(i, 0.0) for i in ids}
    return sorted(ids, key=lambda i: (-score[i], i))


def rrf(semantic, keyword, k: int) -> list[int]:
    score: dict[int, float] = {}
    for ranking in (semantic, keyword):
        for rank, (i, _) in enumerate(ranking, start=1):
            score[i] = score.get(i, 0.0) + 1 / (k + rank)
    return sorted(score, key=lambda i: (-score[i], i))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a PostgreSQL server (a database is made on it)")
    args = parser.parse_args()
    if not SCIFACT.exists():
        print(f"skipped: {SCIFACT} not found (the shared data directory)")
        return 0
    from indexer.pipeline import index_corpus
    from search.engine import SearchEngine
    from search.evaluation import measure, read_judged
    from search.filters import Filters
    from search.fusion import FUSION_DEPTH
    from search.keywords import parse_keywords, semantic_text
    from search.store import Store

    settings = minilm_settings(home=CACHE / "scifact")
    if args.database_url:
        settings = settings.replace(home=CACHE / "scifact-postgres",
                                    database_url=bench_database(args.database_url))  # fmt: skip
    store = Store.open(settings, migrate=True)
    if store.builds.current() is None:
        print("indexing SciFact train with all-MiniLM-L6-v2 (once)", flush=True)
        index_corpus(settings, [SCIFACT / "corpus.jsonl.gz"], progress=True)
    engine = SearchEngine.open(settings)
    judged = read_judged(SCIFACT / "queries.jsonl", SCIFACT / "qrels.tsv")
    external = engine.store.papers.external_ids()
    pairs = {}
    for query_id, text in judged.queries.items():
        vector = engine.encoder.encode_query(semantic_text(text))
        semantic = engine._nearest(vector, FUSION_DEPTH)
        keyword, _ = engine.store.fulltext.rank(parse_keywords(text), FUSION_DEPTH, Filters())
        pairs[query_id] = (semantic, keyword)

    def report(label: str, fuse) -> None:
        runs = {q: [external[i] for i in fuse(s, k)][:100] for q, (s, k) in pairs.items()}
        m = measure(runs, judged.qrels)
        print(f"  {label:<28}{m['ndcg@10']:>9.4f}{m['recall@100']:>9.4f}{m['mrr@10']:>9.4f}")

    store_name = "PostgreSQL" if args.database_url else "SQLite"
    print(f"\n{len(judged.queries)} SciFact train queries, {len(external):,} papers on "
          f"{store_name}, top {FUSION_DEPTH} of each ranking fused")  # fmt: skip
    print(f"  {'fusion':<28}{'nDCG@10':>9}{'R@100':>9}{'MRR@10':>9}")
    report("semantic only", lambda s, k: [i for i, _ in s])
    report("keyword only", lambda s, k: [i for i, _ in k])
    for k in (10, 30, 60, 100):
        report(f"RRF k={k}", lambda s, kw, k=k: rrf(s, kw, k))
    for alpha in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7):
        report(f"weighted, semantic {alpha:.1f}", lambda s, kw, a=alpha: weighted(s, kw, a))
    return 0


if __name__ == "__main__":
    sys.exit(main())
