"""One search engine per process, shared by every request and thread.

The encoder (the expensive part) is loaded once and reused by every engine the
provider opens. A watcher thread checks every ``reload_seconds`` whether
another build has become current (a re-index published one, or an operator
rolled back) and, if so, loads it and swaps it in: requests in flight finish
on the engine they started with, new requests get the new one. Nothing
blocks and nothing fails during the switch; if loading fails, the current
build keeps serving and the error is logged.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone
from typing import Any

from search.db import make_engine, session_factory
from search.encoder import Encoder
from search.engine import NoIndex, SearchEngine
from search.index import IndexCorrupt
from search.schema import IndexBuild
from search.settings import Settings
from search.store import PaperStore

log = logging.getLogger("papersearch")


class EngineProvider:
    def __init__(self, settings: Settings, encoder: Encoder | None = None) -> None:
        self.settings = settings
        self.store = PaperStore(session_factory(make_engine(settings)))
        self._encoder = encoder
        self._engine: SearchEngine | None = None
        self._lock = threading.Lock()
        self._watcher: threading.Thread | None = None
        self._unusable: set[tuple[int, int | None]] = set()  # (build, nprobe) that failed to load

    @property
    def encoder(self) -> Encoder:
        with self._lock:
            if self._encoder is None:
                self._encoder = Encoder.load(self.settings)
            return self._encoder

    def warm(self) -> None:
        """Load the model and the index now, so that start-up fails loudly, not a request."""
        try:
            self.get()
        except NoIndex:
            _ = self.encoder

    def get(self) -> SearchEngine:
        """The engine over the current build; raises NoIndex while there is none."""
        self._start_watching()
        engine = self._engine
        if engine is None:
            self.refresh()
            engine = self._engine
            if engine is None:
                if self.store.current_build_marker() in self._unusable:
                    raise IndexCorrupt(
                        "No intact index build: the current one failed its checksum and no "
                        "earlier one is usable. Run `papersearch reindex` to build a new one."
                    )
                raise NoIndex("No index has been built yet: run `papersearch index CORPUS` first.")
        return engine

    def refresh(self) -> bool:
        """Switch to the current build if it is not the one in use (or was re-tuned).

        A build whose file is missing or fails its checksum is logged once and
        skipped: the build in use keeps serving, or, at start-up, the newest
        earlier build that is intact.
        """
        encoder = self.encoder
        with self._lock:
            current = self.store.current_build_marker()
            engine = self._engine
            if (
                current is None
                or current in self._unusable
                or (engine is not None and (engine.build.id, engine.build.nprobe) == current)
            ):
                return False
            try:
                engine = SearchEngine.open(self.settings, encoder=encoder, store=self.store)
            except IndexCorrupt as exc:
                self._unusable.add(current)
                if self._engine is not None:
                    log.error("%s; not loading it, still serving build %s", exc, engine.build.id)
                    return False
                log.error("%s; not loading it, looking for the last intact build", exc)
                engine = self._last_good_engine(encoder)
                if engine is None:
                    raise
            previous = self._engine
            self._engine = engine  # one reference swap: readers see old or new, never half
        if previous is not None:
            log.info("switched from index build %s to %s", previous.build.id, engine.build.id)
        return True

    def _last_good_engine(self, encoder: Encoder) -> SearchEngine | None:
        for build in self.store.complete_builds()[1:]:
            try:
                engine = SearchEngine.open(
                    self.settings, encoder=encoder, store=self.store, build=build
                )
            except IndexCorrupt as exc:
                log.error("%s; trying an earlier build", exc)
                continue
            log.error("serving the last intact build, %s, instead of the current one", build.id)
            return engine
        return None

    def _start_watching(self) -> None:
        if self._watcher is not None:
            return
        with self._lock:
            if self._watcher is None:
                self._watcher = threading.Thread(
                    target=self._watch, name="papersearch-build-watcher", daemon=True
                )
                self._watcher.start()

    def _watch(self) -> None:
        while True:
            time.sleep(self.settings.reload_seconds)
            try:
                self.refresh()
            except Exception:  # keep serving the build in use
                log.exception("could not switch to the new index build; still serving the old one")

    def status(self) -> dict[str, Any]:
        """Health and about-page facts: corpus size, the build in use, the models."""
        try:
            engine = self.get()
        except NoIndex:
            return {"status": "no_index", "papers": self.store.count(), "build": None}
        return {
            "status": "ok",
            "papers": self.store.count(),
            "build": build_facts(engine.build),
            "models": model_facts(engine.build),
            "encoder": encoder_facts(engine.encoder),
        }


def build_facts(build: IndexBuild) -> dict[str, Any]:
    return {
        "id": build.id,
        "finished_at": _iso_utc(build.finished_at),
        "published_at": _iso_utc(build.published_at),
        "index_type": build.index_type,
        "metric": build.metric,
        "nlist": build.nlist,
        "nprobe": build.nprobe,
        "vectors": build.vector_count,
        "device": build.device,
        "seconds": build.seconds,
    }


def encoder_facts(encoder: Encoder) -> dict[str, Any]:
    """How this process encodes: on which device, in which precision, queries through what."""
    return {
        "device": encoder.device,
        "precision": encoder.precision,
        "query_backend": encoder.query_backend,
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
