"""A closed-loop load of mixed papersearch requests, recording every answer.

    python bench/closed_loop.py BASE_URL SECONDS THREADS OUT.json [TITLES_FILE]

Each thread sends one request after another (semantic, keyword and hybrid searches
on corpus titles, paper pages) until SECONDS have passed, at most MAX_REQUESTS in
all, each with a REQUEST_TIMEOUT. OUT.json lists ``[start, end, status,
retry_after, error]`` per request (wall-clock seconds; status 0 when no answer
came). Run by bench/hosts.py inside the client's network namespace.
"""

from __future__ import annotations

import http.client
import json
import random
import sys
import threading
import time
import urllib.parse
from pathlib import Path

MAX_REQUESTS = 200_000
REQUEST_TIMEOUT = 40.0  # longer than HAProxy's server timeout, which retries on another host
MODES = ("semantic", "keyword", "hybrid")
PAPER_IDS = 100  # paper pages asked for: ids 1..100, which every corpus it runs on has


def one_request(host: str, port: int, path: str) -> list:
    started = time.time()
    connection = http.client.HTTPConnection(host, port, timeout=REQUEST_TIMEOUT)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        retry_after = response.headers.get("Retry-After")
        return [started, time.time(), response.status, retry_after, None]
    except OSError as exc:
        return [started, time.time(), 0, None, f"{type(exc).__name__}: {exc}"[:200]]
    finally:
        connection.close()


def run(base_url: str, seconds: float, threads: int, titles: list[str]) -> list[list]:
    parsed = urllib.parse.urlsplit(base_url)
    deadline = time.monotonic() + seconds
    records: list[list] = []
    lock = threading.Lock()

    def client(seed: int) -> None:
        rng = random.Random(seed)
        while time.monotonic() < deadline:
            with lock:
                if len(records) >= MAX_REQUESTS:
                    return
            if rng.random() < 0.2:
                path = f"/api/v1/papers/{rng.randint(1, PAPER_IDS)}"
            else:
                query = urllib.parse.quote_plus(" ".join(rng.choice(titles).split()[:6]))
                path = f"/api/v1/search?q={query}&mode={rng.choice(MODES)}"
            record = one_request(parsed.hostname, parsed.port or 80, path)
            with lock:
                records.append(record)

    workers = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=seconds + REQUEST_TIMEOUT + 30)
    with lock:
        return sorted(records)


if __name__ == "__main__":
    url, seconds, threads, out = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    titles = ["graph neural networks", "protein folding", "dark matter halos"]
    if len(sys.argv) > 5:
        titles = [t for t in Path(sys.argv[5]).read_text().splitlines() if t.strip()] or titles
    Path(out).write_text(json.dumps(run(url, seconds, threads, titles)))
