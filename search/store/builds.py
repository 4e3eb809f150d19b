"""The build registry: every index build (its FAISS file and keyword index), what it
holds, and which one is current.

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

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from search.base.errors import BuildNotUsable
from search.model.identity import ModelInfo
from search.store.build_files import BuildFiles
from search.store.papers import mark_first_build
from search.store.schema import IndexBuild
from search.store.versions import forget_before, freeze

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

    def files(self, build: IndexBuild) -> BuildFiles:
        """A build's files (``search.store.build_files``), as its row records them."""
        return BuildFiles.recorded(self.directory, build.path, build.lists_path,
                                   build.keywords_path, build.graph_path,
                                   build.shards)  # fmt: skip

    # -- the lifecycle ----------------------------------------------------------------

    def start(self, model: ModelInfo) -> IndexBuild:
        """A new build of vectors made by ``model``; its file and index facts come later."""
        with self.sessions.begin() as session:
            build = IndexBuild(status=BUILDING, index_type="pending", path="",
                               **model.build_fields())  # fmt: skip
            session.add(build)
            session.flush()
            return build

    def complete(self, build_id: int, holds: np.ndarray | None = None, **facts) -> IndexBuild:
        """Record a build's file and facts and mark it complete (call after the fsync).
        ``holds``: the ids of the papers in it (sorted), whose first build it becomes where
        they had none, and whose pending changes it holds from now on (in the same
        transaction, so a build's papers are never half recorded)."""
        with self.sessions.begin() as session:
            if holds is not None:
                mark_first_build(session, holds, build_id)
                freeze(session, holds, build_id)
            build = session.get(IndexBuild, build_id)
            for name, value in facts.items():
                setattr(build, name, value)
            build.status = COMPLETE
            build.finished_at = _now()
            return build

    def hold(self, build_id: int, ids: np.ndarray) -> int:
        """Record ``build_id`` as the first build of those of ``ids`` that have none (papers
        of the build stored before first builds were recorded)."""
        with self.sessions.begin() as session:
            return mark_first_build(session, ids, build_id)

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
            for path in self.files(build).checksummed():
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
        complete build that was never published goes first. The papers' versions that
        only pruned builds held go with them.
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
            forget_before(session, min((b.id for b in kept), default=None))
            return pruned

    def add_keywords(
        self, build_id: int, keywords_path: str, checksum: str, parts: dict | None = None
    ) -> None:
        """Record the keyword index written for a build from before them (or in a format
        before this release's), with the checksums that now cover it too."""
        with self.sessions.begin() as session:
            build = session.get(IndexBuild, build_id)
            build.keywords_path, build.checksum = keywords_path, checksum
            build.part_checksums = parts

    def add_graph(
        self, build_id: int, graph_path: str, checksum: str, parts: dict | None = None
    ) -> None:
        """Record the citation graph written for a build from before them, with the
        checksums that now cover it too."""
        with self.sessions.begin() as session:
            build = session.get(IndexBuild, build_id)
            build.graph_path, build.checksum = graph_path, checksum
            build.part_checksums = parts

    def set_tuning(
        self, build_id: int, nprobe: int, recall: float, deep_nprobe: int, recall_100: float
    ) -> None:
        """Record the nprobes that measured tuning chose (servers reload on a change)."""
        with self.sessions.begin() as session:
            build = session.get(IndexBuild, build_id)
            build.nprobe, build.tuned_recall = nprobe, recall
            build.deep_nprobe, build.tuned_recall_100 = deep_nprobe, recall_100

    # -- reading ------------------------------------------------------------------------

    def current(self) -> IndexBuild | None:
        """The complete build published last: the one that is searched."""
        with self.sessions() as session:
            return session.scalar(_published(IndexBuild).limit(1))

    def current_marker(self) -> tuple[int, int | None, int | None] | None:
        """(id, nprobe, deep nprobe) of the current build: servers reload when one changes."""
        with self.sessions() as session:
            columns = (IndexBuild.id, IndexBuild.nprobe, IndexBuild.deep_nprobe)
            row = session.execute(_published(*columns).limit(1)).first()
        return None if row is None else tuple(row)

    def current_id(self) -> int | None:
        marker = self.current_marker()
        return None if marker is None else marker[0]

    def made_at(self, build_ids: set[int]) -> dict[int, datetime]:
        """When each of these builds was completed (UTC): when its new papers entered the
        index. Failed builds and builds never completed are left out."""
        if not build_ids:
            return {}
        with self.sessions() as session:
            rows = session.execute(
                select(IndexBuild.id, IndexBuild.finished_at).where(
                    IndexBuild.id.in_(sorted(build_ids)),
                    IndexBuild.status.in_((COMPLETE, PRUNED)),
                    IndexBuild.finished_at.is_not(None),
                )
            )
            return {i: _utc(moment) for i, moment in rows}

    def made_since(self, moment: datetime) -> set[int]:
        """Ids of the builds completed at ``moment`` or later (failed ones aside)."""
        with self.sessions() as session:
            return set(session.scalars(
                select(IndexBuild.id).where(
                    IndexBuild.status.in_((COMPLETE, PRUNED)), IndexBuild.finished_at >= moment
                )
            ))  # fmt: skip

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


def _utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were written in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _now() -> datetime:
    return datetime.now(timezone.utc)
