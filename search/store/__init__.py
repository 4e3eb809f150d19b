"""The store: everything papersearch keeps in SQL (SQLite or PostgreSQL), in seven parts.

- ``papers``: metadata, written by the indexer and looked up by search results' ids;
- ``texts``: the papers' texts and filter keys as a build's keyword index is written
  from them (the index itself, and all text ranking, is ``search.keyword_index``);
- ``vectors``: each paper's vector per model, so unchanged papers are never re-embedded;
- ``builds``: the registry of index builds (FAISS file, keyword index) and which one
  is current;
- ``checks``: what each model's fast precision was measured to cost (``indexer.fidelity``);
- ``libraries``: BibTeX libraries uploaded for recommendations, for their feeds;
- ``alerts``: email alert subscriptions, what each was mailed, the outbox of mails.

The FAISS index holds only vectors and ids, the keyword index only what ranking and
filters need; everything shown to users comes from here. The schema comes only from
the Alembic migrations.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from search.base.errors import SchemaOutOfDate
from search.base.settings import Settings
from search.store.alerts import AlertRows
from search.store.authors import AuthorRows
from search.store.builds import Builds
from search.store.checks import PrecisionChecks
from search.store.db import make_engine, require_current_schema, session_factory, upgrade
from search.store.libraries import Libraries
from search.store.papers import Papers
from search.store.texts import PaperTexts
from search.store.vectors import Vectors


class Store:
    """One database, its parts. The parts cache answers that hold while the corpus does
    not change (filter id sets, corpus facts), so servers take a :meth:`fresh` store for
    each index build they load."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        builds_dir: Path,
        vectors_dir: Path,
        serving: int | None = None,
    ) -> None:
        self.sessions = sessions
        self.papers = Papers(sessions, serving)
        self.texts = PaperTexts(sessions)
        self.vectors = Vectors(sessions, vectors_dir)
        self.builds = Builds(sessions, builds_dir)
        self.checks = PrecisionChecks(sessions)
        self.libraries = Libraries(sessions)
        self.alerts = AlertRows(sessions)
        self.authors = AuthorRows(sessions, self.papers.view)

    @classmethod
    def open(cls, settings: Settings, *, migrate: bool = False) -> Store:
        """The store the settings name. Writers ``migrate`` the schema to the latest
        revision and move vectors an older release kept in the database to files; readers
        stop with SchemaOutOfDate (saying what to run) unless both are done."""
        engine = make_engine(settings, create=migrate)
        if migrate:
            upgrade(engine)
        else:
            require_current_schema(engine)
        store = cls(session_factory(engine), settings.builds_dir, settings.vectors_dir)
        if migrate:
            store.vectors.move_from_table()
        elif store.vectors.legacy_rows():
            raise SchemaOutOfDate(
                f"The store {store.url} still holds vectors in its database, as releases "
                "before vector files did: run `papersearch db upgrade` to move them to "
                f"{settings.vectors_dir} (no paper is embedded again)."
            )
        return store

    def fresh(self) -> Store:
        """The same database with empty caches."""
        return Store(self.sessions, self.builds.directory, self.vectors.directory,
                     self.papers.serving)  # fmt: skip

    def serving(self, build_id: int) -> Store:
        """The store as a server of build ``build_id`` reads it: only the papers that build
        holds (``Papers``), with caches of their own."""
        if self.papers.serving == build_id:
            return self
        return Store(self.sessions, self.builds.directory, self.vectors.directory, build_id)

    @property
    def url(self) -> str:
        """The database URL, password hidden."""
        return self.sessions.kw["bind"].url.render_as_string(hide_password=True)
