"""The record of precision checks (``indexer.fidelity``): one row per model, fast
precision and device, so that the check runs once."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from search.store.schema import PrecisionCheck


class PrecisionChecks:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def get(self, model_key: str, precision: str, device: str) -> PrecisionCheck | None:
        with self.sessions() as session:
            return session.get(PrecisionCheck, (model_key, precision, device))

    def record(self, check: PrecisionCheck) -> None:
        with self.sessions.begin() as session:
            session.merge(check)
