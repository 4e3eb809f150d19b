"""Per-client rate limits (``PAPERSEARCH_RATE_LIMIT`` requests a minute), with Flask-Limiter.

The client is ``request.remote_addr``: the peer, or behind a trusted proxy the
address it forwarded (``web.proxies``). Counts live in
``PAPERSEARCH_RATE_LIMIT_STORAGE``: ``memory://`` counts in each worker process,
Redis shares one count among every worker of every host, so that a client gets its
limit once, not once per worker. A sliding one-minute window (``moving-window``).

Health checks, metrics scrapes and static files are not counted: the load balancer
and Prometheus must never be refused. If the storage cannot be reached, requests
are counted in memory until it is back (logged), rather than refused.
"""

from __future__ import annotations

import math
import time

from flask import Flask, request
from flask_limiter import Limiter, RequestLimit
from flask_limiter.errors import RateLimitExceeded

from search.base.errors import PapersearchError
from search.base.settings import Settings

WINDOW_SECONDS = 60
UNCOUNTED_ENDPOINTS = frozenset({"static", "api.health", "metrics"})


class RateLimited(PapersearchError):
    """A client address sent more requests than PAPERSEARCH_RATE_LIMIT allows."""

    code, status = "rate_limited", 429


def client_address() -> str:
    return request.remote_addr or "unknown"


def install(app: Flask, settings: Settings) -> Limiter | None:
    """Count every request but the uncounted ones; over the limit, 429 ``rate_limited``
    with ``Retry-After`` (seconds)."""
    if not settings.rate_limit:
        return None
    per_minute = settings.rate_limit
    limiter = Limiter(
        key_func=client_address,
        app=app,
        application_limits=[f"{per_minute} per minute"],  # one count across routes
        application_limits_exempt_when=lambda: request.endpoint in UNCOUNTED_ENDPOINTS,
        storage_uri=settings.rate_limit_storage,
        strategy="moving-window",
        key_prefix="papersearch",
        in_memory_fallback_enabled=True,
        swallow_errors=True,
        headers_enabled=False,  # Retry-After comes with the error (web.error_handler)
    )

    @app.errorhandler(RateLimitExceeded)
    def refuse(exc: RateLimitExceeded):
        from web.error_handler import render_error

        current: RequestLimit | None = limiter.current_limit
        reset = current.window[0] if current else time.time() + WINDOW_SECONDS
        wait = min(WINDOW_SECONDS, max(1, math.ceil(reset - time.time())))
        return render_error(
            RateLimited(
                f"More than {per_minute} requests a minute from this address; "
                f"try again in {wait} s.",
                retry_after=wait,
            )
        )

    return limiter
