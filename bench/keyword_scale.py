"""Keyword and hybrid search at scale, for ``bench/scale.py``.

The papers are the shared arXiv corpus (74,728 real records) replicated to the size
asked: every copy gets new ids, and each copy after the first drops about 5% of its
abstract's words (seeded), so that copies are near-duplicates rather than identical
texts that tie on every score. This is the acceptable stand-in the issue names: real
text, real vocabulary and lengths, a corpus that is larger than any one machine here
holds. The keyword index is written by the indexer's own code (``write_fresh``) in a
child process, whose peak RSS is the kernel's count.

Queries are arXiv titles, as users paste them: every word OR'ed (stopwords dropped),
the top 100 and the count of matches, exactly as keyword mode asks; hybrid runs
through the engine (query encoding, the FAISS build of ``scale.py`` of the same size,
fusion, the page's papers read from the store).
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from workload import CACHE, peak_rss, percentile_ms

BATCH = 5000
DROP = 0.05  # share of abstract words a copy drops


def replicated(records: list, n: int) -> Iterator[list]:
    """``n`` papers as the keyword index holds them (``PaperText``), ids 1..n."""
    from search.keyword_index.documents import PaperText
    from search.query.filter_keys import author_keys, category_keys

    batch = []
    for paper_id in range(1, n + 1):
        copy, record = divmod(paper_id - 1, len(records))
        r = records[record]
        abstract = r.abstract or ""
        if copy:
            rng = random.Random(paper_id)
            abstract = " ".join(w for w in abstract.split() if rng.random() >= DROP)
        batch.append(PaperText(paper_id, r.title, abstract, list(r.authors), r.year, r.venue,
                               category_keys(r.categories), author_keys(r.authors)))  # fmt: skip
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def index_dir(n: int) -> Path:
    return CACHE / f"keywords-{n}"


def build(n: int) -> dict:
    """The keyword index of ``n`` papers (made once, in a child process): its seconds,
    bytes a paper and the child's peak RSS."""
    from search.keyword_index.documents import FORMAT, Manifest

    directory = index_dir(n)
    report = directory / "bench-report.json"
    if report.exists() and Manifest.read(directory).format == FORMAT:
        return json.loads(report.read_text())
    if directory.exists():
        shutil.rmtree(directory)
    proc = subprocess.Popen([sys.executable, __file__, str(n), str(directory)],
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    out = proc.stdout.read()
    if proc.wait() != 0:
        raise SystemExit(f"the keyword index build of {n:,} papers failed")
    child = json.loads(out.strip().splitlines()[-1])
    size = sum(f.stat().st_size for f in directory.iterdir())
    result = {"papers": n, "seconds": child["seconds"], "bytes_per_paper": size / n,
              "peak_rss": child["peak_rss"]}  # fmt: skip
    report.write_text(json.dumps(result))
    return result


def _child(n: int, directory: Path) -> None:
    from workload import read_arxiv

    from indexer.keyword_index import finish, write_fresh

    records = read_arxiv()
    directory.mkdir(parents=True)
    started = time.perf_counter()
    write_fresh(directory, replicated(records, n))
    ids = np.arange(1, n + 1, dtype=np.int64)
    finish(directory, ids, np.zeros(n, dtype=np.int64), None, 0)
    print(json.dumps({"seconds": time.perf_counter() - started, "peak_rss": peak_rss()}))


def keyword_latency(n: int, titles: list[str], *, count: bool = True) -> dict:
    """p50 and p95 of keyword mode's query (top 100 and, with ``count``, the matches)."""
    from search.keyword_index import KeywordIndex, queries
    from search.query.filters import Filters
    from search.query.keywords import parse_keywords

    index = KeywordIndex(index_dir(n))
    parsed = [parse_keywords(t) for t in titles]
    for query in parsed[:20]:  # warm the page cache
        index.rank(query, 100)
    seconds, matched = [], []
    for query in parsed:
        started = time.perf_counter()
        if count:
            matched.append(index.rank(query, 100)[1])
        else:  # the same top 100, without counting the matches
            built = queries.ranking(query, Filters())
            index.parts[0].searcher().search(built, 100, count=False)
        seconds.append(time.perf_counter() - started)
    result = {"p50": percentile_ms(seconds, 50), "p95": percentile_ms(seconds, 95)}
    if matched:
        result["matched"] = float(np.median(matched)) / n
    return result


def keyword_throughput(n: int, titles: list[str]) -> dict:
    """Queries a second from one thread and from two sharing one index. tantivy-py has no
    multi-threaded search within a query, but releases the GIL while Tantivy searches:
    a server's threads (gunicorn's, the engine's) search side by side."""
    from concurrent.futures import ThreadPoolExecutor

    from search.keyword_index import KeywordIndex
    from search.query.keywords import parse_keywords

    index = KeywordIndex(index_dir(n))
    parsed = [parse_keywords(t) for t in titles]
    rates = {}
    for threads in (1, 2):
        started = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda q: index.rank(q, 100), parsed))
        rates[threads] = len(parsed) / (time.perf_counter() - started)
    return rates


def fts5_latency(records: list, n: int, titles: list[str]) -> dict:
    """The FTS5 path before keyword indexes (``fts5.py``) over the same ``n`` papers."""
    from fts5 import Fts5

    path = CACHE / f"fts5-{n}.sqlite3"
    done = path.with_suffix(".done")
    if not done.exists():
        path.unlink(missing_ok=True)
        fts = Fts5(path)
        for batch in replicated(records, n):
            fts.add((p.id, p.title, p.abstract or "", " ".join(p.authors)) for p in batch)
        done.write_text("ok")
    fts = Fts5(path)
    fts.rank(titles[0], 100)  # warm
    seconds = []
    for title in titles:
        started = time.perf_counter()
        fts.rank(title, 100)
        seconds.append(time.perf_counter() - started)
    return {"p50": percentile_ms(seconds, 50), "p95": percentile_ms(seconds, 95)}


def hybrid_latency(home: Path, n: int, nprobe: int, titles: list[str]) -> dict:
    """p50 and p95 of a hybrid first page through the engine over ``home`` (scale.py's
    store and FAISS build of ``n`` papers) and the keyword index of ``n`` papers."""
    import faiss
    import sqlalchemy
    from workload import minilm_settings

    from search.ann.faiss_index import VectorIndex
    from search.engine.engine import SearchEngine
    from search.keyword_index import KeywordIndex
    from search.model.encoder import Encoder
    from search.store import Store
    from search.store.schema import IndexBuild

    settings = minilm_settings(home=home)
    store = Store.open(settings, migrate=True)
    served = home / "served-by-build-1"
    if not served.exists():  # the bench store's papers, held by a build 1 of its own
        with store.sessions.begin() as session:
            session.execute(sqlalchemy.text("UPDATE papers SET first_build = 1"))
        served.write_text("ok")
    path = settings.builds_dir / "bench.faiss"
    lists = path.with_suffix(".ivfdata")
    index = VectorIndex.read(path, nprobe, lists_file=lists if lists.exists() else None)
    encoder = Encoder.load(settings)  # queries as a server encodes them
    build = IndexBuild(id=1, nprobe=nprobe, **encoder.info.build_fields())
    engine = SearchEngine(settings, store, build, index, KeywordIndex(index_dir(n)), encoder)
    faiss.omp_set_num_threads(1)  # a server thread
    for title in titles[:20]:
        engine.search(title, k=10, mode="hybrid")
    seconds = []
    for title in titles[20:]:
        started = time.perf_counter()
        engine.search(title, k=10, mode="hybrid")
        seconds.append(time.perf_counter() - started)
    return {"p50": percentile_ms(seconds, 50), "p95": percentile_ms(seconds, 95)}


def report(records: list, sizes: list[int], hybrid_homes: dict, args) -> None:
    """Print keyword and hybrid search at each size, growth against the first, and the
    FTS5 path at ``args.fts5_size`` in the same run."""
    rng = random.Random(11)
    titles = [records[i].title for i in rng.sample(range(len(records)), args.queries)]
    rows = {}
    for n in sizes:
        built = build(n)
        rows[n] = {**built, "keyword": keyword_latency(n, titles),
                   "uncounted": keyword_latency(n, titles, count=False),
                   "throughput": keyword_throughput(n, titles)}  # fmt: skip
        if n in hybrid_homes:
            home, nprobe = hybrid_homes[n]
            rows[n]["hybrid"] = hybrid_latency(home, n, nprobe, titles)
        _print_row(n, rows[n], rows[sizes[0]])
    few = titles[: args.fts5_queries]
    fts5 = fts5_latency(records, args.fts5_size, few)
    build(args.fts5_size)
    ours = keyword_latency(args.fts5_size, few)
    print(f"\nat {args.fts5_size:,} papers, {len(few)} titles, the same run: FTS5 (before) p50 "
          f"{fts5['p50']:.0f} ms, p95 {fts5['p95']:.0f} ms; keyword index p50 {ours['p50']:.1f} "
          f"ms, p95 {ours['p95']:.1f} ms: {fts5['p50'] / ours['p50']:.0f}x and "
          f"{fts5['p95'] / ours['p95']:.0f}x faster (goal: 50x)")  # fmt: skip
    largest = rows[max(sizes)]
    print(
        f"at {max(sizes):,} papers: keyword p95 {largest['keyword']['p95']:.0f} ms (goal 250), "
        f"hybrid p95 {largest.get('hybrid', {}).get('p95', float('nan')):.0f} ms (goal 300)"
    )


def _print_row(n: int, row: dict, first: dict) -> None:
    keyword, uncounted = row["keyword"], row["uncounted"]
    print(f"\n{n:,} papers: keyword index written in {row['seconds']:.0f} s "
          f"({n / row['seconds']:,.0f} papers/s), {row['bytes_per_paper']:.0f} bytes/paper, "
          f"peak RSS {row['peak_rss'] / 1e9:.2f} GB")  # fmt: skip
    print(f"  keyword: p50 {keyword['p50']:.1f} ms, p95 {keyword['p95']:.1f} ms (the median "
          f"query matches {100 * keyword['matched']:.0f}% of the papers); without counting "
          f"the matches p50 {uncounted['p50']:.1f} ms, p95 {uncounted['p95']:.1f} ms")  # fmt: skip
    rates = row["throughput"]
    print(
        f"  keyword queries a second: 1 thread {rates[1]:.0f}, 2 threads on one index "
        f"{rates[2]:.0f} ({rates[2] / rates[1]:.2f}x)"
    )
    if "hybrid" in row:
        print(f"  hybrid (first page): p50 {row['hybrid']['p50']:.1f} ms, "
              f"p95 {row['hybrid']['p95']:.1f} ms")  # fmt: skip
    if n != first["papers"]:
        grow = n / first["papers"]
        print(f"  against {first['papers']:,} papers ({grow:.1f}x the papers): keyword p95 "
              f"{keyword['p95'] / first['keyword']['p95']:.1f}x, bytes/paper "
              f"{row['bytes_per_paper'] / first['bytes_per_paper']:.2f}x, build time "
              f"{row['seconds'] / first['seconds']:.1f}x")  # fmt: skip


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    _child(int(sys.argv[1]), Path(sys.argv[2]))
