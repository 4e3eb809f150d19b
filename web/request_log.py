"""Each request's id, its log line and its metrics, computed once, after it is answered.

The request id is the ``X-Request-ID`` the request came with (HAProxy can set one,
``deploy/haproxy.cfg`` does) when it is a sane token, else a new one; the response
carries it back in ``X-Request-ID``, and the request's log line names it, so that
a client's report, the load balancer's log and the server's log meet. The line (at
INFO, on the ``papersearch.requests`` logger) carries route, status, latency, search
mode, the build served and, for an error, its code; with ``PAPERSEARCH_LOG_FORMAT=json``
it is one JSON object.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, g, request

from search.base.metrics import ERRORS, REQUEST_SECONDS
from search.query.limits import DEFAULT_MODE, MODES

HEADER = "X-Request-ID"
SANE_ID = re.compile(r"[A-Za-z0-9._:+/=-]{1,128}")
UNMATCHED = "unmatched"  # the route of a request no URL rule matched (404s)
log = logging.getLogger("papersearch.requests")


def request_id() -> str:
    """This request's id (made on first use)."""
    if "request_id" not in g:
        given = request.headers.get(HEADER, "")
        g.request_id = given if SANE_ID.fullmatch(given) else uuid.uuid4().hex
    return g.request_id


def search_mode() -> str:
    """The mode of a search request ("" for anything else), as its metrics label."""
    mode = request.args.get("mode", "")
    if mode in MODES:
        return mode
    return DEFAULT_MODE if request.args.get("q") else ""


def install(app: Flask, build_served) -> None:
    """Time every request, give it an id, and log and count it once answered.
    ``build_served()`` is the build id this process serves (None before one is loaded)."""

    @app.before_request
    def start() -> None:
        g.started = time.perf_counter()
        request_id()

    @app.after_request
    def finish(response: Response) -> Response:
        response.headers[HEADER] = request_id()
        seconds = time.perf_counter() - g.get("started", time.perf_counter())
        route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
        mode = search_mode()
        REQUEST_SECONDS.labels(route, mode).observe(seconds)
        code = g.get("error_code")
        if code is not None:
            ERRORS.labels(code).inc()
        fields = {
            "request_id": request_id(), "method": request.method, "route": route,
            "path": request.path, "status": response.status_code,
            "latency_ms": round(seconds * 1000, 2), "mode": mode or None,
            "build": build_served(), "client": request.remote_addr, "error": code,
        }  # fmt: skip
        log.info("%s %s %s", request.method, request.path, response.status_code,
                 extra={"fields": fields})  # fmt: skip
        return response
