"""The Flask front end: presentation only, every answer comes from ``search``.

``create_app(settings)`` is the factory; the engine, its encoder and index are
loaded once per process and shared by all requests and threads.
"""

from __future__ import annotations

from flask import Flask

from search.encoder import Encoder
from search.provider import EngineProvider
from search.settings import Settings
from search.store import Store


def create_app(settings: Settings | None = None, *, encoder: Encoder | None = None) -> Flask:
    settings = settings or Settings.from_env()
    store = Store.open(settings)  # a database without the schema fails here, not per request
    app = Flask(__name__)
    app.json.sort_keys = False
    app.extensions["papersearch"] = EngineProvider(settings, encoder, store)

    from web import api, errors, feeds, pages, security

    security.harden(app, settings)
    if settings.rate_limit:
        security.limit_rate(app, settings.rate_limit)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp, url_prefix="/api/v1")
    app.register_blueprint(feeds.bp, url_prefix="/feeds")
    errors.register(app)
    return app


def provider() -> EngineProvider:
    from flask import current_app

    return current_app.extensions["papersearch"]
