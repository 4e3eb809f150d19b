"""gunicorn settings for papersearch: ``gunicorn -c python:web.gunicorn_conf web.wsgi:app``.

Each worker process loads one copy of the model; threads in a worker share it
(the encoder is thread-safe). The variables read here: ``PAPERSEARCH_BIND``,
``PAPERSEARCH_WORKERS``, ``PAPERSEARCH_THREADS``, ``PAPERSEARCH_WORKER_TIMEOUT`` and
``PAPERSEARCH_LOG_FORMAT`` (docs/configuration.md), and the worker reads
``PAPERSEARCH_REQUEST_SECONDS`` and ``PAPERSEARCH_REQUEST_MEMORY``; gunicorn's own flags
override them.

Metrics: every worker writes its values to ``PROMETHEUS_MULTIPROC_DIR`` (a fresh
directory made here unless one is given, emptied at start), so that a scrape of any
worker adds up all of them; a worker that exits is marked dead there.
"""

import os
import tempfile
from pathlib import Path

bind = os.environ.get("PAPERSEARCH_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("PAPERSEARCH_WORKERS", "2"))
threads = int(os.environ.get("PAPERSEARCH_THREADS", "4"))
# gthread, reading each request whole in its event loop before a thread takes it
worker_class = "web.buffered_worker.BufferedThreadWorker"
# The request line: no bound of gunicorn's own (its 4,094 bytes refused, in HTML, a query
# within the API's 2,000 characters); the worker reads at most 64 KB of request head and
# answers past it with the API's 414.
limit_request_line = 0
timeout = int(os.environ.get("PAPERSEARCH_WORKER_TIMEOUT", "120"))  # model loading takes a while
graceful_timeout = 30
errorlog = "-"
# With JSON logs the app writes each request's line (request id, mode, build: web.request_log);
# with text, gunicorn's access log does.
json_logs = os.environ.get("PAPERSEARCH_LOG_FORMAT", "text").lower() == "json"
accesslog = None if json_logs else "-"
if json_logs:
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "search.base.logs.JsonFormatter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
        "loggers": {
            "gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False}
        },  # fmt: skip
        "root": {"level": "INFO", "handlers": []},  # the app's own (search.base.logs)
    }

if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="papersearch-metrics-")


def on_starting(server) -> None:
    """Start from empty metrics: values of a previous run's workers would be added in."""
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    for values in directory.glob("*.db"):
        values.unlink()


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
