"""Benchmark: a one-off `papersearch search` from a shell, start to finish.

    python bench/cli_query.py [--runs 5] [--papers 60]

Each run is a fresh process, as a user's is. Two ways to answer the same query
on the same index, timed alternately in the same run:

- the full encoder: PyTorch, transformers, adapters and the model are loaded
  (what happens when a model setting is given, or no verified ONNX export exists);
- the light path: the verified ONNX export and its tokenizer alone.

On two models: a random BERT-base in SPECTER2's shape with its adapters
(the cost does not depend on the weights; a small index of the bundled sample,
embedded once) and all-MiniLM-L6-v2 (real weights, the demo's fallback). Both
answers are compared: the light path must return the same papers.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from workload import MINILM, SAMPLE, scibert_shaped_specter

QUERY = "graph neural networks for molecular property prediction"


def index(home: Path, env: dict[str, str], papers: int) -> None:
    corpus = home.parent / "corpus.jsonl"
    with SAMPLE.open(encoding="utf-8") as fh:
        corpus.write_text("".join(next(fh) for _ in range(papers)), encoding="utf-8")
    run_cli(["index", str(corpus), "--home", str(home), "--json"], env)
    run_cli(["search", "warm-up: export and verify the ONNX graph", "--home", str(home)], env)


def run_cli(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "papersearch", *args], env=env, check=True,
                         capture_output=True, text=True)  # fmt: skip
    return time.perf_counter() - started, out.stdout


def compare(name: str, home: Path, env: dict[str, str], model_env: dict[str, str], runs: int):
    query = ["search", QUERY, "-k", "10", "--json", "--home", str(home)]
    full_env = {**env, **model_env}  # a model setting given: the full encoder is loaded
    light, full = [], []
    for _ in range(runs):
        seconds, light_out = run_cli(query, env)
        light.append(seconds)
        seconds, full_out = run_cli(query, full_env)
        full.append(seconds)
    same = [h["id"] for h in json.loads(light_out)["results"]] == [
        h["id"] for h in json.loads(full_out)["results"]
    ]
    light_s, full_s = statistics.median(light), statistics.median(full)
    print(f"{name:<34}{full_s:8.2f} s {light_s:8.2f} s {full_s / light_s:7.1f}x   "
          f"same top-10: {'yes' if same else 'NO'}", flush=True)  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--papers", type=int, default=60, help="papers in the SPECTER2 index")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="papersearch-cli-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERSEARCH_")}
    env["HF_HUB_OFFLINE"] = "1"
    print(f"one-off `papersearch search`, median of {args.runs} fresh processes each")
    print(f"{'model':<34}{'full':>10} {'light':>10} {'ratio':>8}")

    specter = scibert_shaped_specter(root / "specter2")
    specter_env = {**env, "PAPERSEARCH_BASE_MODEL": str(specter["base"]),
                   "PAPERSEARCH_PAPER_ADAPTER": str(specter["proximity"]),
                   "PAPERSEARCH_QUERY_ADAPTER": str(specter["adhoc_query"])}  # fmt: skip
    home = root / "specter2-home" / "data"
    home.parent.mkdir()
    index(home, specter_env, args.papers)
    compare("SPECTER2-shaped (BERT-base)", home, env, {"PAPERSEARCH_POOLING": "cls"}, args.runs)

    minilm_env = {**env, "PAPERSEARCH_BASE_MODEL": MINILM, "PAPERSEARCH_PAPER_ADAPTER": "none",
                  "PAPERSEARCH_QUERY_ADAPTER": "none", "PAPERSEARCH_POOLING": "mean"}  # fmt: skip
    home = root / "minilm-home" / "data"
    home.parent.mkdir()
    index(home, minilm_env, 500)
    compare("all-MiniLM-L6-v2", home, env, {"PAPERSEARCH_POOLING": "mean"}, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
