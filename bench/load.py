"""Benchmark: the production server under load. Concurrent clients mix searches (semantic,
hybrid, keyword, with and without filters), paper pages and similar-paper requests.

    python bench/load.py                       # 16 clients, 60 s, 74,728-paper index
    python bench/load.py --clients 32 --seconds 30

gunicorn with web/gunicorn_conf.py (PAPERSEARCH_WORKERS processes x
PAPERSEARCH_THREADS threads) serves the index bench/query.py builds
(all-MiniLM-L6-v2; the bundled 3,000-paper sample when ../shared/data is
absent) on 127.0.0.1. Each client is a thread that sends one request, waits
for the answer, and sends the next (a closed loop, as locust's users do). It
prints throughput, p50/p95/p99 latency per kind of request, the error count
(any non-2xx answer or failed connection), and each worker's memory: RSS and
PSS (the memory-mapped index and shared libraries are counted once per host
in PSS).
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import sys
import threading
import time
import urllib.parse
from collections import defaultdict
from pathlib import Path

from workload import ARXIV_74K, CACHE, SAMPLE, percentile_ms, production_server, read_arxiv

MIX = (  # (kind, weight)
    ("search semantic", 35),
    ("search hybrid", 15),
    ("search keyword", 10),
    ("search filtered", 10),
    ("paper", 15),
    ("similar", 15),
)


def request_path(kind: str, rng: random.Random, titles: list[str], ids: list[int]) -> str:
    title = rng.choice(titles)
    if kind == "paper":
        return f"/api/v1/papers/{rng.choice(ids)}"
    if kind == "similar":
        return f"/api/v1/papers/{rng.choice(ids)}/similar?k=10"
    params = {"q": " ".join(title.split()[: rng.randint(2, 8)]), "k": 10}
    if kind == "search hybrid":
        params["mode"] = "hybrid"
    elif kind == "search keyword":
        params["mode"] = "keyword"
    elif kind == "search filtered":
        params.update(rng.choice([{"year": "2024-"}, {"category": "cs.LG"}, {"category": "math"}]))
    return "/api/v1/search?" + urllib.parse.urlencode(params)


def client(host: str, port: int, until: float, seed: int, titles, ids, results, lock) -> None:
    rng = random.Random(seed)
    kinds = [kind for kind, weight in MIX for _ in range(weight)]
    connection = http.client.HTTPConnection(host, port, timeout=60)
    local = defaultdict(list)
    errors: list[str] = []
    while time.monotonic() < until:
        kind = rng.choice(kinds)
        path = request_path(kind, rng, titles, ids)
        started = time.perf_counter()
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
            if response.status != 200:
                errors.append(f"{response.status} {path}: {body[:200]!r}")
        except (OSError, http.client.HTTPException) as exc:
            errors.append(f"{type(exc).__name__} {path}: {exc}")
            connection.close()
            connection = http.client.HTTPConnection(host, port, timeout=60)
        local[kind].append(time.perf_counter() - started)
    connection.close()
    with lock:
        for kind, seconds in local.items():
            results["latency"][kind].extend(seconds)
        results["errors"].extend(errors)


def worker_memory(master_pid: int) -> list[tuple[int, float, float]]:
    """(pid, RSS MB, PSS MB) of each gunicorn worker (the master's children)."""
    rows = []
    for task in Path(f"/proc/{master_pid}/task").iterdir():
        children = (task / "children").read_text().split() if (task / "children").exists() else []
        for pid in map(int, children):
            fields = {}
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
                name, value, *_ = line.split()
                fields[name.rstrip(":")] = int(value)
            rows.append((pid, fields["Rss"] / 1024, fields["Pss"] / 1024))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", default="2", help="PAPERSEARCH_WORKERS")
    parser.add_argument("--threads", default="4", help="PAPERSEARCH_THREADS")
    args = parser.parse_args()
    from query import ensure_index

    if ARXIV_74K.exists():
        papers, home = read_arxiv(), CACHE / "query-74k"
    else:
        papers, home = read_arxiv(SAMPLE), CACHE / "load-sample"
    ensure_index(home, papers)
    titles = [paper.title for paper in papers]
    env = {"PAPERSEARCH_WORKERS": args.workers, "PAPERSEARCH_THREADS": args.threads}
    with production_server(home, **env) as (base, server, health):
        parsed = urllib.parse.urlparse(base)
        ids = list(range(1, health["papers"] + 1))
        results = {"latency": defaultdict(list), "errors": []}
        lock = threading.Lock()
        for _ in range(2):  # warm-up: every worker loads and answers once
            client(parsed.hostname, parsed.port, time.monotonic() + 2, 0, titles, ids,
                   {"latency": defaultdict(list), "errors": []}, lock)  # fmt: skip
        until = time.monotonic() + args.seconds
        threads = [
            threading.Thread(target=client, args=(parsed.hostname, parsed.port, until, seed,
                                                  titles, ids, results, lock))
            for seed in range(1, args.clients + 1)
        ]  # fmt: skip
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        memory = worker_memory(server.pid)
    latency = results["latency"]
    every = [s for seconds in latency.values() for s in seconds]
    print(f"\n{health['papers']:,} papers ({health['build']['index_type']}), "
          f"{args.workers} workers x {args.threads} threads, {args.clients} clients, "
          f"{elapsed:.0f} s: {len(every):,} requests, {len(every) / elapsed:.1f}/s")  # fmt: skip
    print(f"  {'request':<18}{'count':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    rows = [(kind, latency[kind]) for kind, _ in MIX if latency.get(kind)] + [("all", every)]
    for kind, seconds in rows:
        p50, p95, p99 = (percentile_ms(seconds, q) for q in (50, 95, 99))
        print(f"  {kind:<18}{len(seconds):>7}{p50:>9.1f}{p95:>9.1f}{p99:>9.1f}")
    print(f"errors: {len(results['errors'])}")
    for line in results["errors"][:10]:
        print("  " + line)
    for pid, rss, pss in memory:
        print(f"worker {pid}: RSS {rss:,.0f} MB, PSS {pss:,.0f} MB")
    print(json.dumps({"errors": len(results["errors"]), "requests": len(every)}))
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
