"""The Flask front end: pages, the JSON API and feeds, each presenting what the engine
(``search.engine``) answers; the web layer never reads the store.

``create_app(settings)`` is the factory; the engine, its encoder and index are
loaded once per process and shared by all requests and threads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask

from search.base import logs
from search.base.settings import Settings
from web.proxies import TrustedProxies

if TYPE_CHECKING:  # web.gunicorn_conf imports this package in gunicorn's master process,
    # which must not import the model code (torch) nor the metrics before it has set
    # PROMETHEUS_MULTIPROC_DIR: the workers it forks would inherit per-process metrics.
    from search.model.encoder import Encoder


def create_app(settings: Settings | None = None, *, encoder: Encoder | None = None) -> Flask:
    from web import (
        alerts,
        api,
        author_pages,
        error_handler,
        extension,
        feeds,
        metrics,
        pages,
        rate_limits,
        request_log,
        security,
    )

    settings = settings or Settings.from_env()
    if settings.log_format == "json":
        logs.configure("json")
    app = Flask(__name__)
    app.json.sort_keys = False
    engines = extension.install(app, settings, encoder)
    security.harden(app, settings)
    request_log.install(app, lambda: engines.build_served)  # first: it times the rest
    if settings.trusted_proxies:
        app.wsgi_app = TrustedProxies(app.wsgi_app, settings.trusted_proxies)
    rate_limits.install(app, settings)
    metrics.install(app, settings)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp, url_prefix="/api/v1")
    app.register_blueprint(feeds.bp, url_prefix="/feeds")
    app.register_blueprint(author_pages.bp)
    app.register_blueprint(alerts.bp)
    error_handler.register(app)
    return app
