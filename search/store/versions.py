"""Papers as each index build holds them: the write path's working copy, and the states
that builds still served hold.

A run writes the ``papers`` rows in place (its working copy). Before it changes a row that
some build holds (``content_build`` set), the row's state is copied to ``paper_versions``;
the row is then pending (``content_build`` None) until a build holds it. Completing a
build *freezes* what it holds: its pending rows get its id, and the versions they
replaced end there (``until_build``). A server of build N reads :func:`served_by` N: each
paper's row where N holds its state, else its version valid at N, withdrawn ones left
out. So a run that is refused, fails or is killed, or ``builds use`` of an older build,
changes no answer a build gives; versions go when no kept build can be served from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import delete, func, insert, or_, select, union_all, update
from sqlalchemy.orm import Session, aliased

from search.store.schema import Paper, PaperVersion
from search.store.sql import IN_CHUNK, fetch_ids

PAPER_COLUMNS = tuple(column.name for column in Paper.__table__.columns)


@dataclass(frozen=True)
class PaperView:
    """What a reader selects papers from: ``paper`` (``Paper``, or an alias of it over a
    build's rows) and the ``conditions`` a row must also meet to be read."""

    paper: Any
    conditions: tuple
    build: int | None = None

    @classmethod
    def working(cls) -> PaperView:
        """The write path's view: every stored paper not withdrawn, as last written."""
        return cls(Paper, (Paper.withdrawn_at.is_(None),))

    @classmethod
    def of_build(cls, build_id: int) -> PaperView:
        """The papers build ``build_id`` holds, each in the state it held."""
        return cls(aliased(Paper, served_by(build_id), name="served"), (), build_id)

    def narrow(self, *names: str) -> tuple[Any, tuple]:
        """(columns, conditions) for a query that reads only the columns ``names`` (as
        ``columns.<name>``): a build's view then reads no other column of either table."""
        if self.build is None:
            return Paper.__table__.c, self.conditions
        return served_by(self.build, names).c, ()


def served_by(build_id: int, names: tuple[str, ...] = PAPER_COLUMNS):
    """The rows of the papers ``build_id`` holds, with the columns ``names`` of ``papers``:
    the rows whose present state it holds, and the versions valid at it of the others."""
    rows = select(*(Paper.__table__.c[name] for name in names)).where(
        Paper.content_build <= build_id, Paper.withdrawn_at.is_(None)
    )
    versions = select(*(PaperVersion.__table__.c[name] for name in names)).where(
        PaperVersion.content_build <= build_id,
        or_(PaperVersion.until_build.is_(None), PaperVersion.until_build > build_id),
        PaperVersion.withdrawn_at.is_(None),
    )
    return union_all(rows, versions).subquery("served_rows")


def keep_versions(session: Session, ids: list[int]) -> None:
    """Before rows of ``ids`` change: copy those some build holds to ``paper_versions`` (in
    the caller's transaction, with the change); they are then pending."""
    for start in range(0, len(ids), IN_CHUNK):
        chunk = ids[start : start + IN_CHUNK]
        held = select(*Paper.__table__.columns).where(
            Paper.id.in_(chunk), Paper.content_build.is_not(None)
        )
        session.execute(insert(PaperVersion).from_select(list(PAPER_COLUMNS), held))


def freeze(session: Session, holds: np.ndarray, build_id: int) -> int:
    """Build ``build_id`` holds the pending rows it has (``holds``: its papers' ids, sorted)
    and the pending withdrawals: they become its state, and the versions they replaced
    end at it. In the transaction that completes the build. Returns how many rows."""
    pending = session.execute(
        select(Paper.id, Paper.withdrawn_at.is_not(None)).where(Paper.content_build.is_(None))
    ).all()
    if not pending:
        return 0
    ids = np.fromiter((i for i, _ in pending), dtype=np.int64, count=len(pending))
    gone = np.fromiter((w for _, w in pending), dtype=bool, count=len(pending))
    held = gone | np.isin(ids, holds)
    if held.all():  # the usual case: one statement each
        session.execute(
            update(Paper).where(Paper.content_build.is_(None)).values(content_build=build_id)
        )
        session.execute(
            update(PaperVersion)
            .where(PaperVersion.until_build.is_(None))
            .values(until_build=build_id)
        )
        return len(ids)
    frozen = ids[held].tolist()
    for start in range(0, len(frozen), IN_CHUNK):
        chunk = frozen[start : start + IN_CHUNK]
        session.execute(update(Paper).where(Paper.id.in_(chunk)).values(content_build=build_id))
        session.execute(
            update(PaperVersion)
            .where(PaperVersion.id.in_(chunk), PaperVersion.until_build.is_(None))
            .values(until_build=build_id)
        )
    return len(frozen)


def forget_before(session: Session, oldest: int | None) -> int:
    """Delete the versions no build from ``oldest`` on can be served from (None: no build
    is kept, so none of the versions that ended). Returns how many."""
    ended = PaperVersion.until_build.is_not(None)
    condition = ended if oldest is None else ended & (PaperVersion.until_build <= oldest)
    return session.execute(delete(PaperVersion).where(condition)).rowcount or 0


def pending_count(session: Session) -> int:
    """Rows changed by runs and held by no build yet."""
    return session.scalar(select(func.count()).where(Paper.content_build.is_(None))) or 0


def pending_ids(session: Session) -> np.ndarray:
    """Sorted ids of the rows changed by runs and held by no build yet."""
    return np.sort(fetch_ids(session, select(Paper.id).where(Paper.content_build.is_(None))))
