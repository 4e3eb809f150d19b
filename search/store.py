"""The paper store: metadata, stored embeddings and index builds in SQL (SQLite by default).

The FAISS index holds only vectors and ids; everything shown to users comes
from here, looked up by those ids.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
from sqlalchemy import (
    Integer,
    and_,
    column,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    table,
    update,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from search.filters import Filters
from search.keywords import quote_fts
from search.records import PaperRecord
from search.schema import Embedding, IndexBuild, Paper

BUILD_BUILDING = "building"
BUILD_COMPLETE = "complete"
BUILD_FAILED = "failed"
BUILD_PRUNED = "pruned"


ADDED, UPDATED, UNCHANGED = "added", "updated", "unchanged"
WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class PendingPaper:
    id: int
    title: str
    abstract: str | None
    text_hash: str


class PaperStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    # -- papers -------------------------------------------------------------------

    def upsert(self, records: Sequence[PaperRecord]) -> dict[str, tuple[str, str | None]]:
        """Insert new papers and update changed ones, matched by external id; one transaction.

        Returns, for each external id, what happened (``added``, ``updated`` or
        ``unchanged``) and the state before: None for a new paper, ``withdrawn``,
        or the previous content hash. ``records`` must hold each external id
        once. A withdrawn paper that comes back is restored under its old id.
        """
        outcomes: dict[str, tuple[str, str | None]] = {}
        if not records:
            return outcomes
        now = datetime.now(timezone.utc)
        with self.sessions.begin() as session:
            existing = {
                external_id: (paper_id, content_hash, withdrawn_at)
                for external_id, paper_id, content_hash, withdrawn_at in session.execute(
                    select(
                        Paper.external_id, Paper.id, Paper.content_hash, Paper.withdrawn_at
                    ).where(Paper.external_id.in_([r.external_id for r in records]))
                )
            }
            inserts, updates = [], []
            for record in records:
                found = existing.get(record.external_id)
                fields = _paper_fields(record)
                if found is None:
                    inserts.append({**fields, "created_at": now, "updated_at": now})
                    outcomes[record.external_id] = (ADDED, None)
                    continue
                before = WITHDRAWN if found[2] is not None else found[1]
                if before != record.content_hash:
                    row = {**fields, "id": found[0], "updated_at": now, "withdrawn_at": None}
                    updates.append(row)
                    outcomes[record.external_id] = (UPDATED, before)
                else:
                    outcomes[record.external_id] = (UNCHANGED, before)
            if inserts:
                session.execute(insert(Paper), inserts)
            if updates:
                session.execute(update(Paper), updates)
        return outcomes

    def missing_ids(self, present: set[str]) -> list[int]:
        """Ids of searchable papers whose external id is not in ``present``."""
        with self.sessions() as session:
            rows = session.execute(
                select(Paper.id, Paper.external_id).where(Paper.withdrawn_at.is_(None))
            ).all()
        return [paper_id for paper_id, external_id in rows if external_id not in present]

    def withdraw(self, ids: Sequence[int]) -> None:
        """Take papers out of search in one transaction; their rows and ids stay."""
        now = datetime.now(timezone.utc)
        with self.sessions.begin() as session:
            for start in range(0, len(ids), 900):
                session.execute(
                    update(Paper)
                    .where(Paper.id.in_(ids[start : start + 900]))
                    .values(withdrawn_at=now)
                )

    def count(self) -> int:
        """Papers that are searchable (withdrawn ones are not counted)."""
        with self.sessions() as session:
            return (
                session.scalar(
                    select(func.count()).select_from(Paper).where(Paper.withdrawn_at.is_(None))
                )
                or 0
            )

    def get(self, paper_id: int) -> Paper | None:
        """A paper that is in the corpus; withdrawn papers are not found."""
        with self.sessions() as session:
            paper = session.get(Paper, paper_id)
        return paper if paper is not None and paper.withdrawn_at is None else None

    def get_by_external_id(self, external_id: str) -> Paper | None:
        with self.sessions() as session:
            return session.scalar(
                select(Paper).where(Paper.external_id == external_id, Paper.withdrawn_at.is_(None))
            )

    def get_by_doi(self, doi: str) -> Paper | None:
        """DOIs are case-insensitive; the first stored paper with it."""
        with self.sessions() as session:
            return session.scalar(
                select(Paper)
                .where(func.lower(Paper.doi) == doi.lower(), Paper.withdrawn_at.is_(None))
                .order_by(Paper.id)
                .limit(1)
            )

    def get_many(self, ids: Iterable[int]) -> dict[int, Paper]:
        wanted = list(dict.fromkeys(int(i) for i in ids))
        if not wanted:
            return {}
        with self.sessions() as session:
            papers = session.scalars(
                select(Paper).where(Paper.id.in_(wanted), Paper.withdrawn_at.is_(None))
            )
            return {p.id: p for p in papers}

    def matching_ids(self, filters: Filters, match: str | None = None) -> np.ndarray:
        """Sorted ids (int64) of the searchable papers that satisfy ``filters`` (and the
        full-text expression ``match``, when given)."""
        if match is not None or filters.categories or filters.authors:
            self._require_sqlite("Keyword search and the category and author filters")
        if match is not None and not filters.active:  # the index holds only searchable papers
            query = select(FTS.c.rowid).where(_fts_match(match))
        else:
            query = select(Paper.id).where(
                Paper.withdrawn_at.is_(None), *filter_conditions(filters)
            )
            if match is not None:
                query = query.join(FTS, FTS.c.rowid == Paper.id).where(_fts_match(match))
        with self.sessions() as session, _fulltext_errors():
            return np.sort(_fetch_ids(session, query))

    def keyword_search(
        self, match: str, limit: int, filters: Filters
    ) -> tuple[list[tuple[int, float]], int]:
        """BM25 ranking of a full-text expression: ([(id, bm25 score)] best first, matches).

        The score is SQLite's bm25() negated, so that higher is better. The
        full-text index holds only searchable papers, so without filters the
        papers table is not touched (a join costs as much as the ranking).
        """
        self._require_sqlite("Keyword search")
        rank = func.bm25(literal_column("papers_fts"), *BM25_WEIGHTS)
        source, where = FTS, [_fts_match(match)]
        if filters.active:
            source = FTS.join(Paper, Paper.id == FTS.c.rowid)
            where += filter_conditions(filters)
        with self.sessions() as session, _fulltext_errors():
            rows = session.execute(
                select(FTS.c.rowid, rank.label("rank"))
                .select_from(source)
                .where(*where)
                .order_by(rank, FTS.c.rowid)
                .limit(limit)
            ).all()
            total = session.scalar(select(func.count()).select_from(source).where(*where))
        return [(paper_id, -float(score)) for paper_id, score in rows], int(total or 0)

    def term_document_counts(self, terms: Sequence[str]) -> dict[str, int]:
        """How many searchable papers contain each word (after the index's stemming)."""
        self._require_sqlite("Keyword search")
        counts = {}
        with self.sessions() as session, _fulltext_errors():
            for term in terms:
                query = select(func.count()).select_from(FTS).where(_fts_match(quote_fts(term)))
                counts[term] = int(session.scalar(query) or 0)
        return counts

    def _require_sqlite(self, feature: str) -> None:
        bind = self.sessions.kw.get("bind")
        if bind is not None and bind.dialect.name != "sqlite":
            raise FulltextUnavailable(
                f"{feature}: available only with SQLite (FTS5 and JSON functions); this "
                f"store is {bind.dialect.name}."
            )

    # -- embeddings ---------------------------------------------------------------

    def pending_embeddings(self, model_key: str, chunk: int = 4096) -> Iterator[list[PendingPaper]]:
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

    def count_pending_embeddings(self, model_key: str) -> int:
        with self.sessions() as session:
            query = _pending(select(func.count()).select_from(Paper), model_key)
            return session.scalar(query) or 0

    def save_embeddings(
        self, model_key: str, papers: Sequence[PendingPaper], vectors: np.ndarray
    ) -> None:
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

    def all_vectors(self, model_key: str) -> tuple[np.ndarray, np.ndarray]:
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

    def vector(self, paper_id: int, model_key: str) -> np.ndarray | None:
        with self.sessions() as session:
            blob = session.scalar(
                select(Embedding.vector).where(
                    Embedding.paper_id == paper_id, Embedding.model_key == model_key
                )
            )
        return None if blob is None else np.frombuffer(blob, dtype=np.float32).copy()

    # -- builds -------------------------------------------------------------------

    def start_build(self, **fields) -> IndexBuild:
        with self.sessions.begin() as session:
            build = IndexBuild(status=BUILD_BUILDING, **fields)
            session.add(build)
            session.flush()
            return build

    def finish_build(self, build_id: int, **fields) -> IndexBuild:
        """Mark a build complete and current: one transaction, after its file is fsynced."""
        now = datetime.now(timezone.utc)
        with self.sessions.begin() as session:
            build = session.get(IndexBuild, build_id)
            for name, value in fields.items():
                setattr(build, name, value)
            build.status = BUILD_COMPLETE
            build.finished_at = now
            build.published_at = now
            return build

    def fail_build(self, build_id: int) -> None:
        with self.sessions.begin() as session:
            build = session.get(IndexBuild, build_id)
            if build is not None:
                build.status = BUILD_FAILED
                build.finished_at = datetime.now(timezone.utc)

    def fail_unfinished_builds(self) -> list[IndexBuild]:
        """Builds left 'building' by a run that died; call only while holding the write lock."""
        with self.sessions.begin() as session:
            stale = list(
                session.scalars(select(IndexBuild).where(IndexBuild.status == BUILD_BUILDING))
            )
            for build in stale:
                build.status = BUILD_FAILED
                build.finished_at = datetime.now(timezone.utc)
            return stale

    def current_build(self) -> IndexBuild | None:
        """The complete build published last: the one that is searched."""
        with self.sessions() as session:
            return session.scalar(_published(IndexBuild).limit(1))

    def current_build_marker(self) -> tuple[int, int | None] | None:
        """(id, nprobe) of the current build: servers reload when either changes."""
        with self.sessions() as session:
            row = session.execute(_published(IndexBuild.id, IndexBuild.nprobe).limit(1)).first()
        return None if row is None else (row[0], row[1])

    def current_build_id(self) -> int | None:
        marker = self.current_build_marker()
        return None if marker is None else marker[0]

    def set_tuning(self, build_id: int, nprobe: int, recall: float) -> None:
        with self.sessions.begin() as session:
            build = session.get(IndexBuild, build_id)
            build.nprobe, build.tuned_recall = nprobe, recall

    def sample_titles(self, n: int, seed: int = 0) -> list[str]:
        """Titles of up to ``n`` searchable papers, a fixed pseudo-random sample."""
        with self.sessions() as session:
            ids = list(session.scalars(select(Paper.id).where(Paper.withdrawn_at.is_(None))))
            rng = np.random.default_rng(seed)
            chosen = (
                sorted(rng.choice(ids, min(n, len(ids)), replace=False).tolist()) if ids else []
            )
            return [
                title
                for start in range(0, len(chosen), 900)
                for title in session.scalars(
                    select(Paper.title).where(Paper.id.in_(chosen[start : start + 900]))
                )
            ]

    def get_build(self, build_id: int) -> IndexBuild | None:
        with self.sessions() as session:
            return session.get(IndexBuild, build_id)

    def complete_builds(self) -> list[IndexBuild]:
        """Complete builds, the current one first, then in the order they were published."""
        with self.sessions() as session:
            return list(session.scalars(_published(IndexBuild)))

    def list_builds(self) -> list[IndexBuild]:
        with self.sessions() as session:
            return list(session.scalars(select(IndexBuild).order_by(IndexBuild.id.desc())))

    def publish(self, build_id: int) -> IndexBuild:
        """Make a complete build current again (rollback): one transaction."""
        with self.sessions.begin() as session:
            build = session.get(IndexBuild, build_id)
            if build is None or build.status != BUILD_COMPLETE:
                state = "does not exist" if build is None else f"is {build.status}"
                raise LookupError(f"Build {build_id} {state}; only complete builds can be used.")
            build.published_at = datetime.now(timezone.utc)
            return build

    def prune_builds(self, keep: int) -> list[IndexBuild]:
        """Mark all but the ``keep`` most recently published complete builds as pruned.

        Returns the pruned builds so that the caller deletes their files (after
        the commit: a crash between the two leaves only an orphan file).
        """
        with self.sessions.begin() as session:
            complete = list(
                session.scalars(
                    select(IndexBuild)
                    .where(IndexBuild.status == BUILD_COMPLETE)
                    .order_by(IndexBuild.published_at.desc(), IndexBuild.id.desc())
                )
            )
            pruned = complete[max(keep, 1) :]
            for build in pruned:
                build.status = BUILD_PRUNED
            return pruned


def _published(*columns):
    """Complete, published builds, the current one (published last) first."""
    return (
        select(*columns)
        .where(IndexBuild.status == BUILD_COMPLETE, IndexBuild.published_at.is_not(None))
        .order_by(IndexBuild.published_at.desc(), IndexBuild.id.desc())
    )


def _fetch_ids(session: Session, query) -> np.ndarray:
    """The first column of ``query`` as int64, straight from the DB-API cursor: for the
    tens of thousands of ids a broad filter selects, SQLAlchemy's row objects cost more
    than the query itself."""
    connection = session.connection()
    compiled = query.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    if compiled.positiontup is None:  # a named-parameter driver: the general path
        return np.asarray(session.scalars(query).all(), dtype=np.int64)
    params = compiled.construct_params()
    cursor = connection.connection.driver_connection.cursor()
    try:
        cursor.execute(str(compiled), [params[name] for name in compiled.positiontup])
        return np.fromiter((row[0] for row in cursor), dtype=np.int64)
    finally:
        cursor.close()


# The FTS5 table made by migration 0003 (external content over ``papers``).
FTS = table("papers_fts", column("rowid", Integer))
# bm25() column weights: title, abstract, authors. Equal (not tuned: SciFact has no authors).
BM25_WEIGHTS = (1.0, 1.0, 1.0)


class FulltextUnavailable(RuntimeError):
    """Keyword search needs the SQLite full-text index (migration 0003)."""


def _fts_match(match: str):
    return literal_column("papers_fts").op("MATCH")(match)


@contextlib.contextmanager
def _fulltext_errors() -> Iterator[None]:
    try:
        yield
    except OperationalError as exc:
        if "papers_fts" in str(exc) or "no such module" in str(exc):
            raise FulltextUnavailable(
                "Keyword search needs the full-text index, which exists only in SQLite "
                "databases at schema 0003 or later (papersearch db upgrade)."
            ) from exc
        raise


def filter_conditions(filters: Filters) -> list:
    """SQL conditions on ``papers`` for each active filter (SQLite's JSON functions)."""
    conditions = []
    if filters.year_min is not None:
        conditions.append(Paper.year >= filters.year_min)
    if filters.year_max is not None:
        conditions.append(Paper.year <= filters.year_max)
    if filters.venues:
        conditions.append(func.lower(Paper.venue).in_([v.lower() for v in filters.venues]))
    if filters.categories:
        each = func.json_each(Paper.categories).table_valued("value").alias("category")
        wanted = [
            or_(each.c.value == c, each.c.value.like(_like_escape(c) + ".%", escape="\\"))
            for c in filters.categories
        ]
        conditions.append(select(1).select_from(each).where(or_(*wanted)).exists())
    if filters.authors:
        each = func.json_each(Paper.authors).table_valued("value").alias("author")
        wanted = [
            func.lower(each.c.value).like("%" + _like_escape(a.lower()) + "%", escape="\\")
            for a in filters.authors
        ]
        conditions.append(select(1).select_from(each).where(or_(*wanted)).exists())
    return conditions


def _like_escape(value: str) -> str:
    """User text inside a LIKE pattern: % and _ match themselves."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _pending(query, model_key: str):
    """Restrict ``query`` to searchable papers whose vector for the model is missing or stale."""
    return query.outerjoin(
        Embedding, and_(Embedding.paper_id == Paper.id, Embedding.model_key == model_key)
    ).where(
        Paper.withdrawn_at.is_(None),
        or_(Embedding.paper_id.is_(None), Embedding.text_hash != Paper.text_hash),
    )


def _paper_fields(record: PaperRecord) -> dict:
    return {
        "external_id": record.external_id,
        "title": record.title,
        "abstract": record.abstract,
        "authors": list(record.authors),
        "year": record.year,
        "venue": record.venue,
        "doi": record.doi,
        "url": record.url,
        "categories": list(record.categories),
        "text_hash": record.text_hash,
        "content_hash": record.content_hash,
    }
