"""gunicorn settings for papersearch: ``gunicorn -c python:web.gunicorn_conf web.wsgi:app``.

Each worker process loads one copy of the model; threads in a worker share it
(the encoder is thread-safe). The variables read here: PAPERSEARCH_BIND,
PAPERSEARCH_WORKERS, PAPERSEARCH_THREADS and PAPERSEARCH_WORKER_TIMEOUT
(docs/configuration.md); gunicorn's own flags override them.
"""

import os

bind = os.environ.get("PAPERSEARCH_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("PAPERSEARCH_WORKERS", "2"))
threads = int(os.environ.get("PAPERSEARCH_THREADS", "4"))
worker_class = "gthread"
timeout = int(os.environ.get("PAPERSEARCH_WORKER_TIMEOUT", "120"))  # model loading takes a while
graceful_timeout = 30
accesslog = "-"
errorlog = "-"
