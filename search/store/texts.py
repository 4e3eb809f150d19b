"""What a build's keyword index and citation graph are written from: its papers' texts
and filter keys, their links (ids and the references and citers they name), and the
content hashes that tell the next build which of them changed."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from search.keyword_index.documents import PaperText
from search.store.schema import Paper
from search.store.sql import IN_CHUNK

ROWS_PER_QUERY = 20_000  # papers read at a time when most of the store is wanted
SPARSE = 50_000  # fewer wanted ids than this are looked up by id, not by a scan
TEXT_COLUMNS = (Paper.id, Paper.title, Paper.abstract, Paper.authors, Paper.year, Paper.venue,
                Paper.category_keys, Paper.author_keys)  # fmt: skip


def hash_value(content_hash: str) -> int:
    """A paper's content hash (hex SHA-256) as a non-negative int64: 60 bits of it."""
    return int(content_hash[:15], 16)


class PaperTexts:
    """Reads of ``papers`` for the keyword index writer (the write path: every stored
    paper not withdrawn is readable, whatever build is served)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def of(self, ids: np.ndarray) -> Iterator[list[PaperText]]:
        """The papers of ``ids`` (sorted), in id order, a query's worth at a time."""
        for rows in self._rows(ids, TEXT_COLUMNS):
            yield [PaperText(i, title, abstract, list(authors or []), year, venue,
                             list(categories or []), list(names or []))
                   for i, title, abstract, authors, year, venue, categories, names
                   in rows]  # fmt: skip

    def keys(self, ids: np.ndarray) -> Iterator[list[tuple]]:
        """(id, external id, DOI, other keys) of the papers of ``ids`` (sorted), in id
        order, a query's worth at a time: the ids a paper is known by."""
        yield from self._rows(ids, (Paper.id, Paper.external_id, Paper.doi, Paper.paper_keys))

    def links(self, ids: np.ndarray) -> Iterator[list[tuple]]:
        """(id, external id, DOI, other keys, reference keys, citer keys) of the papers of
        ``ids`` (sorted), in id order, a query's worth at a time (``search.graph.keys``)."""
        yield from self._rows(ids, (Paper.id, Paper.external_id, Paper.doi, Paper.paper_keys,
                                    Paper.reference_keys, Paper.citer_keys))  # fmt: skip

    def work_fields(self, ids: np.ndarray) -> Iterator[list[tuple]]:
        """(id, external id, DOI, other keys, title, whether the title was made from the
        abstract, authors, year, venue) of the papers of ``ids`` (sorted), in id order, a
        query's worth at a time: what versions of a work are matched on (``indexer.works``)."""
        yield from self._rows(ids, (Paper.id, Paper.external_id, Paper.doi, Paper.paper_keys,
                                    Paper.title, Paper.title_from_abstract, Paper.authors,
                                    Paper.year, Paper.venue))  # fmt: skip

    def author_fields(self, ids: np.ndarray) -> Iterator[list[tuple]]:
        """(id, authors, author ids) of the papers of ``ids`` (sorted), in id order, a
        query's worth at a time: what a build's author index is written from."""
        yield from self._rows(ids, (Paper.id, Paper.authors, Paper.author_ids))

    def content_hashes(self, ids: np.ndarray) -> np.ndarray:
        """``hash_value`` of each paper of ``ids`` (sorted), in the same order; -1 for an
        id that is not a stored paper any more."""
        found = np.full(len(ids), -1, dtype=np.int64)
        for rows in self._rows(ids, (Paper.id, Paper.content_hash)):
            at = np.searchsorted(ids, [i for i, _ in rows])
            found[at] = [hash_value(h) for _, h in rows]
        return found

    def _rows(self, ids: np.ndarray, columns) -> Iterator[list]:
        """Rows of ``columns`` (the id first) for the not-withdrawn papers of ``ids``, in id
        order: looked up by id when few are wanted, else read in id ranges."""
        if len(ids) == 0:
            return
        if len(ids) < SPARSE:
            with self.sessions() as session:
                for start in range(0, len(ids), IN_CHUNK):
                    chunk = ids[start : start + IN_CHUNK].tolist()
                    yield session.execute(
                        select(*columns).where(Paper.id.in_(chunk), Paper.withdrawn_at.is_(None))
                        .order_by(Paper.id)
                    ).all()  # fmt: skip
            return
        after, last = int(ids[0]) - 1, int(ids[-1])
        while after < last:
            with self.sessions() as session:
                rows = session.execute(
                    select(*columns)
                    .where(Paper.id > after, Paper.id <= last, Paper.withdrawn_at.is_(None))
                    .order_by(Paper.id).limit(ROWS_PER_QUERY)
                ).all()  # fmt: skip
            if not rows:
                return
            after = rows[-1][0]
            wanted = np.asarray([r[0] for r in rows], dtype=np.int64)
            at = np.minimum(np.searchsorted(ids, wanted), len(ids) - 1)
            yield [row for row, keep in zip(rows, ids[at] == wanted, strict=True) if keep]
