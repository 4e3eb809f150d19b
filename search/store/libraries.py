"""Libraries: BibTeX libraries uploaded for recommendations, kept so that each has a short
feed URL that works on every host sharing the store (``search.engine.bibtex_library``).

Anonymous uploads must not fill the disk, so what is kept is bounded
(``LibraryBounds``): the bytes of one library's entries; how long a library is kept
without being read (its page, downloads or feed); and the bytes of all of them: past
that a new library is not kept (its recommendations are still given, without a feed),
so that no upload can push out the libraries others read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from search.store.schema import Library

READ_RESOLUTION = timedelta(days=1)  # a library's reads are recorded once a day at most


@dataclass(frozen=True)
class LibraryBounds:
    """How much the kept libraries may take: ``library_bytes`` each (their entries as
    JSON), ``total_bytes`` together, each for ``days`` after it was last read."""

    library_bytes: int
    total_bytes: int
    days: int


def entries_size(entries: list[dict]) -> int:
    """The bytes a library's entries take as kept (JSON, UTF-8)."""
    return len(json.dumps(entries, ensure_ascii=False, separators=(",", ":")).encode())


class Libraries:
    """The libraries table. A library's id is a hash of its entries, so saving the same
    library again is a no-op and gives the same id."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def save(self, library_id: str, entries: list[dict], bounds: LibraryBounds) -> bool:
        """Keep a library (its size within ``bounds.library_bytes``, checked by the caller)
        after deleting the expired ones, if all of them then fit in ``bounds.total_bytes``.
        Returns whether it is kept (it may have been already)."""
        now = _now()
        size = entries_size(entries)
        with self.sessions.begin() as session:
            if session.get(Library, library_id) is not None:
                return True
            session.execute(delete(Library).where(Library.read_at < now - timedelta(bounds.days)))
            total = session.scalar(select(func.coalesce(func.sum(Library.bytes), 0))) or 0
            if total + size > bounds.total_bytes:
                return False
        try:
            with self.sessions.begin() as session:
                session.add(Library(id=library_id, entries=entries, bytes=size, read_at=now))
        except IntegrityError:  # saved by another request in the meantime: the same entries
            pass
        return True

    def exists(self, library_id: str) -> bool:
        if not library_id.isalnum() or len(library_id) > 32:
            return False
        with self.sessions() as session:
            return session.scalar(select(Library.id).where(Library.id == library_id)) is not None

    def get(self, library_id: str, bounds: LibraryBounds) -> list[dict] | None:
        """A kept library's entries (None: never kept, expired or made room for); a read
        keeps it (recorded once a day)."""
        if not library_id.isalnum() or len(library_id) > 32:
            return None
        now = _now()
        with self.sessions() as session:
            found = session.get(Library, library_id)
            if found is None:
                return None
            read_at = _utc(found.read_at or found.created_at)
            entries = list(found.entries)
        if read_at < now - timedelta(bounds.days):
            return None  # expired: deleted by the next save
        if read_at < now - READ_RESOLUTION:
            with self.sessions.begin() as session:
                session.execute(update(Library).where(Library.id == library_id)
                                .values(read_at=now))  # fmt: skip
        return entries

    def usage(self) -> tuple[int, int]:
        """(libraries kept, the bytes their entries take)."""
        with self.sessions() as session:
            count, size = session.execute(
                select(func.count(), func.coalesce(func.sum(Library.bytes), 0))
            ).one()
        return int(count), int(size)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were written in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
