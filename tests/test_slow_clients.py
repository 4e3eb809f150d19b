"""Clients at the edges of HTTP, against gunicorn alone and behind HAProxy
(deploy/haproxy.cfg): slow clients hold no thread (bodies sent a byte every few seconds,
and PDFs that take their whole reading time, with every thread of the server within their
reach: a search is answered within a second throughout; the slow bodies are answered 408,
the PDFs past the readers 503), and long request lines get the API's answers."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
from urllib.parse import quote

import pytest

from indexer.pipeline import index_corpus
from tests.helpers import sample_lines, write_lines
from tests.pdfs import slow_pdf
from tests.services import get, gunicorn_replica, haproxy

pytestmark = pytest.mark.slow
SLOW = 8  # as many as the server has threads (2 workers x 4)
REQUEST_SECONDS = 6
SEARCH = "/api/v1/search?q=graph+neural+networks&mode=keyword&k=3"


@pytest.fixture(scope="module")
def served(tmp_path_factory, tiny_encoder):
    """One gunicorn server (2 workers x 4 threads, 2 PDF readers each, 6 s to send a
    request, PDFs read for at most 4 s) and HAProxy in front of it."""
    from search.base.settings import Settings

    root = tmp_path_factory.mktemp("slow-clients")
    settings = Settings(home=root / "data")
    index_corpus(settings, [write_lines(root / "c.jsonl", sample_lines(200))],
                 encoder=tiny_encoder)  # fmt: skip
    env = {"PAPERSEARCH_REQUEST_SECONDS": str(REQUEST_SECONDS), "PAPERSEARCH_PDF_TIMEOUT": "4",
           "PAPERSEARCH_PDF_READERS": "2", "PAPERSEARCH_TRUSTED_PROXIES": "127.0.0.1"}  # fmt: skip
    with (
        gunicorn_replica(settings, root / "gunicorn.log", **env) as port,
        haproxy([port, port]) as balanced,
    ):
        yield {"direct": port, "haproxy": balanced}


def slow_body(port: int, answers: list) -> None:
    """A JSON POST announcing 1,000 bytes, sent one byte every 2 s until it is answered
    (for at most 30 s)."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        head = (b"POST /api/v1/recommendations HTTP/1.1\r\nHost: x\r\nContent-Type: "
                b"application/json\r\nContent-Length: 1000\r\n\r\n")  # fmt: skip
        sock.sendall(head + b"{")
        answer, end = b"", time.monotonic() + 30
        sock.settimeout(2)
        while time.monotonic() < end:
            try:
                answer = sock.recv(4096)
                break
            except TimeoutError:
                with contextlib.suppress(OSError):
                    sock.sendall(b" ")
        answers.append(answer)


def searches_meanwhile(port: int, seconds: float) -> list[float]:
    """A search a quarter of a second for ``seconds``: how long each took."""
    took = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.monotonic()
        status, _, _ = get("127.0.0.1", port, SEARCH)
        took.append(time.monotonic() - started)
        assert status == 200
        time.sleep(0.25)
    return took


@pytest.mark.parametrize("via", ["direct", "haproxy"])
def test_slow_bodies_hold_no_thread_and_are_dropped(served, via):
    """Through HAProxy the slow bodies never reach the server (it answers 408 after its 10
    s); alone, the server reads them in its event loop and answers 408 after 6 s."""
    port, answers = served[via], []
    clients = [threading.Thread(target=slow_body, args=(port, answers)) for _ in range(SLOW)]
    for client in clients:
        client.start()
    try:
        time.sleep(1)  # every slow client has sent its head
        took = searches_meanwhile(port, REQUEST_SECONDS + 2)
    finally:
        for client in clients:
            client.join(40)
    print(f"{via}: {len(took)} searches while {SLOW} bodies crawled, slowest {max(took):.3f} s")
    assert max(took) < 1.0, took
    assert len(answers) == SLOW
    for answer in answers:
        head, _, body = answer.partition(b"\r\n\r\n")
        assert b" 408 " in head.split(b"\r\n")[0], answer
        assert json.loads(body)["error"]["code"] == "request_timeout"


def upload_pdf(port: int, data: bytes, results: list) -> None:
    boundary = "papersearch-test"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"pdf\"; filename=\"s.pdf\""
            f"\r\nContent-Type: application/pdf\r\n\r\n").encode() + data + (
            f"\r\n--{boundary}--\r\n").encode()  # fmt: skip
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(
            "POST",
            "/api/v1/search/by_example",
            body=body,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        response = connection.getresponse()
        results.append((response.status, response.headers.get("Retry-After"), response.read()))
    finally:
        connection.close()


@pytest.mark.parametrize("via", ["direct", "haproxy"])
def test_slow_pdfs_take_only_the_readers_and_the_rest_are_told_to_wait(served, via):
    port, data, results = served[via], slow_pdf(), []
    uploads = [threading.Thread(target=upload_pdf, args=(port, data, results))
               for _ in range(SLOW)]  # fmt: skip
    for upload in uploads:
        upload.start()
    try:
        took = searches_meanwhile(port, 5)
    finally:
        for upload in uploads:
            upload.join(60)
    print(
        f"{via}: {len(took)} searches while {SLOW} slow PDFs were uploaded, slowest "
        f"{max(took):.3f} s; answers {sorted(status for status, _, _ in results)}"
    )
    assert max(took) < 1.0, took
    statuses = sorted(status for status, _, _ in results)
    assert len(statuses) == SLOW and 503 in statuses and set(statuses) <= {422, 503}, statuses
    busy = [(after, body) for status, after, body in results if status == 503]
    assert all(after and json.loads(body)["error"]["code"] == "busy" for after, body in busy)


@pytest.mark.parametrize("via", ["direct", "haproxy"])
def test_a_query_within_the_api_limit_is_answered_and_past_it_refused_as_json(served, via):
    """2,000 CJK characters are 18 KB of URL: gunicorn's own 4 KB bound answered 414 in
    HTML to a query the API takes. Past the API's 2,000 characters: its 422; past what
    the server reads: its 414, in the error shape."""
    port = served[via]
    for length in (1500, 2000):
        query = quote("\u5927\u898f\u6a21\u8a00\u8a9e\u30e2\u30c7\u30eb" * 300)[: length * 9]
        status, _, body = get("127.0.0.1", port, f"/api/v1/search?mode=keyword&q={query}")
        assert status == 200 and "results" in json.loads(body), (length, body[:200])
    status, _, body = get("127.0.0.1", port, "/api/v1/search?q=" + quote("\u5927" * 2001))
    assert status == 422 and json.loads(body)["error"]["code"] == "query_too_long"
    status, _, body = get("127.0.0.1", port, "/api/v1/search?q=" + "a" * 70_000)
    if via == "direct":
        assert status == 414 and json.loads(body)["error"]["code"] == "uri_too_long"
    else:  # past HAProxy's 32 KB buffer: its own 400, before any rule of its configuration
        assert status == 400
