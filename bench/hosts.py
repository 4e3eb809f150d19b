"""Benchmark: faults between real hosts. Five network namespaces on a private bridge
(PostgreSQL, two replicas, HAProxy, a client), made and removed by this script.

    sudo python bench/hosts.py [--papers 1000] [--scale 1.0] [--json OUT] [--model minilm|env]

PostgreSQL (Debian's, run as the postgres user) serves on the ``pg`` host; two
gunicorn replicas (deploy/haproxy.cfg's health checks, one worker and four threads
each, ``PAPERSEARCH_TRUSTED_PROXIES`` set to HAProxy) share one data directory; the
client sends a closed loop of mixed searches through HAProxy (bench/closed_loop.py).
Each phase reports requests sent, failed (no answer, or an answer other than 200),
5xx, p50 and p99 latency and, where a fault ends, the recovery:

1. baseline;
2. 100 ms ± 20 ms latency and 2% packet loss between the replicas and PostgreSQL
   (loss: nftables on the database host's link; latency: ``tc netem`` where the
   kernel has it, otherwise bench/delay_relay.py on the database host);
3. replica 2 partitioned (its link down) for 30 s, then restored; failures beyond
   the requests in flight at the partition are counted;
4. PostgreSQL stopped for 20 s, then started: every request must answer within
   2 s (a 503 with Retry-After, or a result), and normally within 10 s of its return;
5. a re-index (on replica 1's host, the writer) adding 100 papers and publishing a
   new build during the run: nothing lost, one build published, both replicas on it.

``--scale`` multiplies every phase's length (the slow test runs a short one). Every
loop is bounded in time and in count; the namespaces are removed even on failure.
Without root, ip(8) and nft(8) it says so and exits 0.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from netns import Hosts, has_netem, missing_tools
from workload import MINILM, REPO, SAMPLE

from tests.helpers import stop_process_group

HOSTS = ("pg", "r1", "r2", "lb", "client")
PG_PORT, RELAY_PORT, REPLICA_PORT, LB_PORT = 5433, 5432, 8000, 8080
NEW_PAPERS = 100
PHASES = ("baseline", "latency", "partition", "database", "reindex")
GOALS = {"answer_while_db_down_s": 2.0, "normal_after_db_back_s": 10.0}


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summary(records: list[list]) -> dict:
    latencies = [(end - start) * 1000 for start, end, *_ in records]
    errors = Counter(r[4] for r in records if r[4])
    return {
        "requests": len(records),
        "failed": sum(1 for r in records if r[2] != 200),
        "5xx": sum(1 for r in records if r[2] >= 500),
        "no_answer": sum(1 for r in records if r[2] == 0),
        "p50_ms": round(percentile(latencies, 0.5), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "slowest_s": round(max(latencies, default=0) / 1000, 2),
        **({"commonest_error": errors.most_common(1)[0][0]} if errors else {}),
    }


def healthy(address: str, port: int) -> dict | None:
    """The health answer of a server from the root namespace (None: no 200)."""
    try:
        connection = http.client.HTTPConnection(address, port, timeout=3)
        connection.request("GET", "/api/v1/health")
        response = connection.getresponse()
        body = response.read()
        return json.loads(body) if response.status == 200 else None
    except (OSError, ValueError):
        return None


def wait_for(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise RuntimeError(f"timed out after {seconds:.0f} s waiting for {what}")


class Cluster:
    """The processes on the hosts, started and stopped here."""

    def __init__(self, hosts: Hosts, work: Path, env: dict[str, str]) -> None:
        self.hosts, self.work, self.env = hosts, work, env
        self.processes: list[subprocess.Popen] = []
        self.pg_ctl = _postgres_bin("pg_ctl")
        self.data = work / "pg" / "data"
        self.control = work / "delay.json"
        self.netem = has_netem()
        self.replicas: list[subprocess.Popen] = []
        # Direct to PostgreSQL; through the delaying relay for the latency phase on
        # kernels without netem (the replicas are restarted on it for that phase only).
        self.direct_url = f"postgresql+psycopg://postgres@{hosts.address('pg')}:{PG_PORT}/postgres"
        self.relay_url = (
            f"postgresql+psycopg://postgres@{hosts.address('pg')}:{RELAY_PORT}/postgres"
        )
        self.database_url = self.direct_url

    def spawn(self, host: str, argv: list[str], log: str, env: dict | None = None):
        with (self.work / log).open("ab") as sink:
            process = subprocess.Popen(self.hosts.exec(host, argv), stdout=sink, stderr=sink,
                                       env=env or self.env, cwd=REPO,
                                       start_new_session=True)  # fmt: skip
        self.processes.append(process)
        return process

    def start_database(self) -> None:
        (self.work / "pg").mkdir()
        shutil.chown(self.work / "pg", "postgres")
        _as_postgres([_postgres_bin("initdb"), "-D", str(self.data), "-U", "postgres",
                      "--auth=trust", "-E", "UTF8", "--locale=C"])  # fmt: skip
        with (self.data / "pg_hba.conf").open("a") as hba:  # the hosts' subnet, no password
            hba.write(f"host all all {self.hosts.subnet} trust\n")
        self.postgres("start")
        self.control.write_text(json.dumps({"delay_ms": 0}))
        relay = [sys.executable, str(REPO / "bench" / "delay_relay.py"),
                 f"{self.hosts.address('pg')}:{RELAY_PORT}", f"127.0.0.1:{PG_PORT}",
                 str(self.control)]  # fmt: skip
        self.spawn("pg", relay, "relay.log")
        time.sleep(0.5)

    def postgres(self, action: str) -> None:
        """``start`` or ``stop`` (fast: sessions are ended, as in a crash or a restart)."""
        options = (f"-p {PG_PORT} -k {self.work / 'pg'} -c listen_addresses=* "
                   "-c fsync=off -c max_connections=200")  # fmt: skip
        argv = [self.pg_ctl, "-D", str(self.data), "-w", "-t", "60"]
        argv += ["-l", str(self.work / "pg" / "server.log"), "start", "-o", options] \
            if action == "start" else ["-m", "fast", "stop"]  # fmt: skip
        subprocess.run(self.hosts.exec("pg", ["runuser", "-u", "postgres", "--", *argv]),
                       check=True, capture_output=True, timeout=90)  # fmt: skip

    def start_replicas(self, home: Path, database_url: str) -> None:
        """Both replicas on ``database_url``, once they answer their health checks."""
        self.database_url = database_url
        for host in ("r1", "r2"):
            env = {**self.env, "PAPERSEARCH_HOME": str(home),
                   "PAPERSEARCH_DATABASE_URL": self.database_url,
                   "PAPERSEARCH_BIND": f"{self.hosts.address(host)}:{REPLICA_PORT}",
                   "PAPERSEARCH_WORKERS": "1", "PAPERSEARCH_THREADS": "4",
                   "PAPERSEARCH_RELOAD_SECONDS": "1", "PAPERSEARCH_LOG_FORMAT": "json",
                   "PAPERSEARCH_TRUSTED_PROXIES": self.hosts.address("lb")}  # fmt: skip
            argv = [sys.executable, "-m", "gunicorn", "-c", "python:web.gunicorn_conf",
                    "web.wsgi:app"]  # fmt: skip
            self.replicas.append(self.spawn(host, argv, f"{host}.log", env))
        for host in ("r1", "r2"):
            wait_for(lambda h=host: healthy(self.hosts.address(h), REPLICA_PORT), 300,
                     f"replica {host}")  # fmt: skip

    def stop_replicas(self) -> None:
        for process in self.replicas:
            stop_process_group(process)
        self.replicas.clear()

    def start_haproxy(self) -> None:
        env = {**self.env, "PAPERSEARCH_LB_BIND": f"{self.hosts.address('lb')}:{LB_PORT}",
               "PAPERSEARCH_REPLICA_1": f"{self.hosts.address('r1')}:{REPLICA_PORT}",
               "PAPERSEARCH_REPLICA_2": f"{self.hosts.address('r2')}:{REPLICA_PORT}"}  # fmt: skip
        self.spawn("lb", ["haproxy", "-f", str(REPO / "deploy" / "haproxy.cfg")], "lb.log", env)
        wait_for(lambda: healthy(self.hosts.address("lb"), LB_PORT), 60, "HAProxy")

    def slow_database_link(self, on: bool, home: Path) -> str:
        """100 ms ± 20 ms and 2% loss between the database and the replicas (or none):
        netem on the database's link where the kernel has it, else the replicas are
        restarted on the delaying relay. Loss is the kernel's either way (nftables)."""
        self.hosts.loss("pg", 2 if on else 0)
        if self.netem:
            self.hosts.netem("pg", 100 if on else 0, 20)
            return "tc netem"
        self.control.write_text(json.dumps({"delay_ms": 100 if on else 0, "jitter_ms": 20}))
        self.stop_replicas()
        self.start_replicas(home, self.relay_url if on else self.direct_url)
        wait_for(lambda: healthy(self.hosts.address("lb"), LB_PORT), 60, "HAProxy")
        time.sleep(1.5)  # HAProxy's checks take both back (rise 2, every 500 ms)
        return "bench/delay_relay.py"

    def load(self, seconds: float, titles: Path, during=None) -> list[list]:
        """The client's closed loop for ``seconds``; ``during()`` runs meanwhile, here."""
        out = self.work / f"load-{time.monotonic_ns()}.json"
        url = f"http://{self.hosts.address('lb')}:{LB_PORT}"
        argv = [sys.executable, str(REPO / "bench" / "closed_loop.py"), url, str(seconds), "6",
                str(out), str(titles)]  # fmt: skip
        client = self.spawn("client", argv, "client.log")
        try:
            if during is not None:
                during()
            client.wait(timeout=seconds + 120)
        finally:
            stop_process_group(client)
        return json.loads(out.read_text())

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            stop_process_group(process)
        with contextlib.suppress(Exception):
            self.postgres("stop")


def _postgres_bin(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if not found:
        raise SystemExit("PostgreSQL is not installed (apt-get install postgresql)")
    return str(found[-1])


def _as_postgres(argv: list[str]) -> None:
    subprocess.run(["runuser", "-u", "postgres", "--", *argv], check=True, capture_output=True,
                   timeout=120)  # fmt: skip


def phase_partition(cluster: Cluster, titles: Path, scale: float) -> dict:
    """Replica 2's link down for 30 s (scaled), then up: failures beyond those in flight."""
    before, down_for, after = 5 * scale, 30 * scale, 20 * scale
    events: dict[str, float] = {}

    def fault() -> None:
        time.sleep(before)
        events["down"] = time.time()
        cluster.hosts.link("r2", up=False)
        time.sleep(down_for)
        cluster.hosts.link("r2", up=True)
        events["up"] = time.time()
        wait_for(lambda: healthy(cluster.hosts.address("r2"), REPLICA_PORT), 60, "replica 2")
        events["healthy"] = time.time()

    records = cluster.load(before + down_for + after, titles, fault)
    in_flight = [r for r in records if r[0] < events["down"] < r[1]]
    beyond = [r for r in records if r[2] != 200 and not (r[0] < events["down"] < r[1])]
    return {**summary(records), "in_flight_at_partition": len(in_flight),
            "failed_beyond_in_flight": len(beyond),
            "replica_back_s": round(events["healthy"] - events["up"], 2)}  # fmt: skip


def phase_database_down(cluster: Cluster, titles: Path, scale: float) -> dict:
    """PostgreSQL stopped for 20 s (scaled): quick 503s with Retry-After, then normal."""
    before, down_for, after = 5 * scale, 20 * scale, max(15.0, 20 * scale)
    events: dict[str, float] = {}

    def fault() -> None:
        time.sleep(before)
        events["stop"] = time.time()
        cluster.postgres("stop")
        time.sleep(down_for)
        events["start"] = time.time()
        cluster.postgres("start")
        events["started"] = time.time()

    records = cluster.load(before + down_for + after, titles, fault)
    outage = [r for r in records if events["stop"] <= r[0] < events["start"]]
    unclear = [r for r in outage if r[2] != 200 and not (r[2] == 503 and r[3])]
    late = [r for r in records if r[0] >= events["started"] and r[2] != 200]
    recovery = max((r[1] for r in late), default=events["started"]) - events["started"]
    return {**summary(records), "during_outage": len(outage),
            "slowest_during_outage_s": round(max((r[1] - r[0] for r in outage), default=0), 3),
            "unclear_during_outage": len(unclear),
            "normal_after_db_back_s": round(max(recovery, 0.0), 2)}  # fmt: skip


def phase_reindex(cluster: Cluster, titles: Path, corpus: Path, home: Path, scale: float):
    """A re-index on the writer (replica 1's host) publishing a new build mid-run."""
    from search.store import Store

    store = Store.open(_settings(cluster, home))
    published_before = len(store.builds.published())
    build_before = store.builds.current_id()
    events: dict[str, float] = {}

    def fault() -> None:
        time.sleep(3 * scale)
        env = {**cluster.env, "PAPERSEARCH_HOME": str(home),
               "PAPERSEARCH_DATABASE_URL": cluster.database_url,
               "PAPERSEARCH_LOG_FORMAT": "json"}  # fmt: skip
        events["start"] = time.time()
        writer = cluster.spawn("r1", [sys.executable, "-m", "papersearch", "reindex",
                                      str(corpus)], "reindex.log", env)  # fmt: skip
        writer.wait(timeout=1800)
        events["end"], events["exit"] = time.time(), writer.returncode
        for host in ("r1", "r2"):
            address = cluster.hosts.address(host)
            wait_for(lambda a=address: _build_of(a) not in (None, build_before), 60,
                     f"{host} on the new build")  # fmt: skip
        events["switched"] = time.time()

    records = cluster.load(max(40.0, 60 * scale), titles, fault)
    fresh = Store.open(_settings(cluster, home))
    expected = {json.loads(line)["id"] for line in corpus.read_text().splitlines()}
    served = set(fresh.papers.external_ids().values())
    return {**summary(records), "reindex_exit": events.get("exit"),
            "reindex_s": round(events["end"] - events["start"], 1),
            "builds_published": len(fresh.builds.published()) - published_before,
            "papers_lost": len(expected - served), "papers": len(served),
            "both_on_new_build_s": round(events["switched"] - events["end"], 2)}  # fmt: skip


def _build_of(address: str) -> int | None:
    """The build a replica serves (None: not healthy)."""
    return ((healthy(address, REPLICA_PORT) or {}).get("build") or {}).get("id")


def _settings(cluster: Cluster, home: Path):
    from search.base.settings import Settings

    return Settings.from_env(cluster.env, home=home, database_url=cluster.database_url)


def model_env(model: str) -> dict[str, str]:
    """all-MiniLM-L6-v2 (the real weights setup installs), or the caller's PAPERSEARCH_*."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if model == "minilm":
        env.update(PAPERSEARCH_BASE_MODEL=MINILM, PAPERSEARCH_PAPER_ADAPTER="none",
                   PAPERSEARCH_QUERY_ADAPTER="none", PAPERSEARCH_POOLING="mean")  # fmt: skip
    return env


def scenario(hosts: Hosts, work: Path, args) -> dict:
    from indexer.pipeline import index_corpus

    cluster = Cluster(hosts, work, model_env(args.model))
    try:
        cluster.start_database()
        hosts.many_connections("client")
        lines = SAMPLE.read_text().splitlines()[: args.papers]
        first, full = work / "first.jsonl", work / "full.jsonl"
        first.write_text("\n".join(lines[:-NEW_PAPERS]) + "\n")
        full.write_text("\n".join(lines) + "\n")
        titles = work / "titles.txt"
        titles.write_text("\n".join(json.loads(line)["title"] for line in lines[:300]))
        home = work / "data"
        print(f"indexing {len(lines) - NEW_PAPERS} papers into PostgreSQL on the pg host",
              flush=True)  # fmt: skip
        index_corpus(_settings(cluster, home), [first])
        cluster.start_replicas(home, cluster.direct_url)
        cluster.start_haproxy()
        scale, phases, wanted = args.scale, {}, set(args.phases.split(","))
        if "baseline" in wanted:
            phases["baseline"] = summary(cluster.load(10 * scale, titles))
        if "latency" in wanted:
            how = cluster.slow_database_link(True, home)
            try:
                phases["latency and loss"] = {**summary(cluster.load(30 * scale, titles)),
                                              "latency_by": how}  # fmt: skip
            finally:
                cluster.slow_database_link(False, home)
        if "partition" in wanted:
            phases["partition"] = phase_partition(cluster, titles, scale)
        if "database" in wanted:
            phases["database down"] = phase_database_down(cluster, titles, scale)
        if "reindex" in wanted:
            phases["re-index"] = phase_reindex(cluster, titles, full, home, scale)
        return phases
    finally:
        cluster.stop_all()
        if args.logs:
            args.logs.mkdir(parents=True, exist_ok=True)
            for log in work.glob("*.log"):
                shutil.copy(log, args.logs / log.name)


def report(phases: dict) -> None:
    columns = ("requests", "failed", "5xx", "p50_ms", "p99_ms")
    print(f"{'phase':<18}" + "".join(f"{c:>10}" for c in columns) + "  more")
    for name, row in phases.items():
        more = ", ".join(f"{k}={v}" for k, v in row.items() if k not in columns)
        print(f"{name:<18}" + "".join(f"{row[c]:>10}" for c in columns) + f"  {more}")
    down = phases.get("database down")
    part = phases.get("partition")
    re_index = phases.get("re-index")
    checks = {}
    if part:
        checks["0 failed beyond those in flight at the partition"] = (
            part["failed_beyond_in_flight"] == 0
        )
    if down:
        checks["database down: every answer within 2 s"] = (
            down["slowest_during_outage_s"] <= GOALS["answer_while_db_down_s"]
        )
        checks["database down: each a result or a 503 with Retry-After"] = (
            down["unclear_during_outage"] == 0
        )
        checks["normal answers within 10 s of the database's return"] = (
            down["normal_after_db_back_s"] <= GOALS["normal_after_db_back_s"]
        )
    if re_index:
        checks["re-index: nothing lost, published once, 0 failed"] = (
            re_index["papers_lost"] == 0
            and re_index["builds_published"] == 1
            and re_index["failed"] == 0
        )
    for goal, met in checks.items():
        print(f"{'met' if met else 'MISSED':>6}  {goal}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--papers", type=int, default=1000)
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies phase lengths")
    parser.add_argument("--model", choices=("minilm", "env"), default="minilm",
                        help="env: the model the PAPERSEARCH_* variables name")  # fmt: skip
    parser.add_argument("--json", type=Path, help="write the figures here too")
    parser.add_argument("--phases", default=",".join(PHASES),
                        help=f"some of {','.join(PHASES)}")  # fmt: skip
    parser.add_argument("--logs", type=Path, help="copy the servers' logs here")
    args = parser.parse_args()
    lacking = missing_tools() + [t for t in ("haproxy", "runuser") if not shutil.which(t)]
    if lacking:
        print(f"skipped: this machine lacks {', '.join(lacking)}")
        return 0
    work = Path(tempfile.mkdtemp(prefix="papersearch-hosts-"))
    work.chmod(0o755)
    try:
        with Hosts(HOSTS) as hosts:
            phases = scenario(hosts, work, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(phases)
    if args.json:
        args.json.write_text(json.dumps(phases, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
