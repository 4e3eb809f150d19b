"""One search engine per process, shared by every request and thread.

The encoder (the expensive part) is loaded once and reused by every engine
the provider opens. Until an index has been built, :meth:`get` keeps raising
:class:`NoIndex`, and starts working as soon as a build exists: no restart.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Any

from search.db import make_engine, session_factory
from search.encoder import Encoder
from search.engine import NoIndex, SearchEngine
from search.schema import IndexBuild
from search.settings import Settings
from search.store import PaperStore


class EngineProvider:
    def __init__(self, settings: Settings, encoder: Encoder | None = None) -> None:
        self.settings = settings
        self._encoder = encoder
        self._engine: SearchEngine | None = None
        self._lock = threading.Lock()
        self._store: PaperStore | None = None

    @property
    def encoder(self) -> Encoder:
        with self._lock:
            if self._encoder is None:
                self._encoder = Encoder.load(self.settings)
            return self._encoder

    @property
    def store(self) -> PaperStore:
        with self._lock:
            if self._store is None:
                self._store = PaperStore(session_factory(make_engine(self.settings)))
            return self._store

    def warm(self) -> None:
        """Load the model and the index now, so that start-up fails loudly, not a request."""
        try:
            self.get()
        except NoIndex:
            _ = self.encoder

    def get(self) -> SearchEngine:
        """The engine over the current build; raises NoIndex while there is none."""
        engine = self._engine
        if engine is not None:
            return engine
        encoder = self.encoder
        with self._lock:
            if self._engine is None:
                self._engine = SearchEngine.open(self.settings, encoder=encoder)
            return self._engine

    def status(self) -> dict[str, Any]:
        """Health and about-page facts: corpus size, the build in use, the models."""
        try:
            engine = self.get()
        except NoIndex:
            return {"status": "no_index", "papers": self.store.count(), "build": None}
        return {
            "status": "ok",
            "papers": engine.store.count(),
            "build": build_facts(engine.build),
            "models": model_facts(engine.build),
        }


def build_facts(build: IndexBuild) -> dict[str, Any]:
    return {
        "id": build.id,
        "finished_at": _iso_utc(build.finished_at),
        "index_type": build.index_type,
        "metric": build.metric,
        "nlist": build.nlist,
        "nprobe": build.nprobe,
        "vectors": build.vector_count,
        "device": build.device,
        "seconds": build.seconds,
    }


def model_facts(build: IndexBuild) -> dict[str, Any]:
    return {
        "base_model": build.base_model,
        "base_revision": build.base_revision,
        "paper_adapter": build.paper_adapter,
        "paper_adapter_revision": build.paper_adapter_revision,
        "query_adapter": build.query_adapter,
        "query_adapter_revision": build.query_adapter_revision,
        "pooling": build.pooling,
        "dim": build.dim,
    }


def _iso_utc(moment: datetime | None) -> str | None:
    """SQLite hands back naive datetimes; they were written in UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.isoformat(timespec="seconds")
