"""Per-client rate limits (``PAPERSEARCH_RATE_LIMIT`` requests a minute, and
``PAPERSEARCH_LIBRARY_RATE_LIMIT`` libraries kept an hour), with Flask-Limiter.

The client is ``request.remote_addr``: the peer, or behind a trusted proxy the
address it forwarded (``web.proxies``). Counts live in
``PAPERSEARCH_RATE_LIMIT_STORAGE``: ``memory://`` counts in each worker process,
Redis shares one count among every worker of every host, so that a client gets its
limit once, not once per worker. A sliding one-minute window (``moving-window``).

Health checks, metrics scrapes and static files are not counted: the load balancer
and Prometheus must never be refused. If the storage cannot be reached, requests
are counted in memory until it is back (logged), rather than refused.

A library upload that would keep a new library spends one of the client's hourly
quota of them (on by default: an anonymous client could otherwise fill the store);
uploading a library kept already is free.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from flask import Flask, current_app, request
from flask_limiter import Limiter, RequestLimit
from limits import RateLimitItemPerHour

from search.base.errors import PapersearchError
from search.base.settings import Settings
from web.extension import provider

WINDOW_SECONDS = 60
LIBRARIES = "libraries"  # the namespace of the count of libraries kept
UNCOUNTED_ENDPOINTS = frozenset({"static", "api.health", "metrics"})


class RateLimited(PapersearchError):
    """A client address sent more requests than PAPERSEARCH_RATE_LIMIT allows."""

    code, status = "rate_limited", 429


def client_address() -> str:
    return request.remote_addr or "unknown"


def install(app: Flask, settings: Settings) -> Limiter:
    """Count every request but the uncounted ones (when ``rate_limit`` is set); over the
    limit, 429 ``rate_limited`` with ``Retry-After`` (seconds). Libraries kept are
    counted by :func:`library_quota`."""
    per_minute = settings.rate_limit
    limiter = Limiter(
        key_func=client_address,
        app=app,
        application_limits=[f"{per_minute} per minute"] if per_minute else [],
        application_limits_exempt_when=lambda: request.endpoint in UNCOUNTED_ENDPOINTS,
        storage_uri=settings.rate_limit_storage,
        strategy="moving-window",
        key_prefix="papersearch",
        in_memory_fallback_enabled=True,
        swallow_errors=True,
        headers_enabled=False,  # Retry-After comes with the error (web.error_handler)
        on_breach=lambda limit: refusal(limit, per_minute),
    )
    app.extensions["papersearch.limiter"] = limiter
    return limiter


def refusal(limit: RequestLimit, per_minute: int | None):
    """The answer to a request over the limit: 429 ``rate_limited`` with ``Retry-After``,
    in the API's error shape or as a page (Flask-Limiter raises it with this response,
    and the app's one error handler answers with it)."""
    from web.error_handler import render_error

    reset = limit.reset_at if limit is not None else time.time() + WINDOW_SECONDS
    wait = min(WINDOW_SECONDS, max(1, math.ceil(reset - time.time())))
    return render_error(
        RateLimited(
            f"More than {per_minute} requests a minute from this address; try again in {wait} s.",
            retry_after=wait,
        )
    )


def library_quota() -> Callable[[], None]:
    """What a library upload calls before it keeps a new library: counts it against the
    client's ``PAPERSEARCH_LIBRARY_RATE_LIMIT`` an hour (0: no limit), and refuses past
    it with 429 and ``Retry-After``."""
    settings = provider().settings
    limiter: Limiter = current_app.extensions["papersearch.limiter"]
    client = client_address()

    def spend() -> None:
        per_hour = settings.library_rate_limit
        if not per_hour:
            return
        item = RateLimitItemPerHour(per_hour)
        if limiter.limiter.hit(item, LIBRARIES, client):
            return
        reset = limiter.limiter.get_window_stats(item, LIBRARIES, client).reset_time
        wait = max(1, math.ceil(reset - time.time()))
        raise RateLimited(
            f"This address has had {per_hour} libraries kept in the last hour, the most "
            f"an address may; try again in {wait} s (a library kept already is free).",
            retry_after=wait,
        )

    return spend
