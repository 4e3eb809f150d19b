"""The Flask front end: pages, the JSON API and feeds, each presenting what the engine
(``search.engine``) answers; the web layer never reads the store.

``create_app(settings)`` is the factory; the engine, its encoder and index are
loaded once per process and shared by all requests and threads.
"""

from __future__ import annotations

from flask import Flask

from search.base.settings import Settings
from search.model.encoder import Encoder


def create_app(settings: Settings | None = None, *, encoder: Encoder | None = None) -> Flask:
    from web import api, error_handler, extension, feeds, pages, security

    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.json.sort_keys = False
    extension.install(app, settings, encoder)
    security.harden(app, settings)
    if settings.rate_limit:
        security.limit_rate(app, settings.rate_limit)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp, url_prefix="/api/v1")
    app.register_blueprint(feeds.bp, url_prefix="/feeds")
    error_handler.register(app)
    return app
