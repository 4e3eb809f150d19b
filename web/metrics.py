"""The Prometheus endpoint (``PAPERSEARCH_METRICS_PATH``, default ``/metrics``).

Under gunicorn (``PROMETHEUS_MULTIPROC_DIR`` set by ``web/gunicorn_conf.py``) a
scrape of any worker reads every worker's values, so counts add up across workers;
the build gauges keep one series per worker (a ``pid`` label), which shows a worker
that has not switched to a new build yet. The last re-index's outcome is read from
``reindex``'s text file (``PAPERSEARCH_REINDEX_METRICS``) at each scrape. The
endpoint is not rate limited, so the server itself decides who reads it: a peer in
``PAPERSEARCH_METRICS_ALLOW`` (loopback unless set), never a request a proxy forwarded.
Whatever path spelling reaches the view (``//metrics``, ``/%6detrics``), the check is
the view's; ``deploy/haproxy.cfg`` refuses it at the edge too, after normalising paths.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from flask import Flask, Response, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from search.base.errors import PapersearchError
from search.base.settings import Settings


class MetricsForbidden(PapersearchError):
    """The metrics are read by the addresses in PAPERSEARCH_METRICS_ALLOW only."""

    code, status = "forbidden", 403


class TextFileCollector:
    """The metrics of a Prometheus text file, read at each scrape (none while it is absent
    or unreadable)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def collect(self):
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError:
            return []
        try:
            return list(text_string_to_metric_families(text))
        except ValueError:  # half-written by hand, or not ours: skip rather than fail
            return []


def registry(settings: Settings) -> CollectorRegistry:
    """What a scrape reads: every worker's values, or this process's, and the re-index file."""
    combined = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(combined)
    else:
        combined.register(_ThisProcess())
    combined.register(TextFileCollector(settings.reindex_metrics_file))
    return combined


class _ThisProcess:
    """The default registry's metrics (one process: the development server, tests)."""

    def collect(self):
        return REGISTRY.collect()


def install(app: Flask, settings: Settings) -> None:
    if not settings.metrics_path:
        return
    scraped = registry(settings)

    allowed = [ipaddress.ip_network(network) for network in settings.metrics_allow]

    @app.get(settings.metrics_path, endpoint="metrics")
    def metrics() -> Response:
        if not may_read(request.environ, allowed):
            raise MetricsForbidden(
                "The metrics are for the addresses in PAPERSEARCH_METRICS_ALLOW, read "
                "directly, not through a proxy."
            )
        return Response(generate_latest(scraped), mimetype=CONTENT_TYPE_LATEST)


def may_read(environ: dict, allowed: list) -> bool:
    """The peer that sent the request is allowed, and no proxy forwarded it (a trusted
    proxy's request carries the peer's address before ``web.proxies`` rewrote it)."""
    peer = environ.get("werkzeug.proxy_fix.orig", {}).get("REMOTE_ADDR", environ.get("REMOTE_ADDR"))
    if environ.get("HTTP_X_FORWARDED_FOR") or environ.get("HTTP_FORWARDED"):
        return False
    try:
        address = ipaddress.ip_address((peer or "").strip())
    except ValueError:
        return False
    return any(address in network for network in allowed)
