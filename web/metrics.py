"""The Prometheus endpoint (``PAPERSEARCH_METRICS_PATH``, default ``/metrics``).

Under gunicorn (``PROMETHEUS_MULTIPROC_DIR`` set by ``web/gunicorn_conf.py``) a
scrape of any worker reads every worker's values, so counts add up across workers;
the build gauges keep one series per worker (a ``pid`` label), which shows a worker
that has not switched to a new build yet. The last re-index's outcome is read from
``reindex``'s text file (``PAPERSEARCH_REINDEX_METRICS``) at each scrape. The
endpoint is not rate limited; keep it off the public side of the load balancer
(``deploy/haproxy.cfg`` denies it there).
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from search.base.settings import Settings


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

    @app.get(settings.metrics_path, endpoint="metrics")
    def metrics() -> Response:
        return Response(generate_latest(scraped), mimetype=CONTENT_TYPE_LATEST)
