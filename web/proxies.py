"""Client addresses behind a load balancer: ``X-Forwarded-*`` from trusted proxies only.

Behind HAProxy every request comes from HAProxy's address, so rate limits and logs
would see one client. werkzeug's ``ProxyFix`` reads the client from
``X-Forwarded-For``, but trusts whoever sent the header; here it is applied only
to requests whose peer is in ``PAPERSEARCH_TRUSTED_PROXIES``. ``X-Forwarded-For``
is read from the right: each proxy appends the address it saw, so the client is
the last address that is not itself a trusted proxy, and whatever a client wrote
into the header before that (a forged address) is never read.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from werkzeug.middleware.proxy_fix import ProxyFix


class TrustedProxies:
    """WSGI middleware: ``ProxyFix`` for requests from a trusted proxy, nothing for others."""

    def __init__(self, app, networks: Iterable[str]) -> None:
        self.app = app
        self.networks = [ipaddress.ip_network(n, strict=False) for n in networks]
        self._fixes: dict[int, ProxyFix] = {}

    def trusts(self, address: str | None) -> bool:
        try:
            ip = ipaddress.ip_address((address or "").strip())
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def hops(self, forwarded_for: str) -> int:
        """How many ``X-Forwarded-For`` values to go back: one for the proxy that sent the
        request, and one more for each trusted proxy it names before the client."""
        values = [v.strip() for v in forwarded_for.split(",") if v.strip()]
        hops = 1
        while hops < len(values) and self.trusts(values[-hops]):
            hops += 1
        return hops

    def __call__(self, environ, start_response):
        if not self.trusts(environ.get("REMOTE_ADDR")):
            return self.app(environ, start_response)
        hops = self.hops(environ.get("HTTP_X_FORWARDED_FOR", ""))
        fix = self._fixes.get(hops)
        if fix is None:
            fix = self._fixes[hops] = ProxyFix(self.app, x_for=hops, x_proto=1)
        return fix(environ, start_response)
