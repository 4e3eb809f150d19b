"""WSGI entry point for production servers: ``gunicorn -c python:web.gunicorn_conf web.wsgi:app``.

Settings come from the ``PAPERSEARCH_*`` environment variables.
"""

from web import create_app

app = create_app()
