"""One search engine per process, shared by every request and thread.

The encoder (the expensive part) is loaded once and reused by every engine the
provider opens. A watcher thread checks every ``reload_seconds`` whether
another build has become current (a re-index published one, or an operator
rolled back) and, if so, loads it and swaps it in: requests in flight finish
on the engine they started with, new requests get the new one. Nothing
blocks and nothing fails during the switch; if loading fails, the current
build keeps serving and the error is logged. A build whose shards on Ray are not all
running yet is tried again at the next check: no request is answered from two builds.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timezone

from search.answers.facts import BuildFacts, CorpusFacts, EncoderFacts, Health, ModelFacts
from search.base.errors import (
    DatabaseUnavailable,
    IndexCorrupt,
    NoIndex,
    PapersearchError,
    ShardUnavailable,
)
from search.base.metrics import BUILD_PUBLISHED, BUILD_SERVED, PAPERS_SERVED
from search.base.settings import Settings
from search.engine.engine import SearchEngine
from search.model.encoder import Encoder
from search.model.identity import display_name, model_facts
from search.store import Store

log = logging.getLogger("papersearch")


def marker_of(build) -> tuple[int, int | None, int | None]:
    """What ``Builds.current_marker`` says of a build: a change means reload."""
    return (build.id, build.nprobe, build.deep_nprobe)


class EngineProvider:
    """The engine over the current build, for every request of a server process."""

    def __init__(
        self, settings: Settings, encoder: Encoder | None = None, store: Store | None = None
    ) -> None:
        self.settings = settings
        self.store = store or Store.open(settings)
        log.info("serving the store %s", self.store.url)  # health says its kind alone
        self._encoder = encoder
        self._engine: SearchEngine | None = None
        self._lock = threading.Lock()
        self._watcher: threading.Thread | None = None
        # (build, nprobe) that failed to load → the state of its file then: tried again when
        # the file changes (on hosts that get builds by copy, the file may arrive late).
        self._unusable: dict[tuple[int, int | None, int | None], tuple] = {}
        self._database_down = False

    @property
    def encoder(self) -> Encoder:
        with self._lock:
            if self._encoder is None:  # the model of the data directory's index, unless set
                current = self.store.builds.current()
                self._encoder = Encoder.load(self.settings.with_model_of(current))
            return self._encoder

    def warm(self) -> None:
        """Load the model and the index now, so that start-up fails loudly, not a request."""
        try:
            self.get()
        except NoIndex:
            _ = self.encoder

    @property
    def build_served(self) -> int | None:
        """The id of the build this process serves (None before one is loaded); loads nothing."""
        engine = self._engine
        return None if engine is None else engine.build.id

    def get(self) -> SearchEngine:
        """The engine over the current build; raises NoIndex while there is none."""
        self._start_watching()
        engine = self._engine
        if engine is None:
            self.refresh()
            engine = self._engine
            if engine is None:
                if self._still_unusable(self.store.builds.current_marker()):
                    raise IndexCorrupt(
                        "No intact index build: the current one failed its checksum and no "
                        "earlier one is usable. Run `papersearch reindex` to build a new one."
                    )
                raise NoIndex()
        return engine

    def refresh(self) -> bool:
        """Switch to the current build if it is not the one in use (or was re-tuned).

        A build whose file is missing or fails its checksum is logged once and
        skipped: the build in use keeps serving, or, at start-up, the newest
        earlier build that is intact.
        """
        encoder = self.encoder
        with self._lock:
            current = self.store.builds.current_marker()
            engine = self._engine
            if (
                current is None
                or self._still_unusable(current)
                or (engine is not None and marker_of(engine.build) == current)
            ):
                return False
            try:
                engine = SearchEngine.open(self.settings, encoder=encoder, store=self.store.fresh())
            except ShardUnavailable as exc:  # its shards are not all running yet: next tick
                if self._engine is not None:
                    log.info("%s; still serving build %s", exc, self._engine.build.id)
                    return False
                engine = self._last_good_engine(encoder)
                if engine is None:
                    raise
            except IndexCorrupt as exc:
                self._unusable[current] = self._file_state(current)
                if self._engine is not None:
                    log.error("%s; not loading it, still serving build %s", exc, engine.build.id)
                    return False
                log.error("%s; not loading it, looking for the last intact build", exc)
                engine = self._last_good_engine(encoder)
                if engine is None:
                    raise
            previous = self._engine
            self._engine = engine  # one reference swap: readers see old or new, never half
        served(engine)
        if previous is not None:
            log.info("switched from index build %s to %s", previous.build.id, engine.build.id)
        return True

    def _file_state(self, marker: tuple[int, int | None, int | None]) -> tuple:
        build = self.store.builds.get(marker[0])
        try:
            stats = [path.stat() for path in self.store.builds.files(build).checksummed()]
        except (OSError, AttributeError):
            return ("missing",)
        return tuple((stat.st_size, stat.st_mtime_ns) for stat in stats)

    def _still_unusable(self, marker: tuple[int, int | None, int | None] | None) -> bool:
        """A build that failed to load, whose file has not changed since."""
        if marker not in self._unusable:
            return False
        return self._unusable[marker] == self._file_state(marker)

    def _last_good_engine(self, encoder: Encoder) -> SearchEngine | None:
        for build in self.store.builds.published()[1:]:
            try:
                engine = SearchEngine.open(
                    self.settings, encoder=encoder, store=self.store.fresh(), build=build
                )
            except (IndexCorrupt, ShardUnavailable) as exc:
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
            except DatabaseUnavailable as exc:  # said once an outage, not every tick
                if not self._database_down:
                    log.warning("%s; serving what is loaded, answering 503 for the rest", exc)
                self._database_down = True
                continue
            except Exception:  # keep serving the build in use
                log.exception("could not switch to the new index build; still serving the old one")
            if self._database_down:
                log.warning("the database is reachable again")
                self._database_down = False

    def status(self) -> Health:
        """Health and about-page facts: corpus size, the build in use, the models. A
        database that cannot be reached is a status, not an error."""
        database = self.store.sessions.kw["bind"].dialect.name
        try:
            engine = self.get()
            # The papers of the build served, counted now (the engine's count is cached):
            # the health check must reach the database to say whether it is up.
            papers = engine.store.fresh().papers.count()
            corpus = engine.corpus_facts()
        except NoIndex:
            return Health(status="no_index", papers=self.store.papers.count(),
                          database=database, build=None)  # fmt: skip
        except DatabaseUnavailable:
            build = BuildFacts.of(self._engine.build) if self._engine else None
            return Health(status="database_unavailable", papers=None, database=database,
                          build=build)  # fmt: skip
        return Health(
            status="ok",
            papers=papers,
            database=database,
            build=BuildFacts.of(engine.build),
            models=ModelFacts(
                name=display_name(engine.build.base_model), **model_facts(engine.build)
            ),  # fmt: skip
            encoder=EncoderFacts(
                device=engine.encoder.device,
                precision=engine.encoder.precision,
                query_backend=engine.encoder.query_backend,
            ),
            corpus=corpus,
        )

    def corpus_facts(self) -> CorpusFacts | None:
        """What the papers of the build in use carry, loading it if need be (None while
        no build can be served, or the database cannot be reached)."""
        try:
            return self.get().corpus_facts()
        except PapersearchError:
            return None

    @property
    def model_name(self) -> str:
        """What the model in use is called (pages and the API document name it)."""
        engine = self._engine
        build = engine.build if engine is not None else self.store.builds.current()
        return display_name(build.base_model if build else self.settings.base_model)


def served(engine: SearchEngine) -> None:
    """Say in the metrics which build this process serves, since when, and how many papers."""
    BUILD_SERVED.set(engine.build.id)
    published = engine.build.published_at or engine.build.finished_at
    if published is not None and published.tzinfo is None:  # SQLite keeps no zone: UTC
        published = published.replace(tzinfo=timezone.utc)
    BUILD_PUBLISHED.set(published.timestamp() if published else 0)
    PAPERS_SERVED.set(engine.index.ntotal)
