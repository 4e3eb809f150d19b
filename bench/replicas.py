"""Benchmark: search replicas behind HAProxy, on one PostgreSQL store and one build directory.

    python bench/replicas.py [--seconds 20] [--clients 8] [--papers 1000]

Starts a throwaway PostgreSQL server (.ci/postgres), indexes the bundled arXiv
sample with all-MiniLM-L6-v2 into it (the build files in a directory both
replicas read), starts two replicas (gunicorn with web/gunicorn_conf.py, one
worker and four threads each, on loopback ports) and HAProxy in front of them
(Debian's haproxy with deploy/haproxy.cfg: health checks on /api/v1/health, retries and
redispatch),
then runs a closed-loop load of mixed requests through HAProxy:

1. one replica (the other is out of the pool);
2. two replicas;
3. two replicas, while one is killed (SIGKILL) and restarted, and while a
   re-index adds papers and publishes a new build that both replicas pick up.

It prints requests per second, p50/p95 latency and the failed requests (any
answer but 200, or a failed connection) of each phase; in phase 3 a failure
can only be a request that was in flight on the killed replica.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

from workload import MINILM, REPO, SAMPLE, percentile_ms

HAPROXY_CONFIG = REPO / "deploy" / "haproxy.cfg"  # addresses from the environment


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def minilm_env(home: Path, database_url: str) -> dict[str, str]:
    return {**os.environ, "PAPERSEARCH_HOME": str(home), "PAPERSEARCH_DATABASE_URL": database_url,
            "PAPERSEARCH_BASE_MODEL": MINILM, "PAPERSEARCH_PAPER_ADAPTER": "none",
            "PAPERSEARCH_QUERY_ADAPTER": "none", "PAPERSEARCH_POOLING": "mean",
            "PAPERSEARCH_RELOAD_SECONDS": "1"}  # fmt: skip


class Replica:
    """One gunicorn server (its own process group, so that SIGKILL takes its workers too)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.env = {**env, "PAPERSEARCH_BIND": f"127.0.0.1:{self.port}",
                    "PAPERSEARCH_WORKERS": "1", "PAPERSEARCH_THREADS": "4"}  # fmt: skip
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:web.gunicorn_conf", "web.wsgi:app"],
            cwd=REPO, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 300
        while not healthy(self.port):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"the replica on port {self.port} did not start")
            time.sleep(0.3)

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=60)


def healthy(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", "/api/v1/health")
        return connection.getresponse().status == 200
    except OSError:
        return False


@contextlib.contextmanager
def haproxy(replicas: list[Replica], directory: Path):
    """deploy/haproxy.cfg in front of ``replicas`` (at most two) on a loopback port."""
    port = free_port()
    env = {**os.environ, "PAPERSEARCH_LB_BIND": f"127.0.0.1:{port}"}
    # A server the configuration names but the phase does not use: a closed port, down.
    addresses = [f"127.0.0.1:{r.port}" for r in replicas] + [f"127.0.0.1:{free_port()}"]
    env["PAPERSEARCH_REPLICA_1"], env["PAPERSEARCH_REPLICA_2"] = addresses[:2]
    process = subprocess.Popen(["haproxy", "-f", str(HAPROXY_CONFIG)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not healthy(port):
            assert time.monotonic() < deadline, "HAProxy did not start"
            time.sleep(0.2)
        time.sleep(1.5)  # the health checks take a server that is not there out of the pool
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def load(port: int, clients: int, seconds: float, titles: list[str], during=None) -> dict:
    """A closed loop of mixed GETs through ``port``; ``during()`` runs alongside."""
    results: list[tuple[float, bool]] = []
    lock = threading.Lock()
    until = time.monotonic() + seconds

    def client(seed: int) -> None:
        rng = random.Random(seed)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < until:
            title = rng.choice(titles)
            kind = rng.random()
            if kind < 0.5:
                path = "/api/v1/search?" + urllib.parse.urlencode({"q": title, "k": 10})
            elif kind < 0.75:
                path = "/api/v1/search?" + urllib.parse.urlencode(
                    {"q": title, "k": 10, "mode": "keyword"})  # fmt: skip
            else:
                path = f"/api/v1/papers/{rng.randint(1, 500)}"
            started = time.perf_counter()
            try:
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
            except OSError:
                ok = False
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            with lock:
                results.append((time.perf_counter() - started, ok))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    if during is not None:
        during()
    for thread in threads:
        thread.join()
    ok = [s for s, good in results if good] or [0.0]
    return {"requests": len(results), "per_second": len(results) / seconds,
            "p50": percentile_ms(ok, 50), "p95": percentile_ms(ok, 95),
            "failed": sum(1 for _, good in results if not good)}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--papers", type=int, default=1000)
    args = parser.parse_args()
    for tool in ("haproxy", "bash"):
        if subprocess.run(["which", tool], capture_output=True).returncode:
            print(f"skipped: {tool} is not installed (apt-get install {tool})")
            return 0
    work = Path(tempfile.mkdtemp(prefix="papersearch-replicas-"))
    pg_dir = Path(tempfile.mkdtemp(prefix="papersearch-replicas-pg-"))
    script = ["bash", str(REPO / ".ci" / "postgres")]
    started = subprocess.run([*script, "start", str(pg_dir), str(free_port())], check=True,
                             capture_output=True, text=True).stdout  # fmt: skip
    server_url = started.split("PAPERSEARCH_TEST_POSTGRES_URL=")[1].split()[0]
    replicas: list[Replica] = []
    try:
        lines = SAMPLE.read_text(encoding="utf-8").splitlines()
        first, later = work / "day1.jsonl", work / "day2.jsonl"
        first.write_text("\n".join(lines[: args.papers]) + "\n")
        later.write_text("\n".join(lines[: args.papers + 100]) + "\n")
        env = minilm_env(work / "shared", server_url)
        print(f"indexing {args.papers} papers with all-MiniLM-L6-v2 into PostgreSQL", flush=True)
        subprocess.run([sys.executable, "-m", "papersearch", "index", str(first), "--json"],
                       cwd=REPO, env=env, check=True, capture_output=True)  # fmt: skip
        titles = [json.loads(line)["title"] for line in lines[: args.papers]]
        replicas = [Replica(env), Replica(env)]
        for replica in replicas:
            replica.start()
        rows = []
        with haproxy(replicas[:1], work) as port:
            rows.append(("1 replica", load(port, args.clients, args.seconds, titles)))
        with haproxy(replicas, work) as port:
            rows.append(("2 replicas", load(port, args.clients, args.seconds, titles)))
            events: list[str] = []

            def faults() -> None:
                time.sleep(args.seconds * 0.2)
                replicas[0].kill()
                events.append("replica killed")
                time.sleep(3)
                replicas[0].start()
                events.append("replica back")
                reindex = subprocess.run(
                    [sys.executable, "-m", "papersearch", "reindex", str(later), "--json"],
                    cwd=REPO, env=env, capture_output=True, text=True, check=True)  # fmt: skip
                build = json.loads(reindex.stdout)["build_id"]
                events.append(f"build {build} published")

            phase3 = load(port, args.clients, args.seconds * 2, titles, during=faults)
            rows.append(("2 replicas, kill + publish", phase3))
        served = {json.loads(_get(r.port, "/api/v1/health"))["build"]["id"] for r in replicas}
        print(f"\n{args.clients} clients, closed loop, through HAProxy; PostgreSQL store; "
              f"mixed semantic and keyword searches and paper lookups")  # fmt: skip
        print(f"{'phase':<30}{'requests':>10}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'failed':>8}")
        for label, row in rows:
            print(f"{label:<30}{row['requests']:>10}{row['per_second']:>9.1f}{row['p50']:>9.1f}"
                  f"{row['p95']:>9.1f}{row['failed']:>8}")  # fmt: skip
        ratio = rows[1][1]["per_second"] / rows[0][1]["per_second"]
        print(f"two replicas against one: {ratio:.2f}x throughput; during phase 3: "
              f"{', '.join(events)}; builds served after: {served}")  # fmt: skip
        return 0
    finally:
        for replica in replicas:
            replica.stop()
        subprocess.run([*script, "stop", str(pg_dir)], capture_output=True)


def _get(port: int, path: str) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path)
    return connection.getresponse().read().decode()


if __name__ == "__main__":
    sys.exit(main())
