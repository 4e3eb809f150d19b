"""WSGI entry point for production servers: ``gunicorn -c python:web.gunicorn_conf web.wsgi:app``.

Settings come from the ``PAPERSEARCH_*`` environment variables. The model and
the current index are loaded here, when a worker starts, so that a missing
model or an unreadable store stops the worker with a clear error instead of
failing the first requests.
"""

from web import create_app

app = create_app()
app.extensions["papersearch"].warm()
