"""Paper vectors, kept per model so that unchanged papers are never embedded again.

A vector row records the hash of the text it was made from; when a paper's
title or abstract changes the row is stale, and the paper is pending again.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import and_, delete, func, insert, or_, select
from sqlalchemy.orm import Session, sessionmaker

from search.schema import Embedding, Paper


@dataclass(frozen=True)
class PendingPaper:
    id: int
    title: str
    abstract: str | None
    text_hash: str


class Vectors:
    """The embeddings table: one float32 vector per paper and model key."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def pending(self, model_key: str, chunk: int = 4096) -> Iterator[list[PendingPaper]]:
        """Papers with no vector for ``model_key``, or one made from older text, in id order."""
        after = 0
        while True:
            with self.sessions() as session:
                rows = session.execute(
                    _pending(
                        select(Paper.id, Paper.title, Paper.abstract, Paper.text_hash), model_key
                    )
                    .where(Paper.id > after)
                    .order_by(Paper.id)
                    .limit(chunk)
                ).all()
            if not rows:
                return
            yield [PendingPaper(*row) for row in rows]
            after = rows[-1][0]

    def count_pending(self, model_key: str) -> int:
        with self.sessions() as session:
            query = _pending(select(func.count()).select_from(Paper), model_key)
            return session.scalar(query) or 0

    def save(self, model_key: str, papers: Sequence[PendingPaper], vectors: np.ndarray) -> None:
        """Store one vector per paper (replacing stale ones) in one transaction."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if len(papers) != len(vectors):
            raise ValueError("one vector per paper")
        if not papers:
            return
        ids = [paper.id for paper in papers]
        with self.sessions.begin() as session:
            session.execute(
                delete(Embedding).where(
                    Embedding.model_key == model_key, Embedding.paper_id.in_(ids)
                )
            )
            session.execute(
                insert(Embedding),
                [
                    {
                        "paper_id": paper.id,
                        "model_key": model_key,
                        "text_hash": paper.text_hash,
                        "dim": int(vector.shape[0]),
                        "vector": vector.tobytes(),
                    }
                    for paper, vector in zip(papers, vectors, strict=True)
                ],
            )

    def all(self, model_key: str) -> tuple[np.ndarray, np.ndarray]:
        """(ids int64, vectors float32) of every paper with a current vector for ``model_key``."""
        ids: list[int] = []
        blobs: list[bytes] = []
        dim = 0
        with self.sessions() as session:
            result = session.execute(
                select(Embedding.paper_id, Embedding.vector, Embedding.dim)
                .join(Paper, Paper.id == Embedding.paper_id)
                .where(
                    Embedding.model_key == model_key,
                    Embedding.text_hash == Paper.text_hash,
                    Paper.withdrawn_at.is_(None),
                )
                .order_by(Embedding.paper_id)
                .execution_options(yield_per=10_000)
            )
            for paper_id, blob, row_dim in result:
                ids.append(paper_id)
                blobs.append(blob)
                dim = row_dim
        if not ids:
            return np.empty(0, dtype=np.int64), np.empty((0, 0), dtype=np.float32)
        vectors = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(ids), dim)
        return np.asarray(ids, dtype=np.int64), vectors

    def get(self, paper_id: int, model_key: str) -> np.ndarray | None:
        """One paper's stored vector for ``model_key`` (None: it has none)."""
        with self.sessions() as session:
            blob = session.scalar(
                select(Embedding.vector).where(
                    Embedding.paper_id == paper_id, Embedding.model_key == model_key
                )
            )
        return None if blob is None else np.frombuffer(blob, dtype=np.float32).copy()


def _pending(query, model_key: str):
    """Restrict ``query`` to searchable papers whose vector for the model is missing or stale."""
    return query.outerjoin(
        Embedding, and_(Embedding.paper_id == Paper.id, Embedding.model_key == model_key)
    ).where(
        Paper.withdrawn_at.is_(None),
        or_(Embedding.paper_id.is_(None), Embedding.text_hash != Paper.text_hash),
    )
