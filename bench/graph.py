"""Benchmark: the citation graph at scale, and what it adds on a real citation graph.

    python bench/graph.py [--part scale|recovery|both] [--scale-papers 10000000]
                          [--papers N] [--weights 0,0.3,0.6,1]

The scale part (``bench/graph_scale.py``) writes the graph of a generated corpus of
10M papers and about 120M edges, derives it again after a nightly change, and times
list pages and connected papers on it.

Indexes the hep-th citation graph of ../shared/data (29,555 arXiv hep-th papers with
their abstracts and 352,768 citations inside the set, OpenAlex-shaped) once with
all-MiniLM-L6-v2 (kept in ~/.cache/papersearch-bench/hepth), then measures link
recovery (``search.engine.link_recovery``, as ``papersearch eval --links`` does): one
reference in the corpus hidden from each of N papers, ranked by connected papers (links
and text, on the graph without the hidden references) at several weights of the links,
and by similar papers (text alone). Prints the share of hidden references in the top 10
and the top 100, and the mean reciprocal rank, and each connected ranking's ratio to
similar papers'. Skips cleanly without the shared data.
"""

from __future__ import annotations

import argparse
import sys
import time
from unittest import mock

from workload import CACHE, SHARED, minilm_settings

HEPTH = SHARED / "hepth-citations" / "works.jsonl.gz"


def engine_on_hepth():
    """The engine over the hep-th graph, indexed once."""
    from indexer.pipeline import index_corpus
    from search.engine.engine import SearchEngine
    from search.store import Store

    settings = minilm_settings(home=CACHE / "hepth")
    if Store.open(settings, migrate=True).builds.current() is None:
        print("indexing the hep-th citation graph with all-MiniLM-L6-v2 (once)", flush=True)
        started = time.perf_counter()
        summary = index_corpus(settings, [HEPTH], progress=True)
        print(f"  {summary.added:,} papers in {time.perf_counter() - started:.0f} s", flush=True)
    return SearchEngine.open(settings)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("scale", "recovery", "both"), default="both")
    parser.add_argument("--scale-papers", type=int, default=10_000_000)
    parser.add_argument("--build-memory", default="2GiB")
    parser.add_argument("--samples", type=int, default=1000, help="papers timed at scale")
    parser.add_argument("--papers", type=int, default=1000, help="papers of link recovery")
    parser.add_argument("--weights", default="0,0.3,0.5,0.6,0.8,1")
    args = parser.parse_args()
    if args.part in ("scale", "both"):
        from graph_scale import run

        from search.base.units import parse_size

        run(args.scale_papers, parse_size(args.build_memory), CACHE / "graph-scale", args.samples)
    if args.part == "scale":
        return 0
    if not HEPTH.exists():
        print(f"skipped: {HEPTH} not found (the shared data directory)")
        return 0
    from search.engine import connected, link_recovery

    engine = engine_on_hepth()
    graph = engine.citations.graph
    print(f"hep-th: {len(graph.papers):,} papers, {graph.edges:,} citations inside the set; "
          f"one reference hidden from each of {args.papers:,} papers")  # fmt: skip
    print(f"  {'ranking':<40}{'top 10':>9}{'top 100':>9}{'MRR':>9}{'MRR / text':>12}")
    text = None
    for weight in [float(w) for w in args.weights.split(",")]:
        with mock.patch.object(connected, "GRAPH_WEIGHT", weight):
            started = time.perf_counter()
            found = link_recovery.measure(engine, args.papers)
            seconds = time.perf_counter() - started
        text = found.similar
        label = f"connected, links weigh {weight:g}" + (
            " (shipped)" if weight == connected.GRAPH_WEIGHT else ""
        )
        ratio = found.connected.mrr / text.mrr if text.mrr else float("nan")
        shown = found.connected
        print(f"  {label:<40}{shown.hits_10:>9.3f}{shown.hits_100:>9.3f}{shown.mrr:>9.4f}"
              f"{ratio:>12.2f}   ({seconds:.1f} s)", flush=True)  # fmt: skip
    print(f"  {'similar papers (text alone)':<40}{text.hits_10:>9.3f}{text.hits_100:>9.3f}"
          f"{text.mrr:>9.4f}{1:>12.2f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
