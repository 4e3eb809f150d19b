"""What an operator watches: request ids, JSON log lines, the Prometheus endpoint, and the
re-index's outcome file. (Across gunicorn workers and hosts: tests/test_service.py.)"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from papersearch import main
from search.base.metrics import markdown_table
from tests.helpers import REPO, cli_args, sample_lines, write_lines
from web import create_app


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of a Prometheus text page."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def count(page: dict, name: str, **labels) -> float:
    """The sum of the samples called ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in page.items() if n == name and wanted <= set(ls))


@pytest.fixture
def json_logs():
    """JSON log lines for one test; the handler goes again after it."""
    import logging

    from search.base.logs import HANDLER_NAME

    yield
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(handler)


def test_a_request_id_is_kept_or_made_and_logged_in_one_json_line(
    engine, tiny_encoder, capsys, json_logs
):
    app = create_app(engine.settings.replace(log_format="json"), encoder=tiny_encoder)
    client = app.test_client()
    capsys.readouterr()
    response = client.get("/api/v1/search?q=graph+networks&mode=keyword",
                          headers={"X-Request-ID": "lb-4f2a.77"})  # fmt: skip
    assert response.status_code == 200 and response.headers["X-Request-ID"] == "lb-4f2a.77"
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    line = next(entry for entry in lines if entry["logger"] == "papersearch.requests")
    assert line["request_id"] == "lb-4f2a.77" and line["route"] == "/api/v1/search"
    assert line["status"] == 200 and line["mode"] == "keyword" and line["latency_ms"] > 0
    assert line["build"] == engine.build.id and line["level"] == "info"

    for given in (None, "x" * 200, "bad id; drop table"):  # none, or not a sane token
        headers = {"X-Request-ID": given} if given else {}
        made = client.get("/api/v1/papers/1", headers=headers).headers["X-Request-ID"]
        assert len(made) == 32 and made != given
    capsys.readouterr()
    refused = client.get("/api/v1/search?q=x&k=0")
    line = json.loads(capsys.readouterr().err.splitlines()[-1])
    assert line["status"] == 422 and line["error"] == refused.get_json()["error"]["code"]
    assert line["request_id"] == refused.headers["X-Request-ID"]


def test_the_metrics_page_counts_requests_by_route_and_mode_and_errors_by_code(
    engine, tiny_encoder
):
    client = create_app(engine.settings, encoder=tiny_encoder).test_client()
    before = samples(client.get("/metrics").get_data(as_text=True))
    for mode in ("semantic", "keyword", "hybrid", "keyword"):
        assert client.get(f"/api/v1/search?q=protein+folding&mode={mode}").status_code == 200
    missing = client.get("/api/v1/papers/999999999")
    assert missing.status_code == 404
    page = client.get("/metrics")
    assert page.status_code == 200 and page.mimetype == "text/plain"
    after = samples(page.get_data(as_text=True))

    def grew(name: str, **labels) -> float:
        return count(after, name, **labels) - count(before, name, **labels)

    route = "/api/v1/search"
    seconds = "papersearch_request_duration_seconds_count"
    assert grew(seconds, route=route, mode="keyword") == 2
    assert grew(seconds, route=route, mode="semantic") == 1
    assert grew("papersearch_errors_total", code=missing.get_json()["error"]["code"]) == 1
    assert grew("papersearch_ann_seconds_count") >= 2  # semantic and hybrid
    assert grew("papersearch_keyword_seconds_count") >= 3  # keyword twice, hybrid
    assert count(after, "papersearch_build_served") == engine.build.id
    assert count(after, "papersearch_papers_served") == engine.index.ntotal
    assert count(after, "papersearch_build_published_timestamp_seconds") > 1.7e9


def test_only_allowed_peers_read_the_metrics_and_never_through_a_proxy(engine, tiny_encoder):
    app = create_app(engine.settings.replace(trusted_proxies=("127.0.0.1",)),
                     encoder=tiny_encoder)  # fmt: skip
    client = app.test_client()
    assert client.get("/metrics").status_code == 200  # loopback, directly
    outside = {"REMOTE_ADDR": "10.1.2.3"}
    for path in ("/metrics", "//metrics", "/%6detrics", "/%2fmetrics"):
        answer = client.get(path, environ_base=outside)
        assert answer.status_code in (308, 403, 404), path  # 308: to /metrics, refused there
        assert b"papersearch_" not in answer.data, path
    refused = client.get("/metrics", environ_base=outside)
    assert refused.status_code == 403 and b"PAPERSEARCH_METRICS_ALLOW" in refused.data
    forwarded = client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"})
    assert forwarded.status_code == 403  # HAProxy's, from an allowed peer: still refused
    wider = create_app(engine.settings.replace(metrics_allow=("10.1.0.0/16",)),
                       encoder=tiny_encoder).test_client()  # fmt: skip
    assert wider.get("/metrics", environ_base=outside).status_code == 200


def test_the_metrics_path_moves_or_turns_off(engine, tiny_encoder):
    moved = create_app(engine.settings.replace(metrics_path="/internal/metrics"),
                       encoder=tiny_encoder).test_client()  # fmt: skip
    assert moved.get("/internal/metrics").status_code == 200
    assert moved.get("/metrics").status_code == 404
    off = create_app(engine.settings.replace(metrics_path=""), encoder=tiny_encoder)
    assert off.test_client().get("/metrics").status_code == 404
    limited = create_app(engine.settings.replace(rate_limit=1), encoder=tiny_encoder)
    scrapes = [limited.test_client().get("/metrics").status_code for _ in range(3)]
    assert scrapes == [200] * 3  # Prometheus is never rate limited


def test_reindex_writes_its_outcome_for_prometheus_and_the_server_shows_it(
    settings, tmp_path, tiny_encoder, json_logs
):
    from indexer.pipeline import index_corpus

    corpus = write_lines(tmp_path / "c.jsonl", sample_lines(60))
    index_corpus(settings, [corpus], encoder=tiny_encoder)
    grown = write_lines(tmp_path / "d.jsonl", sample_lines(64))
    # the tiny model is in the tests' HF cache under the real hub ids: reindex loads it
    out = CliRunner().invoke(main, ["reindex", str(grown), "--log-format", "json",
                                    *cli_args(settings)])  # fmt: skip
    assert out.exit_code == 0, out.output
    outcome = samples(settings.reindex_metrics_file.read_text())
    assert outcome[("papersearch_reindex_success", ())] == 1
    assert outcome[("papersearch_reindex_papers_embedded", ())] == 4
    assert outcome[("papersearch_reindex_published_build", ())] == 2
    assert outcome[("papersearch_reindex_duration_seconds", ())] > 0
    scraped = samples(create_app(settings, encoder=tiny_encoder).test_client()
                      .get("/metrics").get_data(as_text=True))  # fmt: skip
    assert scraped[("papersearch_reindex_published_build", ())] == 2

    missing = CliRunner().invoke(main, ["reindex", str(tmp_path / "nope.jsonl"),
                                        *cli_args(settings)])  # fmt: skip
    assert missing.exit_code != 0
    failed = samples(settings.reindex_metrics_file.read_text())
    assert failed[("papersearch_reindex_success", ())] == 0


def test_the_docs_list_every_metric():
    assert markdown_table() in (REPO / "docs" / "web.md").read_text()


def test_the_indexer_logs_json_lines_when_asked(settings, tmp_path, json_logs):
    corpus = write_lines(tmp_path / "c.jsonl", sample_lines(20))
    out = CliRunner().invoke(main, ["index", str(corpus), "--log-format", "json",
                                    *cli_args(settings)])  # fmt: skip
    assert out.exit_code == 0, out.output
    lines = [json.loads(line) for line in out.stderr.splitlines() if line.startswith("{")]
    stages = {line["stage"]: line for line in lines if line["logger"] == "papersearch.indexer"}
    assert stages["read"]["added"] == 20 and stages["read"]["pending"] == 20
    assert stages["done"]["embedded"] == 20 and stages["done"]["published"] is True


def test_gunicorns_master_imports_no_metrics_before_it_sets_their_directory():
    """gunicorn imports web.gunicorn_conf (and so the web package) in its master process:
    metrics imported there, before PROMETHEUS_MULTIPROC_DIR is set, would be per process
    in every worker it forks, and a scrape would count one worker."""
    import subprocess
    import sys

    code = (
        "import sys, web.gunicorn_conf; "
        "print(sorted(m for m in ('prometheus_client', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO, timeout=120)  # fmt: skip
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr
