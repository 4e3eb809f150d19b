"""Benchmark: keyword ranking against reference BM25s and today's numbers, on judged
collections, short queries and long ones.

    python bench/keyword.py [--database-url postgresql+psycopg://...]

For SciFact (train), Cranfield and Cranfield's longest quarter of queries (the
long-query dev set: natural-language requests of 15 words and more) from
../shared/data: papersearch's keyword mode (the build's keyword index, exactly what
`search --mode keyword` runs, without the encoder) against two references, bm25s
(default parameters) on the same title + abstract text with and without its English
stopword list, and against the keyword ranking that the database's full-text
index gave before keyword indexes (SQLite's FTS5 as it ran at commit 871f263,
rebuilt by ``fts5.py`` and measured in the same run). Scored by ir-measures:
nDCG@10 and R@100, and the p50 per query. The papers are stored in SQLite, or in
PostgreSQL with ``--database-url``: the keyword index is written from either by the
same code, and the script says whether the two rank alike.

Needs no model: the papers are stored, not embedded. bm25s is the ``bench`` extra.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from workload import SHARED

COLLECTIONS = ("scifact-train", "cranfield", "cranfield-long")
LONG_SHARE = 0.25  # the longest quarter of a collection's queries: its long-query set
MEASURES = ("nDCG@10", "R@100")
DEPTH = 100
# nDCG@10 of keyword mode on SQLite's FTS5, before the keyword index (this script at 871f263).
BEFORE = {"scifact-train": 0.7013, "cranfield": 0.3707}
GOAL = 0.005  # keyword mode may trail a reference, or the numbers before, by no more


def load(collection: str):
    """(paper records, judged queries) of a collection; ``NAME-long``: its longest queries."""
    from indexer.readers import read_corpus
    from search.engine.evaluation import read_judged
    from search.store.records import PaperRecord

    name = collection.removesuffix("-long")
    root = SHARED / name
    records = [r for _, r in read_corpus(root / "corpus.jsonl.gz") if isinstance(r, PaperRecord)]
    judged = read_judged(root / "queries.jsonl", root / "qrels.tsv")
    if collection.endswith("-long"):
        by_length = sorted(judged.queries, key=lambda q: (-len(judged.queries[q].split()), q))
        kept = set(by_length[: round(len(by_length) * LONG_SHARE)])
        judged = dataclasses.replace(
            judged, queries={q: t for q, t in judged.queries.items() if q in kept},
            qrels={q: j for q, j in judged.qrels.items() if q in kept},
        )  # fmt: skip
    return records, judged


def keyword_index(records, database_url: str | None, name: str):
    """The records stored (SQLite, or a fresh PostgreSQL database) and their keyword index
    written by the indexer's own code: (the index, {paper id: external id})."""
    from indexer import keyword_index as writer
    from search.base.settings import Settings
    from search.keyword_index import KeywordIndex
    from search.store import Store

    home = Path(tempfile.mkdtemp(prefix=f"papersearch-keyword-{name}-"))
    url = bench_database(database_url, f"bench_keyword_{name}") if database_url else ""
    settings = Settings(home=home, database_url=url)
    store = Store.open(settings, migrate=True)
    for start in range(0, len(records), 1000):
        store.papers.upsert(records[start : start + 1000])
    external = store.papers.external_ids()
    ids = np.asarray(sorted(external), dtype=np.int64)
    settings.builds_dir.mkdir(parents=True, exist_ok=True)
    written = writer.write(store, settings, 1, ids, store.texts.content_hashes(ids))
    return KeywordIndex(settings.builds_dir / written.name), external


def bench_database(database_url: str, database: str) -> str:
    """A fresh database of that name on the server, its URL."""
    from sqlalchemy import create_engine, make_url, text

    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    return make_url(database_url).set(database=database).render_as_string(hide_password=False)


def papersearch_run(index, external, judged) -> tuple[dict, list[float]]:
    from search.query.keywords import parse_keywords

    run, seconds = {}, []
    for query_id, text in judged.queries.items():
        started = time.perf_counter()
        ranked, _ = index.rank(parse_keywords(text), DEPTH)
        seconds.append(time.perf_counter() - started)
        run[query_id] = {external[i]: score for i, score in ranked}
    return run, seconds


def fts5_run(records, judged) -> tuple[dict, list[float]]:
    """The ranking before keyword indexes (``fts5.Fts5``), scored; its times per query."""
    from fts5 import Fts5

    with tempfile.TemporaryDirectory(prefix="papersearch-fts5-") as scratch:
        fts = Fts5(Path(scratch) / "fts.sqlite3")
        fts.add([(i, r.title, r.abstract or "", " ".join(r.authors or []))
                 for i, r in enumerate(records)])  # fmt: skip
        run, seconds = {}, []
        for query_id, text in judged.queries.items():
            started = time.perf_counter()
            ranked, _ = fts.rank(text, DEPTH)
            seconds.append(time.perf_counter() - started)
            run[query_id] = {records[i].external_id: s for i, s in ranked}
        return score(run, judged), seconds


def bm25s_run(records, judged, stopwords: str | None) -> dict:
    import bm25s

    texts = [f"{r.title} {r.abstract or ''}" for r in records]
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stopwords=stopwords, show_progress=False),
                    show_progress=False)  # fmt: skip
    ids = list(judged.queries)
    tokens = bm25s.tokenize([judged.queries[q] for q in ids], stopwords=stopwords,
                            show_progress=False)  # fmt: skip
    docs, scores = retriever.retrieve(tokens, k=DEPTH, show_progress=False)
    return {
        q: {records[d].external_id: float(s) for d, s in zip(docs[i], scores[i], strict=True)}
        for i, q in enumerate(ids)
    }


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
    args = parser.parse_args()
    if not (SHARED / COLLECTIONS[0]).exists():
        print(f"skipped: {SHARED} has no judged collections")
        return 0
    store_name = "PostgreSQL" if args.database_url else "SQLite"
    print(f"keyword ranking: papersearch's keyword index (papers stored in {store_name}) "
          "against bm25s and the FTS5 ranking before it; ir-measures")  # fmt: skip
    print(f"{'collection':<16}{'system':<36}{'nDCG@10':>9}{'R@100':>9}{'p50 ms':>9}")
    verdicts = []
    for collection in COLLECTIONS:
        records, judged = load(collection)
        index, external = keyword_index(records, args.database_url, collection.replace("-", "_"))
        references = {}
        for label, stopwords in (("bm25s, no stopwords", None), ("bm25s, English stopwords", "en")):
            got = score(bm25s_run(records, judged, stopwords), judged)
            references[label] = got["nDCG@10"]
            print(f"{collection:<16}{label:<36}{got['nDCG@10']:9.4f}{got['R@100']:9.4f}",
                  flush=True)  # fmt: skip
        got, seconds = fts5_run(records, judged)
        references["FTS5 before"] = got["nDCG@10"]
        print(f"{collection:<16}{'FTS5 before (SQLite, 871f263)':<36}{got['nDCG@10']:9.4f}"
              f"{got['R@100']:9.4f}{statistics.median(seconds) * 1000:9.2f}")  # fmt: skip
        if collection in BEFORE:
            print(f"{'':<16}  (this script measured FTS5 at {BEFORE[collection]:.4f} at 871f263)")
        papersearch_run(index, external, judged)  # warm the page cache
        run, seconds = papersearch_run(index, external, judged)
        got = score(run, judged)
        p50 = statistics.median(seconds) * 1000
        print(f"{'':<16}{'papersearch keyword':<36}{got['nDCG@10']:9.4f}{got['R@100']:9.4f}"
              f"{p50:9.2f}", flush=True)  # fmt: skip
        for label, value in references.items():
            gap = got["nDCG@10"] - value
            if label != "bm25s, no stopwords":
                verdicts.append((collection, label, gap, gap >= -GOAL))
            print(f"{'':<16}  {gap:+.4f} against {label}")
        if args.database_url:  # the same papers stored in SQLite: the same ranking?
            other, other_external = keyword_index(records, None, collection.replace("-", "_"))
            on_sqlite, _ = papersearch_run(other, other_external, judged)
            same = all(list(on_sqlite[q]) == list(run[q]) for q in run)
            print(f"{'':<16}  the same rankings as with the papers stored in SQLite: {same}")
    print(f"\ngoal: nDCG@10 no more than {GOAL} below bm25s with stopwords and below FTS5")
    for collection, label, gap, ok in verdicts:
        print(f"  {collection:<16}{label:<28}{gap:+.4f}  {'met' if ok else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
