"""Libraries: BibTeX libraries uploaded for recommendations, kept so that each has a short
feed URL that works on every host sharing the store (``search.engine.bibtex_library``)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from search.store.schema import Library


class Libraries:
    """The libraries table. A library's id is a hash of its entries, so saving the same
    library again is a no-op and gives the same id."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def save(self, library_id: str, entries: list[dict]) -> str:
        if self.get(library_id) is not None:
            return library_id
        try:
            with self.sessions.begin() as session:
                session.add(Library(id=library_id, entries=entries))
        except IntegrityError:  # saved by another request in the meantime: the same entries
            pass
        return library_id

    def get(self, library_id: str) -> list[dict] | None:
        """A saved library's entries, or None."""
        if not library_id.isalnum() or len(library_id) > 32:
            return None
        with self.sessions() as session:
            found = session.get(Library, library_id)
            return None if found is None else list(found.entries)
