"""Benchmark: how hybrid mode fuses the semantic and keyword rankings, per collection.

    python bench/fusion.py                       # SQLite: builds (once) and measures
    python bench/fusion.py --database-url URL    # the same on a PostgreSQL server

Indexes each dev collection of ``../shared/data`` (SciFact train, Cranfield) with
all-MiniLM-L6-v2 (kept in ~/.cache/papersearch-bench/<collection>, or a database
``bench_fusion_<collection>`` on the server), takes each query's semantic and keyword
top 100 from the engine, and prints, per collection, nDCG@10 / Recall@100 /
MRR@10 of each mode, of papersearch's hybrid (``search.ranking.fusion.fuse_scores``) and of
the alternatives it was chosen over (reciprocal rank fusion, fixed weights), and of
the same fusion on the keyword ranking papersearch had before keyword indexes
(SQLite's FTS5, rebuilt by ``fts5.py`` over the same papers, in the same run). The
last lines are each rule's worst case over the collections: nDCG@10 of hybrid /
max(semantic, keyword), which must stay ≥ 0.99; and hybrid against hybrid on FTS5.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from workload import CACHE, SHARED, minilm_settings

COLLECTIONS = ("scifact-train", "cranfield")
GOAL = 0.005  # hybrid may lose no more nDCG@10 than this against hybrid on FTS5


def bench_database(server_url: str, name: str) -> str:
    """The URL of the benchmark's database ``name`` on ``server_url``, made when missing
    (it is kept, so that the corpus is embedded once)."""
    from sqlalchemy import create_engine, make_url, text

    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(False)


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
    kw = normalised(keyword, higher_is_better=True)
    ids = set(sem) | set(kw)
    score = {i: alpha * sem.get(i, 0.0) + (1 - alpha) * kw.get(i, 0.0) for i in ids}
    return sorted(ids, key=lambda i: (-score[i], i))


def rrf(semantic, keyword, k: int) -> list[int]:
    score: dict[int, float] = {}
    for ranking in (semantic, keyword):
        for rank, (i, _) in enumerate(ranking, start=1):
            score[i] = score.get(i, 0.0) + 1 / (k + rank)
    return sorted(score, key=lambda i: (-score[i], i))


def collect(name: str, database_url: str | None):
    """(judged queries, {query id: (semantic pairs, keyword pairs, keyword query, papers
    matching the words)}, {paper id: external id}, the engine) for collection ``name``,
    indexed once."""
    from fts5 import Fts5

    from indexer.build_lifecycle import add_keyword_index, keyword_index_outdated
    from indexer.pipeline import index_corpus
    from search.engine.engine import SearchEngine
    from search.engine.evaluation import fit_query, read_judged
    from search.query.keywords import parse_keywords, semantic_text
    from search.ranking.fusion import FUSION_DEPTH
    from search.store import Store

    root = SHARED / name
    settings = minilm_settings(home=CACHE / name.split("-")[0])
    if database_url:
        database = bench_database(database_url, f"bench_fusion_{name.split('-')[0]}")
        settings = settings.replace(home=CACHE / f"{name.split('-')[0]}-postgres",
                                    database_url=database)  # fmt: skip
    store = Store.open(settings, migrate=True)
    current = store.builds.current()
    if current is None:
        print(f"indexing {name} with all-MiniLM-L6-v2 (once)", flush=True)
        index_corpus(settings, [root / "corpus.jsonl.gz"], progress=True)
    elif keyword_index_outdated(store, current):  # by a release before this index format
        add_keyword_index(store, settings, current)  # as `papersearch db upgrade` does
    engine = SearchEngine.open(settings)
    with tempfile.TemporaryDirectory(prefix="papersearch-fusion-fts5-") as scratch:
        before = Fts5(Path(scratch) / "fts.sqlite3")
        papers = engine.store.papers.get_many(engine.store.papers.external_ids()).values()
        before.add((p.id, p.title, p.abstract or "", " ".join(p.authors or [])) for p in papers)
        judged = read_judged(root / "queries.jsonl", root / "qrels.tsv")
        encoder = engine.encoder
        pairs = {}
        for query_id, raw in judged.queries.items():
            text = fit_query(raw, encoder.count_tokens, encoder.max_length)
            keywords = parse_keywords(text)
            semantic = engine.retriever.nearest(
                encoder.encode_query(semantic_text(text)), FUSION_DEPTH
            )
            keyword, _ = engine.keywords.rank(keywords, FUSION_DEPTH)
            pairs[query_id] = (semantic, keyword, keywords, before.rank(text, FUSION_DEPTH)[0])
    return judged, pairs, engine.store.papers.external_ids(), engine


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a PostgreSQL server (databases are made on it)")
    parser.add_argument("--collections", default=",".join(COLLECTIONS))
    args = parser.parse_args()
    from search.engine.evaluation import measure
    from search.ranking.fusion import FUSION_DEPTH, fuse_scores, semantic_weight

    rules = {
        "semantic only": lambda s, k, q, b: [i for i, _ in s],
        "keyword only": lambda s, k, q, b: [i for i, _ in k],
        "papersearch hybrid": lambda s, k, q, b: [
            i for i, _, _ in fuse_scores(s, k, semantic_weight(q.word_count))
        ],
        "FTS5 keyword only (before)": lambda s, k, q, b: [i for i, _ in b],
        "hybrid on FTS5 (before)": lambda s, k, q, b: [
            i for i, _, _ in fuse_scores(s, b, semantic_weight(q.word_count))
        ],
        **{f"RRF k={c}": (lambda s, k, q, b, c=c: rrf(s, k, c)) for c in (10, 60)},
        **{
            f"fixed weights, semantic {a:.1f}": (lambda s, k, q, b, a=a: weighted(s, k, a))
            for a in (0.3, 0.4, 0.5, 0.6, 0.7)
        },
    }
    ratios: dict[str, list[float]] = {rule: [] for rule in rules}
    changes: dict[str, tuple[float, float]] = {}
    store_name = "PostgreSQL" if args.database_url else "SQLite"
    for name in args.collections.split(","):
        if not (SHARED / name).exists():
            print(f"skipped: {SHARED / name} not found (the shared data directory)")
            continue
        judged, pairs, external, _ = collect(name, args.database_url)
        print(f"\n{name}: {len(judged.queries)} queries, {len(external):,} papers on "
              f"{store_name}, top {FUSION_DEPTH} of each ranking fused")  # fmt: skip
        print(f"  {'fusion':<28}{'nDCG@10':>9}{'R@100':>9}{'MRR@10':>9}{'/ best':>9}")
        scores = {}
        for rule, fuse in rules.items():
            runs = {
                q: [(external[i], -rank) for rank, i in enumerate(fuse(*p)[:100])]
                for q, p in pairs.items()
            }
            scores[rule] = measure(runs, judged.qrels)
        best = max(scores["semantic only"]["nDCG@10"], scores["keyword only"]["nDCG@10"])
        changes[name] = (scores["papersearch hybrid"]["nDCG@10"],
                         scores["hybrid on FTS5 (before)"]["nDCG@10"])  # fmt: skip
        for rule, m in scores.items():
            ratio = m["nDCG@10"] / best if best else 0.0
            ratios[rule].append(ratio)
            print(f"  {rule:<28}{m['nDCG@10']:>9.4f}{m['R@100']:>9.4f}"
                  f"{m['RR@10']:>9.4f}{ratio:>9.3f}")  # fmt: skip
    if any(ratios.values()):
        print("\nworst case over the collections, nDCG@10 / max(semantic, keyword):")
        for rule, values in ratios.items():
            if "only" not in rule and values:
                print(f"  {rule:<28}{min(values):>9.3f}")
        print(f"\nhybrid against hybrid on the FTS5 ranking (before), nDCG@10 "
              f"(goal: no drop of more than {GOAL}):")  # fmt: skip
        for name, (now, then) in changes.items():
            verdict = "met" if now - then >= -GOAL else "MISSED"
            print(f"  {name:<16}{now:.4f} against {then:.4f}  {now - then:+.4f}  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
