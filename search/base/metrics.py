"""The metrics an operator watches, declared once (Prometheus, ``prometheus-client``).

Servers count requests, errors, the encoder's queue and the time spent in the ANN
index and the keyword index, and say which build they serve. Under gunicorn each
worker writes its values to ``PROMETHEUS_MULTIPROC_DIR`` (``web/gunicorn_conf.py``
sets it up), and a scrape of any worker adds up all of them. ``reindex`` writes its
outcome to a text file (:func:`write_reindex_outcome`) that a node exporter's
textfile collector reads, and that servers add to their own metrics.

``docs/web.md``'s table of metric names is generated from these declarations
(:func:`markdown_table`), and a test holds it to them.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, write_to_textfile

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
FAST_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5)

REQUEST_SECONDS = Histogram(
    "papersearch_request_duration_seconds",
    "Time to answer a request, by route (the URL rule) and search mode (empty: not a search).",
    ["route", "mode"],
    buckets=LATENCY_BUCKETS,
)
ERRORS = Counter(
    "papersearch_errors_total",
    "Requests answered with an error, by error code (the API's `error.code`).",
    ["code"],
)
ENCODER_WAIT_SECONDS = Histogram(
    "papersearch_encoder_wait_seconds",
    "Time a query waited for an encoder slot (queries from the cache do not wait).",
    buckets=FAST_BUCKETS,
)
ENCODER_TIMEOUTS = Counter(
    "papersearch_encoder_timeouts_total",
    "Queries refused with 503 `busy` after waiting PAPERSEARCH_QUERY_TIMEOUT for a slot.",
)
ANN_SECONDS = Histogram(
    "papersearch_ann_seconds", "Time in the FAISS index per search.", buckets=FAST_BUCKETS
)
KEYWORD_SECONDS = Histogram(
    "papersearch_keyword_seconds", "Time in the keyword index per ranking.", buckets=FAST_BUCKETS
)
BUILD_SERVED = Gauge(
    "papersearch_build_served",
    "The index build each worker serves (its id).",
    multiprocess_mode="liveall",
)
BUILD_PUBLISHED = Gauge(
    "papersearch_build_published_timestamp_seconds",
    "When the build each worker serves was published (Unix time): its age.",
    multiprocess_mode="liveall",
)
PAPERS_SERVED = Gauge(
    "papersearch_papers_served",
    "Papers in the build each worker serves.",
    multiprocess_mode="liveall",
)
ALERT_MAILS = Counter(
    "papersearch_alert_mails_total",
    "Alert mails by kind (confirm, digest) and outcome: sent; retry (an attempt failed, "
    "queued again with back-off); failed (the last attempt failed, kept in the outbox).",
    ["kind", "outcome"],
)
SERVED = (REQUEST_SECONDS, ERRORS, ENCODER_WAIT_SECONDS, ENCODER_TIMEOUTS, ANN_SECONDS,
          KEYWORD_SECONDS, BUILD_SERVED, BUILD_PUBLISHED, PAPERS_SERVED, ALERT_MAILS)  # fmt: skip

# What `reindex` writes to its text file (a registry of their own: one process, one run).
REINDEX_METRICS = {
    "papersearch_reindex_last_run_timestamp_seconds": "When the last re-index ended (Unix time).",
    "papersearch_reindex_success": "1 if the last re-index succeeded, 0 if it failed.",
    "papersearch_reindex_duration_seconds": "How long the last re-index ran.",
    "papersearch_reindex_papers_embedded": "Papers the last re-index embedded.",
    "papersearch_reindex_published_build": "The build the last re-index published (0: none).",
    "papersearch_reindex_alert_digests": "Alert digests the last re-index queued.",
    "papersearch_reindex_alert_mails_sent": "Alert mails the last re-index sent.",
    "papersearch_reindex_alert_mails_retried": "Alert mails it queued again after a failed "
    "attempt (sent later, with back-off).",
    "papersearch_reindex_alert_mails_failed": "Alert mails it gave up on after the last attempt.",
}

F = TypeVar("F", bound=Callable)


def timed(histogram: Histogram) -> Callable[[F], F]:
    """Observe each call's duration in ``histogram``."""

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                histogram.observe(time.perf_counter() - started)

        return wrapper  # type: ignore[return-value]

    return decorate


def write_reindex_outcome(
    path: Path,
    *,
    success: bool,
    seconds: float,
    embedded: int,
    build: int | None,
    alerts: dict[str, int] | None = None,
) -> None:
    """The last re-index's outcome, as a Prometheus text file (written atomically)."""
    registry = CollectorRegistry()
    values = {
        "papersearch_reindex_last_run_timestamp_seconds": time.time(),
        "papersearch_reindex_success": 1 if success else 0,
        "papersearch_reindex_duration_seconds": seconds,
        "papersearch_reindex_papers_embedded": embedded,
        "papersearch_reindex_published_build": build or 0,
        **{
            f"papersearch_reindex_alert_{name}": (alerts or {}).get(name, 0)
            for name in ("digests", "mails_sent", "mails_retried", "mails_failed")
        },
    }
    for name, value in values.items():
        Gauge(name, REINDEX_METRICS[name], registry=registry).set(value)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(path), registry)


def markdown_table() -> str:
    """docs/web.md's table of metrics, from the declarations above."""
    rows = ["| metric | type | labels | meaning |", "|---|---|---|---|"]
    for metric in SERVED:
        kind = type(metric).__name__.lower()
        name = metric._name + ("_total" if kind == "counter" else "")
        labels = ", ".join(f"`{label}`" for label in metric._labelnames) or "–"
        rows.append(f"| `{name}` | {kind} | {labels} | {metric._documentation} |")
    for name, meaning in REINDEX_METRICS.items():
        rows.append(f"| `{name}` | gauge (`reindex`'s file) | – | {meaning} |")
    return "\n".join(rows)


if __name__ == "__main__":
    import sys

    sys.stdout.write(markdown_table())
