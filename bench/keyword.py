"""Benchmark: keyword ranking against a reference BM25, on judged collections.

    python bench/keyword.py [--database-url postgresql+psycopg://...] [--grid]

For SciFact (train) and Cranfield from ../shared/data: papersearch's keyword
mode (the store's full-text ranking, exactly what `search --mode keyword`
runs, without the encoder) against bm25s (default parameters, English
stopwords, the same title + abstract text), both scored by ir-measures:
nDCG@10 and R@100, and papersearch's p50 latency per query (a second pass,
with the word counts that a server remembers). The store is
SQLite by default; ``--database-url`` runs PostgreSQL's ranking instead (and
reports how far its top 10 agree with SQLite's), and ``--grid`` tries its
ts_rank weights and normalisations.

Needs no model: the papers are stored, not embedded.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
from pathlib import Path

from workload import SHARED

COLLECTIONS = ("scifact-train", "cranfield")
MEASURES = ("nDCG@10", "R@100")
DEPTH = 100


def load(collection: str):
    from indexer.readers import read_corpus
    from search.evaluation import read_judged
    from search.records import PaperRecord

    root = SHARED / collection
    records = [r for _, r in read_corpus(root / "corpus.jsonl.gz") if isinstance(r, PaperRecord)]
    judged = read_judged(root / "queries.jsonl", root / "qrels.tsv")
    return records, judged


def papersearch_store(records, database_url: str | None, name: str):
    from sqlalchemy import make_url

    from search.settings import Settings
    from search.store import Store

    home = Path(tempfile.mkdtemp(prefix=f"papersearch-keyword-{name}-"))
    url = ""
    if database_url:
        from sqlalchemy import create_engine, text

        admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
        database = f"bench_keyword_{name.replace('-', '_')}"
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{database}"'))
        url = make_url(database_url).set(database=database).render_as_string(hide_password=False)
    store = Store.open(Settings(home=home, database_url=url), migrate=True)
    for start in range(0, len(records), 1000):
        store.papers.upsert(records[start : start + 1000])
    return store


def papersearch_run(store, judged) -> tuple[dict, list[float]]:
    from search.filters import Filters
    from search.keywords import parse_keywords

    external = store.papers.external_ids()
    run, seconds = {}, []
    for query_id, text in judged.queries.items():
        keywords = parse_keywords(text)
        started = time.perf_counter()
        ranked = store.fulltext.rank(keywords, DEPTH, Filters())[0] if not keywords.empty else []
        seconds.append(time.perf_counter() - started)
        run[query_id] = {external[i]: score for i, score in ranked}
    return run, seconds


def bm25s_run(records, judged) -> dict:
    import bm25s

    texts = [f"{r.title} {r.abstract or ''}" for r in records]
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)
    ids = list(judged.queries)
    tokens = bm25s.tokenize([judged.queries[q] for q in ids], stopwords="en", show_progress=False)
    docs, scores = retriever.retrieve(tokens, k=DEPTH, show_progress=False)
    return {
        q: {records[d].external_id: float(s) for d, s in zip(docs[i], scores[i], strict=True)}
        for i, q in enumerate(ids)
    }


def top_overlap(left: dict, right: dict, k: int = 10) -> float:
    """Mean share of each query's top k that both runs hold."""

    def top(docs: dict) -> set[str]:
        return set(sorted(docs, key=docs.get, reverse=True)[:k])

    shares = [len(top(left[q]) & top(right.get(q, {}))) / max(len(top(left[q])), 1)
              for q in left]  # fmt: skip
    return statistics.mean(shares)


def score(run: dict, judged) -> dict[str, float]:
    import ir_measures

    qrels = [ir_measures.Qrel(q, d, rel) for q, docs in judged.qrels.items()
             for d, rel in docs.items()]  # fmt: skip
    scored = [ir_measures.ScoredDoc(q, d, s) for q, docs in run.items() for d, s in docs.items()]
    results = ir_measures.calc_aggregate([ir_measures.parse_measure(m) for m in MEASURES],
                                         qrels, scored)  # fmt: skip
    return {str(m): v for m, v in results.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a PostgreSQL server (a database is made on it)")
    parser.add_argument("--grid", action="store_true", help="PostgreSQL: try ts_rank variants")
    args = parser.parse_args()
    if not (SHARED / COLLECTIONS[0]).exists():
        print(f"skipped: {SHARED} has no judged collections")
        return 0
    store_name = "PostgreSQL" if args.database_url else "SQLite"
    print(f"keyword ranking, papersearch ({store_name}) against bm25s; ir-measures")
    print(f"{'collection':<15}{'system':<34}{'nDCG@10':>9}{'R@100':>9}{'p50 ms':>9}")
    for collection in COLLECTIONS:
        records, judged = load(collection)
        store = papersearch_store(records, args.database_url, collection)
        reference = score(bm25s_run(records, judged), judged)
        print(f"{collection:<15}{'bm25s (reference)':<34}{reference['nDCG@10']:9.4f}"
              f"{reference['R@100']:9.4f}{'':>9}", flush=True)  # fmt: skip
        variants = [("papersearch keyword", {})]
        if args.grid and args.database_url:
            from search.store import fulltext_postgres as pg

            weights = [(0.1, 0.2, 0.4, 1.0), (1.0, 1.0, 1.0, 1.0), (0.1, 0.2, 0.6, 1.0)]
            variants = [(f"w={w[1:]} norm={n}", {"RANK_WEIGHTS": w, "RANK_NORMALIZATION": n})
                        for w, n in itertools.product(weights, (1, 32))]  # fmt: skip
        for label, constants in variants:
            if constants:
                for name, value in constants.items():
                    setattr(pg, name, value)
                store = store.fresh()
            run, _ = papersearch_run(store, judged)  # word counts asked for the first time
            _, seconds = papersearch_run(store, judged)  # as a server runs: counts remembered
            got = score(run, judged)
            p50 = statistics.median(seconds) * 1000
            gap = got["nDCG@10"] - reference["nDCG@10"]
            print(f"{'':<15}{label:<34}{got['nDCG@10']:9.4f}{got['R@100']:9.4f}{p50:9.1f}"
                  f"   nDCG@10 {gap:+.4f} against the reference", flush=True)  # fmt: skip
        if args.database_url:  # the two stores' keyword rankings, side by side
            on_sqlite, _ = papersearch_run(papersearch_store(records, None, collection), judged)
            overlap = top_overlap(on_sqlite, run)
            print(f"{'':<15}top-10 overlap, SQLite and PostgreSQL keyword rankings: {overlap:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
