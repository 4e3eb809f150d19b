"""Benchmark: query latency. Single-query encoding (SPECTER2-shaped) and end-to-end
``/api/v1/search`` through the production server on the 74,728-paper arXiv index.

    python bench/query.py                 # both parts
    python bench/query.py --skip-server   # encoding only (no shared data needed)

Encoding: a random BERT-base in SciBERT's shape with an ``adhoc_query``
bottleneck adapter (timing does not depend on the weights), 300 real arXiv
titles as queries, one at a time with the cache bypassed. Each mode (PyTorch
fp32 and bf16, the ONNX Runtime fp32 export, and what ``auto`` picks here) is
compared with the plain transformers/adapters way of encoding one query
(``set_active_adapters``, fp32, ``no_grad``), timed in the same process, and its
vectors with PyTorch fp32's.

End to end: the shared 74,728-paper corpus indexed with all-MiniLM-L6-v2
(vectors and the data directory cached in ~/.cache/papersearch-bench), served by gunicorn
with ``web/gunicorn_conf.py`` on 127.0.0.1, queried over HTTP one request at a
time with 300 distinct titles (first time each: no cache hit), then the same
titles again (a cache hit when the same worker process answers). The top-10
of every answer is compared with the fp32 path's (queries encoded in fp32,
same index) and with exact search.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
from workload import (
    ARXIV_74K,
    CACHE,
    SAMPLE,
    arxiv_minilm_vectors,
    get_json,
    minilm_settings,
    percentile_ms,
    production_server,
    read_arxiv,
    scibert_shaped_specter,
)

QUERIES = 300


def sample_titles(n: int) -> list[str]:
    rows = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    return [" ".join(row["title"].split()) for row in rows[-n:]]


def card_style_query_encoder(dirs: dict[str, Path]):
    """Encoding one query the plain way: set_active_adapters, fp32, no_grad, CLS."""
    import torch
    from adapters import AutoAdapterModel
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(dirs["base"]))
    model = AutoAdapterModel.from_pretrained(str(dirs["base"]))
    model.load_adapter(str(dirs["adhoc_query"]), load_as="adhoc_query", set_active=True)
    model.eval()

    def encode(query: str) -> np.ndarray:
        inputs = tokenizer([query], padding=True, truncation=True, return_tensors="pt",
                           return_token_type_ids=False, max_length=512)  # fmt: skip
        with torch.no_grad():
            return model(**inputs).last_hidden_state[:, 0, :].numpy()

    return encode


def time_each(encode, queries: list[str]) -> list[float]:
    for query in queries[:5]:  # warm-up
        encode(query)
    seconds = []
    for query in queries:
        started = time.perf_counter()
        encode(query)
        seconds.append(time.perf_counter() - started)
    return seconds


def encoding_latency() -> None:
    from search.base.settings import Settings
    from search.model.encoder import Encoder

    queries = sample_titles(QUERIES)
    dirs = scibert_shaped_specter(Path(tempfile.mkdtemp(prefix="papersearch-query-")))
    baseline = time_each(card_style_query_encoder(dirs), queries)
    base_p50 = percentile_ms(baseline, 50)
    print(f"\nsingle-query encoding, {len(queries)} arXiv titles, SPECTER2-shaped model")
    print("  mode                      p50 ms  p95 ms  speed-up (p50)")
    print(f"  plain fp32 torch (card)   {base_p50:6.1f}  {percentile_ms(baseline, 95):6.1f}"
          "     1.00x")  # fmt: skip
    reference = None
    for precision, backend in (("fp32", "torch"), ("bf16", "torch"), ("fp32", "onnx"),
                               ("auto", "auto")):  # fmt: skip
        settings = Settings(
            home=dirs["base"].parent / "home",
            base_model=str(dirs["base"]),
            paper_adapter="none",
            query_adapter=str(dirs["adhoc_query"]),
            precision=precision,
            query_backend=backend,
        )
        encoder = Encoder.load(settings)
        seconds = time_each(lambda q, enc=encoder: enc.encode_queries([q]), queries)
        p50 = percentile_ms(seconds, 50)
        vectors = encoder.encode_queries(queries)
        reference = vectors if reference is None else reference
        cosine = ((vectors * reference).sum(1) / np.linalg.norm(vectors, axis=1)
                  / np.linalg.norm(reference, axis=1)).min()  # fmt: skip
        label = "fp32 onnx" if encoder.query_backend == "onnx" else f"{encoder.precision} torch"
        label = f"auto: {label}" if precision == "auto" else label
        print(f"  papersearch {label:<14}{p50:6.1f}  {percentile_ms(seconds, 95):6.1f}  "
              f"{base_p50 / p50:7.2f}x   min cosine vs fp32 torch {cosine:.6f}",
              flush=True)  # fmt: skip


def ensure_index(home: Path, papers: list[dict]) -> None:
    """The 74,728-paper store and index, built once from the cached vectors."""
    from indexer.build_lifecycle import add_keyword_index, build_index, keyword_index_outdated
    from search.model.encoder import Encoder
    from search.store import Store

    settings = minilm_settings(home=home)
    store = Store.open(settings, migrate=True)
    build = store.builds.current()
    if build is not None and build.vector_count == len(papers):
        if keyword_index_outdated(store, build):  # as `papersearch db upgrade` does
            add_keyword_index(store, settings, build)
        return
    print(f"building the {len(papers)}-paper index in {home} (once)", flush=True)
    encoder = Encoder.load(settings)
    vectors, _ = arxiv_minilm_vectors(papers, "arxiv74k")
    for start in range(0, len(papers), 5000):
        store.papers.upsert(papers[start : start + 5000])
    row_of = {paper.external_id: i for i, paper in enumerate(papers)}
    for chunk in store.vectors.pending(encoder.info.key, 5000):
        stored = store.papers.get_many(p.id for p in chunk)
        rows = [row_of[stored[p.id].external_id] for p in chunk]
        store.vectors.save(encoder.info.key, chunk, vectors[rows])
    build_index(store, encoder, settings)


def server_latency(precision: str, query_backend: str) -> None:
    from search.ann.faiss_index import VectorIndex
    from search.ann.tuning import top_k_overlap
    from search.engine.engine import SearchEngine

    papers = read_arxiv()
    home = CACHE / "query-74k"
    ensure_index(home, papers)
    server_env = {"PAPERSEARCH_PRECISION": precision, "PAPERSEARCH_QUERY_BACKEND": query_backend}
    with production_server(home, **server_env) as (base, _, health):
        rng = np.random.default_rng(3)
        titles = [papers[i].title for i in rng.choice(len(papers), QUERIES, replace=False)]
        urls = [f"{base}/search?" + urllib.parse.urlencode({"q": t, "k": 10}) for t in titles]
        for url in urls[:4]:  # warm both workers
            get_json(url.replace("k=10", "k=9"))
        answers, cold = [], []
        for url in urls:
            started = time.perf_counter()
            answers.append(get_json(url))
            cold.append(time.perf_counter() - started)
        warm, warm_took = [], []
        for url in urls:
            started = time.perf_counter()
            warm_took.append(get_json(url)["took_ms"])
            warm.append(time.perf_counter() - started)
        plain = []  # the HTTP + Flask + SQLite floor: one paper by id, no search
        for answer in answers[:100]:
            started = time.perf_counter()
            get_json(f"{base}/papers/{answer['results'][0]['id']}")
            plain.append(time.perf_counter() - started)

    # The fp32 path: the same build and nprobe, queries encoded in fp32 by PyTorch. And the
    # exact path (every list probed) says what the IVF approximation itself costs.
    fp32 = SearchEngine.open(minilm_settings(home=home, precision="fp32", query_backend="torch"))
    reference = [[hit.id for hit in fp32.search(title, k=10).results] for title in titles]
    served = [[hit["id"] for hit in answer["results"]] for answer in answers]
    same = [a == b for a, b in zip(served, reference, strict=True)]
    same_set = [set(a) == set(b) for a, b in zip(served, reference, strict=True)]
    overlap = top_k_overlap(served, reference)
    fp32.index = VectorIndex(fp32.index.index, nprobe=fp32.index.ivf.nlist)
    exact = [[hit.id for hit in fp32.search(title, k=10).results] for title in titles]
    ann_recall = top_k_overlap(served, exact)
    took = [answer["took_ms"] for answer in answers]
    print(f"\nend to end: GET /api/v1/search through gunicorn, {len(papers):,} papers, "
          f"{health['build']['index_type']} nprobe {health['build']['nprobe']}, "
          f"{health['encoder']['precision']}, queries through "
          f"{health['encoder']['query_backend']}, all-MiniLM-L6-v2")  # fmt: skip
    print(
        f"  first time each query: p50 {percentile_ms(cold, 50):6.1f} ms  "
        f"p95 {percentile_ms(cold, 95):6.1f} ms  (engine took_ms p50 {np.median(took):.1f})"
    )
    hits = np.asarray(warm_took) < 3.0  # the engine found the query vector in its cache
    print(f"  repeated:              p50 {percentile_ms(warm, 50):6.1f} ms  "
          f"p95 {percentile_ms(warm, 95):6.1f} ms  ({hits.mean():.0%} hit the cache of the "
          f"worker process that answered; each worker has its own; engine took_ms p50 "
          f"{np.median(warm_took):.1f})")  # fmt: skip
    print(f"  GET /api/v1/papers/ID (no search): p50 {percentile_ms(plain, 50):6.1f} ms")
    print(
        f"  top-10 against the fp32 path's (same index): same papers in the same order for "
        f"{np.mean(same):.1%} of queries, same papers for {np.mean(same_set):.1%}, "
        f"mean overlap {overlap:.4f}"
    )
    print(f"  recall@10 against exact search (fp32, every list probed): {ann_recall:.4f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-server", action="store_true")
    parser.add_argument("--skip-encoding", action="store_true")
    parser.add_argument("--precision", default="auto", help="the server's PAPERSEARCH_PRECISION")
    parser.add_argument("--query-backend", default="auto",
                        help="the server's PAPERSEARCH_QUERY_BACKEND")  # fmt: skip
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if not args.skip_encoding:
        encoding_latency()
    if not args.skip_server:
        if not ARXIV_74K.exists():
            print(f"end to end: skipped, {ARXIV_74K} not found (the shared data directory)")
        else:
            server_latency(args.precision, args.query_backend)
    return 0


if __name__ == "__main__":
    sys.exit(main())
