"""Reads of an author's papers in the served build's view: those a build's author index
found (``search.graph.authors``), or for a build from before author indexes, by the
author ids the sources give (``author_id_keys``, indexed on PostgreSQL) or a name's key
(``author_keys``), bounded."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from search.store.sql import IN_CHUNK, dialect_of, has_any_key
from search.store.versions import PaperView

MAX_AUTHOR_PAPERS = 20_000  # papers read for one author: a common name past this is cut


@dataclass(frozen=True)
class Authorship:
    """A paper as an author page reads it: its id, year, categories, and its authors' names
    and ids (``author_ids`` empty, or one tuple of keys a name)."""

    paper_id: int
    year: int | None
    categories: tuple[str, ...]
    authors: tuple[str, ...]
    author_ids: tuple[tuple[str, ...], ...]


class AuthorRows:
    """The papers of authors, as one build serves them (or the write path's view)."""

    def __init__(self, sessions: sessionmaker[Session], view: PaperView) -> None:
        self.sessions, self.view = sessions, view
        self.dialect = dialect_of(sessions)

    def with_ids(self, keys: list[str]) -> tuple[list[Authorship], bool]:
        """Papers one of whose authors has one of ``keys``, in id order; and whether more
        than MAX_AUTHOR_PAPERS were (only the first are read)."""
        return self._read("author_id_keys", keys)

    def named(self, key: str) -> tuple[list[Authorship], bool]:
        """Papers one of whose authors answers to the name key ``key``
        (``search.query.filter_keys``), in id order, as ``with_ids``."""
        return self._read("author_keys", [key])

    def of_ids(self, ids) -> list[Authorship]:
        """The papers ``ids`` (a build's author index found them), in id order."""
        paper, conditions = self.view.narrow("id", "year", "categories", "authors", "author_ids")
        rows = []
        with self.sessions() as session:
            for start in range(0, len(ids), IN_CHUNK):
                chunk = [int(i) for i in ids[start : start + IN_CHUNK]]
                rows += session.execute(
                    select(paper.id, paper.year, paper.categories, paper.authors, paper.author_ids)
                    .where(paper.id.in_(chunk), *conditions)
                ).all()  # fmt: skip
        rows.sort(key=lambda row: row[0])
        return [_authorship(*row) for row in rows]

    def _read(self, column: str, keys: list[str]) -> tuple[list[Authorship], bool]:
        if not keys:
            return [], False
        paper, conditions = self.view.narrow("id", "year", "categories", "authors", "author_ids",
                                             column)  # fmt: skip
        query = (select(paper.id, paper.year, paper.categories, paper.authors, paper.author_ids)
                 .where(has_any_key(paper[column], keys, self.dialect), *conditions)
                 .order_by(paper.id).limit(MAX_AUTHOR_PAPERS + 1))  # fmt: skip
        with self.sessions() as session:
            rows = session.execute(query).all()
        found = [_authorship(*row) for row in rows[:MAX_AUTHOR_PAPERS]]
        return found, len(rows) > MAX_AUTHOR_PAPERS


def _authorship(paper_id, year, categories, authors, author_ids) -> Authorship:
    return Authorship(paper_id, year, tuple(categories or ()), tuple(authors or ()),
                      tuple(tuple(ids) for ids in (author_ids or ())))  # fmt: skip
