"""The build registry: every FAISS index file, what it holds, and which one is current.

A build's life::

    start() ──▶ building ──complete()──▶ complete ──publish()──▶ complete, published
                   │                        │   (the build published last is current;
                   │                        │    roll_back() publishes an earlier one)
                   └──fail()──▶ failed      └──prune()──▶ pruned (its file is deleted)

A build is completed only after its file is written and fsynced, and published
only after it is complete, each in one transaction, so a crash at any point
leaves the previous build current. A run that dies leaves its build
``building``; the next writer marks it failed (``fail_unfinished``).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from search.errors import BuildNotUsable
from search.model_info import ModelInfo
from search.schema import IndexBuild

BUILDING = "building"
COMPLETE = "complete"
FAILED = "failed"
PRUNED = "pruned"


class Builds:
    """The index_builds table and the status lifecycle above. Build files live in
    ``directory`` and are recorded by name, so that a data directory can be moved or
    copied to another host (rows from older releases hold absolute paths, still honoured).
    """

    def __init__(self, sessions: sessionmaker[Session], directory: Path) -> None:
        self.sessions = sessions
        self.directory = directory

    def file(self, build: IndexBuild) -> Path:
        """Where a build's index file is."""
        path = Path(build.path)
        return path if path.is_absolute() else self.directory / path

    def files(self, build: IndexBuild) -> list[Path]:
        """A build's index file, then its on-disk lists if it has them."""
        lists = [self.directory / build.lists_path] if build.lists_path else []
        return [self.file(build), *lists]

    # -- the lifecycle ----------------------------------------------------------------

    def start(self, model: ModelInfo) -> IndexBuild:
        """A new build of vectors made by ``model``; its file and index facts come later."""
        with self.sessions.begin() as session:
            build = IndexBuild(status=BUILDING, index_type="pending", path="",
                               **model.build_fields())  # fmt: skip
            session.add(build)
            session.flush()
            return build

    def complete(self, build_id: int, **facts) -> IndexBuild:
        """Record a build's file and facts and mark it complete (call after the fsync)."""
        with self.sessions.begin() as session:
            build = session.get(IndexBuild, build_id)
            for name, value in facts.items():
                setattr(build, name, value)
            build.status = COMPLETE
            build.finished_at = _now()
            return build

    def publish(self, build_id: int) -> IndexBuild:
        """Make a complete build the current one: servers switch to it within seconds."""
        with self.sessions.begin() as session:
            build = session.get(IndexBuild, build_id)
            if build is None or build.status != COMPLETE:
                state = "does not exist" if build is None else f"is {build.status}"
                raise BuildNotUsable(f"Build {build_id} {state}; only complete builds can be used.")
            build.published_at = _now()
            return build

    def roll_back(self, build_id: int) -> IndexBuild:
        """Make an earlier (or later) complete build current again, if its file is there."""
        build = self.get(build_id)
        if build is not None and build.status == COMPLETE:
            for path in self.files(build):
                if not path.is_file():
                    raise BuildNotUsable(f"Build {build_id}'s file {path} is missing.")
        return self.publish(build_id)

    def fail(self, build_id: int) -> None:
        with self.sessions.begin() as session:
            build = session.get(IndexBuild, build_id)
            if build is not None:
                build.status = FAILED
                build.finished_at = _now()

    def fail_unfinished(self) -> list[IndexBuild]:
        """Builds left 'building' by a run that died; call only while holding the write lock."""
        with self.sessions.begin() as session:
            stale = list(session.scalars(select(IndexBuild).where(IndexBuild.status == BUILDING)))
            for build in stale:
                build.status = FAILED
                build.finished_at = _now()
            return stale

    def prune(self, keep: int) -> list[IndexBuild]:
        """Mark all but the ``keep`` most recently published *distinct* complete builds as
        pruned: an older build that holds the same as a newer kept one (equal ``contents``)
        is no rollback point of its own, and goes.

        Returns the pruned builds so that the caller deletes their files (after
        the commit: a crash between the two leaves only an orphan file). A
        complete build that was never published goes first.
        """
        with self.sessions.begin() as session:
            complete = list(
                session.scalars(
                    select(IndexBuild)
                    .where(IndexBuild.status == COMPLETE)
                    .order_by(IndexBuild.published_at.desc().nulls_last(), IndexBuild.id.desc())
                )
            )
            kept: list[IndexBuild] = []
            pruned: list[IndexBuild] = []
            seen: set[str] = set()
            for build in complete:
                duplicate = build.contents is not None and build.contents in seen
                if duplicate or len(kept) >= max(keep, 1):
                    pruned.append(build)
                    continue
                kept.append(build)
                if build.contents is not None:
                    seen.add(build.contents)
            for build in pruned:
                build.status = PRUNED
            return pruned

    def set_tuning(self, build_id: int, nprobe: int, recall: float) -> None:
        """Record the nprobe that measured tuning chose (servers reload on a change)."""
        with self.sessions.begin() as session:
            build = session.get(IndexBuild, build_id)
            build.nprobe, build.tuned_recall = nprobe, recall

    # -- reading ------------------------------------------------------------------------

    def current(self) -> IndexBuild | None:
        """The complete build published last: the one that is searched."""
        with self.sessions() as session:
            return session.scalar(_published(IndexBuild).limit(1))

    def current_marker(self) -> tuple[int, int | None] | None:
        """(id, nprobe) of the current build: servers reload when either changes."""
        with self.sessions() as session:
            row = session.execute(_published(IndexBuild.id, IndexBuild.nprobe).limit(1)).first()
        return None if row is None else (row[0], row[1])

    def current_id(self) -> int | None:
        marker = self.current_marker()
        return None if marker is None else marker[0]

    def get(self, build_id: int) -> IndexBuild | None:
        with self.sessions() as session:
            return session.get(IndexBuild, build_id)

    def published(self) -> list[IndexBuild]:
        """Complete, published builds: the current one first, then by publication, newest first."""
        with self.sessions() as session:
            return list(session.scalars(_published(IndexBuild)))

    def all(self) -> list[IndexBuild]:
        """Every build, newest first."""
        with self.sessions() as session:
            return list(session.scalars(select(IndexBuild).order_by(IndexBuild.id.desc())))


def _published(*columns):
    """Complete, published builds, the current one (published last) first."""
    return (
        select(*columns)
        .where(IndexBuild.status == COMPLETE, IndexBuild.published_at.is_not(None))
        .order_by(IndexBuild.published_at.desc(), IndexBuild.id.desc())
    )


def _now() -> datetime:
    return datetime.now(timezone.utc)
