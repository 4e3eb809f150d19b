"""HTTP hardening shared by every response: security headers, body size, secret key.

The pages use no inline script or style and load nothing from other origins,
so the Content-Security-Policy can forbid both; no page may be framed.
"""

from __future__ import annotations

import math
import secrets

from flask import Flask, Response, request

from search.base.errors import PapersearchError
from search.base.settings import Settings
from web.ratelimit import RateLimiter

MAX_BODY_BYTES = 64 * 1024  # the largest request: an example paper (20,000 characters) in JSON
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


class RateLimited(PapersearchError):
    """A client address sent more requests than PAPERSEARCH_RATE_LIMIT allows."""

    code, status = "rate_limited", 429


def harden(app: Flask, settings: Settings) -> None:
    """Apply the limits and headers; never debug mode, whatever the environment says."""
    app.debug = False
    app.config.update(
        # Nothing is signed today (no sessions); a key is set so that nothing ever
        # falls back to a guessable one. Random per process unless given.
        SECRET_KEY=settings.secret_key or secrets.token_hex(32),
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        PROPAGATE_EXCEPTIONS=False,
        TRAP_HTTP_EXCEPTIONS=False,
    )

    @app.after_request
    def security_headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response


def limit_rate(app: Flask, per_minute: int) -> None:
    """429 with Retry-After once a client address exceeds ``per_minute`` requests."""
    limiter = RateLimiter(per_minute)

    @app.before_request
    def check_rate():
        if request.endpoint == "static":
            return None
        wait = limiter.retry_after(request.remote_addr or "unknown")
        if wait is not None:
            raise RateLimited(
                f"More than {per_minute} requests a minute from this address; "
                f"try again in {math.ceil(wait)} s.",
                retry_after=math.ceil(wait),
            )
        return None
