"""Hardening: the API contract fuzzed against a live server, security headers and bounds,
corrupt index files, a full disk during a build, and corpus readers fed arbitrary bytes."""

from __future__ import annotations

import errno
import json
import logging
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.pipeline import index_corpus, run
from indexer.readers import Reject, read_corpus
from search.base.settings import Settings, SettingsError
from search.engine.engine import SearchEngine
from search.engine.provider import EngineProvider
from search.store import Store
from tests.helpers import paper_rows, sample_lines, serve_in_thread, settings_on, write_lines
from web import create_app
from web.bodies import BODY_BYTES as MAX_BODY_BYTES
from web.openapi import openapi_document

HOSTILE = {
    "id": "6666.00001",
    "title": '<script>alert(1)</script> Robert\'); DROP TABLE papers;-- "quoted" {braces}',
    "summary": "<img src=x onerror=alert(2)> =cmd|' /C calc'!A0 javascript:alert(3)",
    "authors": ["<b>Bold</b> Author", '=HYPERLINK("http://x")'],
    "categories": ["cs.CR"],
    "abs": "javascript:alert(4)",
    "journal_ref": "<i>Venue</i>",
}


@pytest.fixture(scope="module")
def app_settings(tmp_path_factory, tiny_encoder, module_backend, postgres) -> Settings:
    root = tmp_path_factory.mktemp("hardening")
    settings = settings_on(module_backend, root / "data", postgres, "hardening")
    corpus = write_lines(root / "c.jsonl", sample_lines(300) + [json.dumps(HOSTILE)])
    index_corpus(settings, [corpus], encoder=tiny_encoder)
    return settings


# -- the contract, fuzzed -------------------------------------------------------------------


@pytest.fixture(scope="module")
def live_api(app):
    schemathesis = pytest.importorskip("schemathesis")
    with serve_in_thread(app) as url:
        schema = schemathesis.openapi.from_url(f"{url}/api/v1/openapi.json")
        schema.config.update(base_url=url)
        yield schema


@pytest.mark.slow
def test_schemathesis_finds_no_server_error_and_no_schema_violation(live_api):
    """Every operation in the OpenAPI document, with generated valid and invalid inputs,
    against a live server: no 5xx, every response conforms to the document (status, media
    type, headers, body), and schema-invalid requests are refused."""
    from schemathesis.checks import positive_data_acceptance

    failures, operations = [], []
    for result in live_api.get_all_operations():
        operation = result.ok()  # raises if the document has an operation it cannot read
        operations.append(operation.label)

        @settings(max_examples=30, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(case=operation.as_strategy())
        def check(case):
            # Schema-valid but semantically wrong input (a year range that ends before it
            # starts) may be refused with a 4xx: only that heuristic check is left out.
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        try:
            check()
        except Exception as exc:  # the minimal failing example, as hypothesis reports it
            failures.append(f"{operation.label}: {exc}")
    paths = openapi_document()["paths"]
    documented = {f"{method.upper()} {path}" for path in paths for method in paths[path]}
    documented.discard("GET /api/v1/openapi.json")
    assert set(operations) == documented  # every operation but the document itself
    assert failures == [], "\n\n".join(failures)


# -- web security -------------------------------------------------------------------------


def test_security_headers_on_every_kind_of_response(client):
    for url in ("/", "/?q=graph", "/api/v1/search?q=graph", "/api/v1/nope", "/static/app.js",
                "/papers/1", "/about"):  # fmt: skip
        response = client.get(url)
        csp = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["X-Frame-Options"] == "DENY"


def test_pages_hold_no_inline_script_or_style(client):
    import re

    for url in ("/", "/?q=graph&mode=hybrid", "/papers/1", "/about", "/example"):
        html = client.get(url).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
        assert "<style" not in html and " style=" not in html and "onclick" not in html


def test_no_debug_and_no_stack_traces(app, client, monkeypatch):
    assert app.debug is False and len(app.config["SECRET_KEY"]) >= 32
    from search.engine import engine as engine_module

    def explode(*args, **kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(engine_module.SearchEngine, "search", explode)
    for url in ("/api/v1/search?q=x", "/?q=x"):
        response = client.get(url)
        assert response.status_code == 500
        body = response.get_data(as_text=True)
        assert "secret internal detail" not in body and "Traceback" not in body


def test_oversized_body_is_413_with_the_error_shape(client):
    response = client.post(
        "/api/v1/recommendations", data="x" * (MAX_BODY_BYTES + 1), content_type="application/json"
    )
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "request_entity_too_large"


def test_only_the_library_endpoints_write(app):
    """No PUT, PATCH or DELETE; of the POST endpoints, only the BibTeX library ones (the
    library, for its feed) and the email alerts' (a subscription and its state) store
    anything."""
    writers = [
        rule.rule for rule in app.url_map.iter_rules() if rule.methods & {"PUT", "PATCH", "DELETE"}
    ]
    assert writers == []
    posts = sorted(r.rule for r in app.url_map.iter_rules() if "POST" in r.methods)
    assert posts == ["/alerts", "/alerts/confirm", "/alerts/unsubscribe",
                     "/api/v1/recommendations", "/api/v1/recommendations/from_bibtex",
                     "/api/v1/search/by_example", "/example", "/library"]  # fmt: skip


def test_hostile_corpus_text_is_inert_in_pages_and_exports(client):
    import csv
    import io

    import bibtexparser

    paper = client.get("/api/v1/search?q=robert+drop+table&mode=keyword&k=1").get_json()
    hit = paper["results"][0]
    assert hit["external_id"] == HOSTILE["id"]
    assert hit["url"] == f"https://arxiv.org/abs/{HOSTILE['id']}"  # the javascript: link dropped
    for html in (
        client.get(f"/papers/{hit['id']}").get_data(as_text=True),
        client.get("/?q=robert+drop+table&mode=keyword").get_data(as_text=True),
        client.get(f"/recommend?like={hit['id']}").get_data(as_text=True),
    ):
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "<b>Bold</b>" not in html and "<i>Venue</i>" not in html
        assert 'href="javascript:' not in html
    bib = client.get("/api/v1/search?q=robert+drop+table&mode=keyword&k=3&format=bibtex")
    library = bibtexparser.parse_string(bib.get_data(as_text=True))
    assert not library.failed_blocks and len(library.entries) == 3
    rows = list(csv.reader(io.StringIO(
        client.get("/api/v1/search?q=robert+drop+table&mode=keyword&k=3&format=csv")
        .get_data(as_text=True))))  # fmt: skip
    assert all(not cell.startswith(("=", "+", "@")) for row in rows for cell in row)


@pytest.mark.parametrize(
    "param",
    ["q", "venue", "category", "author", "year", "mode", "format", "k", "offset"],
)
def test_every_query_parameter_is_safe_against_sql_injection(client, app_settings, param):
    injections = ["' OR '1'='1", "1; DROP TABLE papers; --", "\" OR 1=1 --", "%' --",
                  "') UNION SELECT sql FROM sqlite_master --"]  # fmt: skip
    for value in injections:
        response = client.get("/api/v1/search", query_string={"q": "graph", param: value})
        assert response.status_code in (200, 400, 422), (param, value)
        if response.status_code == 200 and param in ("venue", "category", "author"):
            assert response.get_json()["results"] == []
    assert paper_rows(app_settings) == 301


# -- faults -------------------------------------------------------------------------------


def test_a_corrupt_index_file_is_never_loaded_and_the_last_good_build_serves(
    backend, postgres, tmp_path, tiny_encoder, caplog
):
    settings = settings_on(backend, tmp_path / "data", postgres, f"corrupt_{backend}")
    lines = sample_lines(704)

    def corpus(n: int):  # one paper more each time: distinct builds, none pruned as a twin
        return write_lines(tmp_path / f"c{n}.jsonl", lines[:n])  # enough for IVF

    first = index_corpus(settings, [corpus(700)], encoder=tiny_encoder)
    second = index_corpus(settings, [corpus(701)], encoder=tiny_encoder)
    store = Store.open(settings, migrate=True)
    path = store.builds.files(store.builds.get(second.build_id)).index
    with open(path, "r+b") as fh:  # truncated mid-write, say
        fh.truncate(1000)

    provider = EngineProvider(settings, tiny_encoder)
    with caplog.at_level(logging.ERROR, logger="papersearch"):
        engine = provider.get()
    assert engine.build.id == first.build_id
    assert f"index build {second.build_id}" in caplog.text and "checksum" in caplog.text
    assert engine.search("graph", k=3).results

    # A running server meeting a corrupt new build keeps its build and says so, once.
    third = index_corpus(settings, [corpus(702)], encoder=tiny_encoder)
    healthy = EngineProvider(settings, tiny_encoder)
    assert healthy.get().build.id == third.build_id
    fourth = index_corpus(settings, [corpus(703)], encoder=tiny_encoder)
    fourth_path = store.builds.files(store.builds.get(fourth.build_id)).index
    with open(fourth_path, "r+b") as fh:
        fh.seek(5000)
        fh.write(b"\0" * 64)  # same size, different bytes
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="papersearch"):
        assert healthy.refresh() is False
        assert healthy.refresh() is False
    assert healthy.get().build.id == third.build_id
    assert caplog.text.count(f"index build {fourth.build_id}") == 1
    assert f"still serving build {third.build_id}" in caplog.text

    # The next re-index, though nothing changed, does not keep the corrupt build, nor reuse
    # its centroids.
    summary = run(settings, [corpus(703)], retrain=None, encoder=tiny_encoder)
    assert summary.published and summary.build_id == fourth.build_id + 1
    assert summary.retrained and "cannot be reused" in summary.retrain_reason
    assert SearchEngine.open(settings, encoder=tiny_encoder).build.id == summary.build_id


def test_a_corrupt_keyword_index_is_refused_by_checksum_and_the_last_good_build_serves(
    backend, postgres, tmp_path, tiny_encoder, caplog
):
    from search.keyword_index.documents import Manifest

    settings = settings_on(backend, tmp_path / "data", postgres, f"corrupt_kw_{backend}")
    lines = sample_lines(702)
    first = index_corpus(settings, [write_lines(tmp_path / "a.jsonl", lines[:700])],
                         encoder=tiny_encoder)  # fmt: skip
    second = run(settings, [write_lines(tmp_path / "b.jsonl", lines[:701])], encoder=tiny_encoder)
    store = Store.open(settings)
    directory = store.builds.files(store.builds.get(second.build_id)).keywords
    assert Manifest.read(directory).derived_from == first.build_id  # one paper more: derived
    largest = max((p for p in directory.iterdir() if p.is_file()), key=lambda p: p.stat().st_size)
    with open(largest, "r+b") as fh:  # one byte of the index changed on disk
        byte = fh.read(1)
        fh.seek(0)
        fh.write(bytes([byte[0] ^ 0xFF]))

    with caplog.at_level(logging.ERROR, logger="papersearch"):
        engine = EngineProvider(settings, tiny_encoder).get()
    assert engine.build.id == first.build_id  # never handed to Tantivy
    assert f"index build {second.build_id}" in caplog.text and "checksum" in caplog.text
    assert engine.search("graph", k=3, mode="keyword").results

    # The next re-index writes its keyword index afresh: nothing is taken from the corrupt one.
    third = run(settings, [write_lines(tmp_path / "c.jsonl", lines)], encoder=tiny_encoder)
    built = Store.open(settings).builds.get(third.build_id)
    assert Manifest.read(settings.builds_dir / built.keywords_path).derived_from is None
    served = SearchEngine.open(settings, encoder=tiny_encoder)
    assert served.build.id == third.build_id and served.keywords.papers == 702


def test_a_full_disk_during_a_build_keeps_the_current_build_and_the_store(
    backend, postgres, tmp_path, tiny_encoder, monkeypatch
):
    import faiss

    settings = settings_on(backend, tmp_path / "data", postgres, f"full_disk_{backend}")
    lines = sample_lines(250)
    first = index_corpus(settings, [write_lines(tmp_path / "a.jsonl", lines[:200])],
                         encoder=tiny_encoder)  # fmt: skip
    real_write = faiss.write_index

    def disk_full(index, path):
        real_write(index, path)
        with open(path, "r+b") as fh:
            fh.truncate(512)  # part of the file made it to disk
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(faiss, "write_index", disk_full)
    more = write_lines(tmp_path / "b.jsonl", lines)
    with pytest.raises(OSError, match="No space left"):
        run(settings, [more], encoder=tiny_encoder)
    monkeypatch.setattr(faiss, "write_index", real_write)

    store = Store.open(settings, migrate=True)
    assert store.builds.current().id == first.build_id
    assert sorted(p.name for p in settings.builds_dir.iterdir()) == [
        f"build-{first.build_id:06d}.faiss",
        f"build-{first.build_id:06d}.graph",
        f"build-{first.build_id:06d}.keywords",
    ]  # no partial file left behind
    assert paper_rows(settings) == 250  # stored before the build failed, and intact
    engine = SearchEngine.open(settings, encoder=tiny_encoder)
    assert engine.index.ntotal == 200 and engine.search("graph", k=5).results
    summary = run(settings, [more], encoder=tiny_encoder)  # space again: it finishes
    assert summary.vector_count == 250 and summary.embedded == 0  # vectors were kept


GOOD = [json.loads(line) for line in sample_lines(40)]


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    junk=st.lists(st.binary(min_size=1, max_size=200), min_size=1, max_size=15),
    positions=st.lists(st.integers(0, 40), min_size=15, max_size=15),
)
def test_readers_survive_arbitrary_bytes(tmp_path_factory, junk, positions):
    """Good records mixed with random bytes: every good record is kept, every bad line is
    reported (with its line number), and nothing raises."""
    lines: list[bytes] = [json.dumps(row).encode() for row in GOOD]
    bad_lines = 0
    for blob, at in zip(junk, positions, strict=False):
        for piece in blob.replace(b"\r", b"\n").split(b"\n"):
            if piece.strip():
                lines.insert(at, piece)
                bad_lines += 1
    path = tmp_path_factory.mktemp("junk") / "corpus.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    items = list(read_corpus(path, "arxiv"))
    records = [item for _, item in items if not isinstance(item, Reject)]
    rejects = [(n, item) for n, item in items if isinstance(item, Reject)]
    good_ids = {row["id"] for row in GOOD}
    assert good_ids <= {r.external_id for r in records}
    # A random line is rejected unless it happens to be a valid record itself.
    assert len(records) - len(GOOD) + len(rejects) == bad_lines
    assert all(n >= 1 and reject.reason for n, reject in rejects)


# -- bounds -------------------------------------------------------------------------------


def test_a_query_longer_than_the_model_reads_is_refused(client):
    response = client.get("/api/v1/search", query_string={"q": "ab " * 600})  # < 2,000 chars
    assert response.status_code == 422
    body = response.get_json()["error"]
    assert body["code"] == "query_too_long" and "the model reads at most 512" in body["message"]
    keyword = client.get("/api/v1/search", query_string={"q": "ab " * 600, "mode": "keyword"})
    assert keyword.status_code == 200  # no model involved


def test_a_query_that_cannot_be_encoded_in_time_is_503_with_retry_after(app, client, monkeypatch):
    encoder = app.extensions["papersearch"].encoder
    monkeypatch.setattr(encoder, "query_timeout", 0.05)
    held = [encoder._query_slots.acquire(timeout=1) for _ in range(2)]  # every slot busy
    query = f"/api/v1/search?q=a+query+never+seen+before+{uuid.uuid4().hex}"  # not cached
    try:
        response = client.get(query)
    finally:
        for _ in held:
            encoder._query_slots.release()
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    assert response.get_json()["error"]["code"] == "busy"
    assert client.get(query).status_code == 200


def test_rate_limit_answers_429_with_retry_after(app_settings, client_on):
    limited = client_on(app_settings.replace(rate_limit=5))
    codes = [limited.get("/api/v1/papers/1").status_code for _ in range(7)]
    assert codes == [200] * 5 + [429] * 2
    refused = limited.get("/api/v1/search?q=graph")
    assert refused.get_json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "try again in" in refused.get_json()["error"]["message"]
    assert limited.get("/static/style.css").status_code == 200  # assets are not counted
    assert limited.get("/api/v1/health").status_code == 200  # nor the load balancer's checks
    page = limited.get("/?q=graph")
    assert page.status_code == 429 and "try again in" in page.get_data(as_text=True)
    other = limited.get("/api/v1/papers/1", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 200  # per address
    assert client_on(app_settings).get("/").status_code == 200


def test_forwarded_addresses_count_only_from_trusted_proxies(app_settings, client_on):
    """Behind a trusted proxy each client has its own limit; X-Forwarded-For from anyone
    else, or written by the client before the proxy's own value, is not read."""
    limited = client_on(app_settings.replace(rate_limit=3, trusted_proxies=("10.0.0.0/24",)))

    def status(peer: str, forwarded: str | None = None) -> int:
        headers = {"X-Forwarded-For": forwarded} if forwarded else {}
        environ = {"REMOTE_ADDR": peer}
        return limited.get("/api/v1/papers/1", headers=headers, environ_base=environ).status_code

    via_proxy = [status("10.0.0.5", f"192.0.2.{1 + n % 2}") for n in range(6)]
    assert via_proxy == [200] * 6  # two clients, three each
    assert status("10.0.0.5", "192.0.2.1") == 429
    # a client that forges the header: the proxy appends what it saw, which is read
    assert status("10.0.0.5", "198.51.100.7, 192.0.2.1") == 429
    # the header from an untrusted peer is ignored: the peer is the client
    assert [status("203.0.113.9", f"198.51.100.{n}") for n in range(4)] == [200] * 3 + [429]
    # a chain of trusted proxies: the last address that is not one of them
    assert status("10.0.0.5", "192.0.2.50, 10.0.0.7") == 200


def test_trusted_proxies_give_the_scheme_and_the_address(app_settings, tiny_encoder):
    from web.proxies import TrustedProxies

    proxies = TrustedProxies(None, ["10.0.0.0/24", "::1"])
    assert proxies.trusts("10.0.0.200") and proxies.trusts("::1") and not proxies.trusts("x")
    assert proxies.hops("203.0.113.1") == 1
    assert proxies.hops("203.0.113.1, 10.0.0.9") == 2
    assert proxies.hops("10.0.0.8, 10.0.0.9") == 2  # all trusted: the first one
    with pytest.raises(SettingsError, match="PAPERSEARCH_TRUSTED_PROXIES"):
        app_settings.replace(trusted_proxies="10.0.0.300")
    app = create_app(app_settings.replace(trusted_proxies=("10.0.0.5",)), encoder=tiny_encoder)
    seen = {}

    @app.get("/whoami")
    def whoami():
        from flask import request

        seen.update(address=request.remote_addr, scheme=request.scheme)
        return ""

    headers = {"X-Forwarded-For": "192.0.2.1", "X-Forwarded-Proto": "https"}
    app.test_client().get("/whoami", headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.5"})
    assert seen == {"address": "192.0.2.1", "scheme": "https"}
    app.test_client().get("/whoami", headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.6"})
    assert seen == {"address": "10.0.0.6", "scheme": "http"}


@pytest.mark.slow
def test_a_missing_model_stops_the_server_at_start_up_with_a_clear_error(app_settings, tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "PAPERSEARCH_HOME": str(app_settings.home),
           "PAPERSEARCH_DATABASE_URL": app_settings.database_url,
           "PAPERSEARCH_BASE_MODEL": str(tmp_path / "no-such-model")}  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", "import web.wsgi"], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode != 0
    assert "ModelUnavailable" in proc.stderr and "does not exist" in proc.stderr


def test_rate_limits_fall_back_to_memory_while_redis_is_unreachable(app_settings, client_on):
    """A shared count that cannot be reached refuses no one for it: the limit is counted
    in this process until the storage is back."""
    from tests.helpers import free_port

    unreachable = f"redis://127.0.0.1:{free_port()}"
    limited = client_on(app_settings.replace(rate_limit=3, rate_limit_storage=unreachable))
    codes = [limited.get("/api/v1/papers/1").status_code for _ in range(5)]
    assert codes == [200] * 3 + [429] * 2
