"""HTTP hardening shared by every response: security headers, body size, secret key.

The pages use no inline script or style and load nothing from other origins,
so the Content-Security-Policy can forbid both; no page may be framed.
"""

from __future__ import annotations

import secrets

from flask import Flask, Response

from search.base.settings import Settings
from web.bodies import BODY_BYTES

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


def harden(app: Flask, settings: Settings) -> None:
    """Apply the limits and headers; never debug mode, whatever the environment says."""
    app.debug = False
    app.config.update(
        # Nothing is signed today (no sessions); a key is set so that nothing ever
        # falls back to a guessable one. Random per process unless given.
        SECRET_KEY=settings.secret_key or secrets.token_hex(32),
        MAX_CONTENT_LENGTH=BODY_BYTES,
        PROPAGATE_EXCEPTIONS=False,
        TRAP_HTTP_EXCEPTIONS=False,
    )

    @app.after_request
    def security_headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response
