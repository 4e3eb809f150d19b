"""Benchmark: engine latency per search mode and filter on the 74,728-paper arXiv index.

    python bench/modes.py

Uses the index bench/query.py builds (all-MiniLM-L6-v2, cached in
~/.cache/papersearch-bench/query-74k). 100 corpus titles are searched one at a
time in each mode and with each filter; query vectors are encoded once
beforehand, so the numbers are the search itself (FAISS, the keyword index, SQL).
Filters are timed twice: the first use of a filter builds its id set in SQL,
later queries reuse it for the same index build.
"""

from __future__ import annotations

import sys
import time

from workload import ARXIV_74K, CACHE, minilm_settings, percentile_ms, read_arxiv


def main() -> int:
    if not ARXIV_74K.exists():
        print(f"skipped: {ARXIV_74K} not found (the shared data directory)")
        return 0
    from query import ensure_index

    from search.engine.engine import SearchEngine
    from search.query.filters import Filters

    home = CACHE / "query-74k"
    ensure_index(home, read_arxiv())
    engine = SearchEngine.open(minilm_settings(home=home))
    titles = engine.store.papers.sample_titles(100, seed=5)
    for title in titles:  # the query vectors, into the encoder's cache
        engine.search(title, k=1, mode="semantic")

    def timed(**options) -> list[float]:
        seconds = []
        for title in titles:
            started = time.perf_counter()
            engine.search(title, k=10, **{"mode": "semantic", **options})
            seconds.append(time.perf_counter() - started)
        return seconds

    base = percentile_ms(timed(), 50)
    print(f"\n{engine.index.ntotal:,} papers, 100 titles as queries, k=10 (vectors cached)")
    print(f"  {'search':<34}{'p50 ms':>8}{'p95 ms':>8}{'vs semantic':>13}")
    cases = [("semantic", {}), ("keyword", {"mode": "keyword"}), ("hybrid", {"mode": "hybrid"})]
    for name, raw in (("year=2023-", {"year": "2023-"}), ("category=cs.CV", {"category": "cs.CV"}),
                      ("author=Chen", {"author": "Chen"}), ("category=q-bio (rare)",
                      {"category": "q-bio"})):  # fmt: skip
        started = time.perf_counter()
        engine.search(titles[0], k=10, mode="semantic", filters=Filters.parse(**raw))
        first = (time.perf_counter() - started) * 1000
        print(f"  {'first use of ' + name:<34}{first:>8.1f}")
        cases.append((f"semantic, {name}", {"filters": Filters.parse(**raw)}))
    for name, options in cases:
        seconds = timed(**options)
        p50 = percentile_ms(seconds, 50)
        print(f"  {name:<34}{p50:>8.1f}{percentile_ms(seconds, 95):>8.1f}{p50 / base:>12.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
