"""The service as operators run it: two gunicorn replicas of two workers each behind HAProxy
(deploy/haproxy.cfg), rate limits counted in one Redis, metrics added up across
workers, and request ids from HAProxy in the replicas' JSON logs."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from prometheus_client.parser import text_string_to_metric_families

from indexer.pipeline import index_corpus
from tests.helpers import sample_lines, write_lines
from tests.services import get, gunicorn_replica, haproxy, redis_server

pytestmark = pytest.mark.slow
LIMIT = 50


@pytest.fixture(scope="module")
def service(tmp_path_factory, tiny_encoder):
    """Redis, two replicas (2 workers each, JSON logs, HAProxy trusted), HAProxy."""
    from search.base.settings import Settings

    root = tmp_path_factory.mktemp("service")
    settings = Settings(home=root / "data")
    index_corpus(settings, [write_lines(root / "c.jsonl", sample_lines(200))],
                 encoder=tiny_encoder)  # fmt: skip
    with redis_server(root) as redis_url:
        env = {
            "PAPERSEARCH_RATE_LIMIT": str(LIMIT),
            "PAPERSEARCH_RATE_LIMIT_STORAGE": redis_url,
            "PAPERSEARCH_TRUSTED_PROXIES": "127.0.0.1",
            "PAPERSEARCH_LOG_FORMAT": "json",
        }
        logs = [root / "replica-1.log", root / "replica-2.log"]
        with (
            gunicorn_replica(settings, logs[0], **env) as one,
            gunicorn_replica(settings, logs[1], **env) as two,
            haproxy([one, two]) as port,
        ):
            yield {"port": port, "replicas": [one, two], "logs": logs}


def test_each_client_gets_its_own_limit_across_replicas_and_workers(service):
    """200 requests through HAProxy from two client addresses, 50 a minute each: each
    gets its 50 however HAProxy spreads them over 2 replicas × 2 workers. A third client
    forging X-Forwarded-For gets 50 too: the forged values are never read."""
    port = service["port"]
    statuses: dict[str, Counter] = {"127.0.0.2": Counter(), "127.0.0.3": Counter()}
    retry_after = set()
    for n in range(200):
        client = "127.0.0.2" if n % 2 else "127.0.0.3"
        path = "/api/v1/papers/1" if n % 3 else "/api/v1/search?q=graph+learning&mode=keyword"
        status, headers, body = get("127.0.0.1", port, path, source=client)
        statuses[client][status] += 1
        if status == 429:
            retry_after.add(int(headers["Retry-After"]))
    assert statuses["127.0.0.2"] == Counter({200: LIMIT, 429: 100 - LIMIT})
    assert statuses["127.0.0.3"] == Counter({200: LIMIT, 429: 100 - LIMIT})
    assert retry_after and all(1 <= wait <= 60 for wait in retry_after)
    forged = Counter(
        get("127.0.0.1", port, "/api/v1/papers/1", source="127.0.0.4",
            headers={"X-Forwarded-For": f"198.51.100.{n}"})[0]
        for n in range(LIMIT + 10)
    )  # fmt: skip
    assert forged == Counter({200: LIMIT, 429: 10})


def test_the_metrics_cannot_be_walked_around(service):
    """Through HAProxy no spelling of the path reaches them; on a replica itself only its
    allowed peers (loopback's 127.0.0.1 by default) read them."""
    for path in ("/metrics", "//metrics", "/%6detrics", "/%2fmetrics", "/./metrics",
                 "/metrics/", "///metrics?x=1"):  # fmt: skip
        status, _, body = get("127.0.0.1", service["port"], path)
        assert status == 403 and b"papersearch_" not in body, path
    replica = service["replicas"][0]
    for path in ("/metrics", "//metrics", "/%6detrics"):
        status, _, body = get("127.0.0.1", replica, path, source="127.0.0.2")
        assert status in (308, 403, 404) and b"papersearch_" not in body, path
    refused = get("127.0.0.1", replica, "/metrics", source="127.0.0.2")
    assert refused[0] == 403 and b"PAPERSEARCH_METRICS_ALLOW" in refused[2]
    assert get("127.0.0.1", replica, "/metrics")[0] == 200


def test_metrics_add_up_across_the_workers_of_a_replica(service):
    replica = service["replicas"][1]

    def scrape() -> dict:
        status, _, body = get("127.0.0.1", replica, "/metrics")
        assert status == 200
        return {(s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(body.decode())
                for s in family.samples}  # fmt: skip

    def searches(page: dict, mode: str) -> float:
        wanted = {("route", "/api/v1/search"), ("mode", mode)}
        return sum(v for (name, labels), v in page.items()
                   if name == "papersearch_request_duration_seconds_count"
                   and wanted <= set(labels))  # fmt: skip

    before = scrape()
    sent = Counter()
    for n in range(40):  # from addresses of their own: the rate limit is not in the way
        mode = ("semantic", "keyword", "hybrid")[n % 3]
        path = f"/api/v1/search?q=neural+networks+{n}&mode={mode}"
        status, _, _ = get("127.0.0.1", replica, path, source=f"127.0.1.{n}")
        assert status == 200
        sent[mode] += 1
    after = scrape()
    for mode, count in sent.items():
        assert searches(after, mode) - searches(before, mode) == count, mode
    workers = {dict(labels)["pid"] for (name, labels), _ in after.items()
               if name == "papersearch_build_served"}  # fmt: skip
    assert len(workers) == 2  # one series per worker: both answered, both counted


def test_haproxy_request_ids_reach_the_replicas_json_logs(service):
    status, headers, _ = get("127.0.0.1", service["port"], "/api/v1/papers/2", source="127.0.0.9")
    request_id = headers["X-Request-ID"]
    assert status == 200 and request_id
    lines = [json.loads(line) for log in service["logs"]
             for line in log.read_text().splitlines() if line.startswith("{")]  # fmt: skip
    mine = [line for line in lines if line.get("request_id") == request_id]
    assert len(mine) == 1 and mine[0]["client"] == "127.0.0.9" and mine[0]["status"] == 200
    assert mine[0]["route"] == "/api/v1/papers/<path:paper_id>" and mine[0]["build"] == 1
