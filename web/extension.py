"""The engine as a Flask extension: one ``EngineProvider`` per app, shared by every request
and thread, found by the views through ``provider()``."""

from __future__ import annotations

from flask import Flask, current_app

from search.base.settings import Settings
from search.engine.provider import EngineProvider
from search.model.encoder import Encoder

NAME = "papersearch"


def install(app: Flask, settings: Settings, encoder: Encoder | None = None) -> EngineProvider:
    """Open the store (a database without the schema fails here, not per request) and
    attach the provider that loads the engine for it."""
    app.extensions[NAME] = EngineProvider(settings, encoder)
    return app.extensions[NAME]


def provider() -> EngineProvider:
    """The app's engine provider (inside a request or app context)."""
    return current_app.extensions[NAME]
