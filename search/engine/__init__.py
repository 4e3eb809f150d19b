"""The search engine over one build: every mode, recommendations, libraries and feeds of
new papers, the provider that keeps the current build loaded, and evaluation."""

from __future__ import annotations

from search.engine.engine import SearchEngine
from search.engine.provider import EngineProvider

__all__ = ["EngineProvider", "SearchEngine"]
