"""Papers: metadata rows, written by the indexer, looked up by search results' ids.

A paper's ``id`` is also its FAISS id and is never reused. A paper that a full
snapshot no longer holds is *withdrawn*: it leaves search and its page but
keeps its row and id, and comes back under the same id if it reappears.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone

import numpy as np
from sqlalchemy import String, false, func, insert, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, sessionmaker

from search.errors import PaperNotFound
from search.filters import Filters
from search.names import author_filter_key, author_keys, category_keys
from search.records import PaperRecord
from search.results import CorpusFacts
from search.schema import Paper

ADDED, UPDATED, UNCHANGED = "added", "updated", "unchanged"
WITHDRAWN = "withdrawn"
IN_CHUNK = 900  # ids per IN (...) list: SQLite allows 999 parameters a statement
MAX_ID = 2**31 - 1  # papers.id is an INTEGER: 32 bits on PostgreSQL
FACT_SAMPLE = 2000  # papers read for example values of the filters


class Papers:
    """The papers table. Filter id sets are cached for the life of this object (servers
    open a fresh store for each index build)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self.matching_ids = functools.lru_cache(maxsize=64)(self._matching_ids)
        self.facts = functools.cache(self._facts)

    # -- writing --------------------------------------------------------------------

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

    def external_ids(self) -> dict[int, str]:
        """Every searchable paper's external id, by internal id."""
        with self.sessions() as session:
            rows = session.execute(
                select(Paper.id, Paper.external_id).where(Paper.withdrawn_at.is_(None))
            )
            return dict(rows.all())

    def missing_ids(self, present: set[str]) -> list[int]:
        """Ids of searchable papers whose external id is not in ``present``."""
        return [i for i, external_id in self.external_ids().items() if external_id not in present]

    def withdraw(self, ids: Sequence[int]) -> None:
        """Take papers out of search in one transaction; their rows and ids stay."""
        now = datetime.now(timezone.utc)
        with self.sessions.begin() as session:
            for start in range(0, len(ids), IN_CHUNK):
                session.execute(
                    update(Paper)
                    .where(Paper.id.in_(ids[start : start + IN_CHUNK]))
                    .values(withdrawn_at=now)
                )

    # -- reading --------------------------------------------------------------------

    def count(self) -> int:
        """Papers that are searchable (withdrawn ones are not counted)."""
        with self.sessions() as session:
            query = select(func.count()).select_from(Paper).where(Paper.withdrawn_at.is_(None))
            return session.scalar(query) or 0

    def get(self, paper_id: int) -> Paper | None:
        """A paper that is in the corpus; withdrawn papers are not found."""
        if not 0 < paper_id <= MAX_ID:
            return None
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
        """Searchable papers by id (withdrawn and unknown ids are left out)."""
        wanted = list(dict.fromkeys(int(i) for i in ids))
        found: dict[int, Paper] = {}
        with self.sessions() as session:
            for start in range(0, len(wanted), IN_CHUNK):
                chunk = wanted[start : start + IN_CHUNK]
                found.update((p.id, p) for p in session.scalars(
                    select(Paper).where(Paper.id.in_(chunk), Paper.withdrawn_at.is_(None))
                ))  # fmt: skip
        return found

    def dates(self, ids: Iterable[int]) -> dict[int, tuple[int, str]]:
        """(year, date) of searchable papers by id, for sorting newest first: 0 and ""
        where the corpus gave none, so that undated papers sort last."""
        wanted = list(dict.fromkeys(int(i) for i in ids))
        found: dict[int, tuple[int, str]] = {}
        with self.sessions() as session:
            for start in range(0, len(wanted), IN_CHUNK):
                chunk = wanted[start : start + IN_CHUNK]
                rows = session.execute(
                    select(Paper.id, Paper.year, Paper.date).where(
                        Paper.id.in_(chunk), Paper.withdrawn_at.is_(None)
                    )
                )
                found.update((i, (year or 0, date or "")) for i, year, date in rows)
        return found

    def resolve(self, ref: int | str) -> Paper:
        """A paper by internal id (an int), or by the corpus's own id (e.g. an arXiv id) or
        DOI (a string; a string of digits that is neither is tried as an internal id)."""
        if isinstance(ref, int) and not isinstance(ref, bool):
            found = self.get(ref)
            if found is None:
                raise PaperNotFound(f"No paper with id {ref}.")
            return found
        text = str(ref).strip()
        if not text or len(text) > 300:
            raise PaperNotFound(f"No paper with id {text[:40]!r}.")
        for candidate in id_variants(text):
            found = self.get_by_external_id(candidate) or self.get_by_doi(candidate)
            if found is not None:
                return found
        if text.isdigit() and len(text) < 19:  # get() refuses ids out of range
            found = self.get(int(text))
            if found is not None:
                return found
        raise PaperNotFound(f"No paper with id, external id or DOI {text[:80]!r}.")

    def resolve_many(self, refs: Sequence[int | str]) -> list[Paper]:
        """Each reference resolved, in order, each paper once."""
        papers: dict[int, Paper] = {}
        for ref in refs:
            paper = self.resolve(ref)
            papers.setdefault(paper.id, paper)
        return list(papers.values())

    def sample_titles(self, n: int, seed: int = 0) -> list[str]:
        """Titles of up to ``n`` searchable papers, a fixed pseudo-random sample."""
        return [title for title, _ in self.sample_texts(n, seed)]

    def sample_texts(self, n: int, seed: int = 0) -> list[tuple[str, str | None]]:
        """(title, abstract) of up to ``n`` searchable papers, a fixed pseudo-random sample
        in id order."""
        with self.sessions() as session:
            ids = list(session.scalars(select(Paper.id).where(Paper.withdrawn_at.is_(None))))
            rng = np.random.default_rng(seed)
            chosen = (
                sorted(rng.choice(ids, min(n, len(ids)), replace=False).tolist()) if ids else []
            )
            rows = [
                row
                for start in range(0, len(chosen), IN_CHUNK)
                for row in session.execute(
                    select(Paper.id, Paper.title, Paper.abstract).where(
                        Paper.id.in_(chosen[start : start + IN_CHUNK])
                    )
                )
            ]
            return [(title, abstract) for _, title, abstract in sorted(rows)]

    def _facts(self) -> CorpusFacts:
        """What the searchable papers carry: how many have each filterable field, the year
        range, and common values (from a sample) to show as examples."""
        searchable = Paper.withdrawn_at.is_(None)
        with self.sessions() as session:
            counts = session.execute(
                select(
                    func.count(Paper.year),
                    func.count(Paper.venue),
                    func.count().filter(func.json_array_length(Paper.categories) > 0),
                    func.count().filter(func.json_array_length(Paper.authors) > 0),
                    func.min(Paper.year),
                    func.max(Paper.year),
                ).where(searchable)
            ).one()
            venue = session.scalar(
                select(Paper.venue).where(searchable, Paper.venue.is_not(None))
                .group_by(Paper.venue).order_by(func.count().desc(), Paper.venue).limit(1)
            )  # fmt: skip
            sample = session.execute(
                select(Paper.categories, Paper.authors).where(searchable).limit(FACT_SAMPLE)
            ).all()
        categories = Counter(c for row in sample for c in row[0] or [])
        authors = Counter(a for row in sample for a in row[1] or [])
        return CorpusFacts(
            *counts,
            example_venue=venue,
            example_category=_most_common(categories),
            example_author=_most_common(authors),
        )

    def _matching_ids(self, filters: Filters) -> np.ndarray:
        """Sorted ids (int64) of the searchable papers that satisfy ``filters``."""
        conditions = filter_conditions(filters, dialect_of(self.sessions))
        query = select(Paper.id).where(Paper.withdrawn_at.is_(None), *conditions)
        with self.sessions() as session:
            return np.sort(fetch_ids(session, query))


def _most_common(counts: Counter) -> str | None:
    return min(counts, key=lambda value: (-counts[value], value)) if counts else None


def paper_ref(text: str) -> int | str:
    """A reference typed by a person or sent in a URL: digits are an internal id, anything
    else an external id or DOI (see Papers.resolve)."""
    return int(text) if text.isdigit() and len(text) < 19 else text


def id_variants(text: str) -> list[str]:
    """``arXiv:2212.09525v2`` → itself, ``2212.09525v2``, ``2212.09525``; DOI URLs → the DOI."""
    variants = [text]
    bare = re.sub(r"^(?:arxiv:|https?://(?:dx\.)?doi\.org/|doi:)", "", text, flags=re.I)
    variants.append(bare)
    variants.append(re.sub(r"v\d+$", "", bare))
    return list(dict.fromkeys(v for v in variants if v))


def dialect_of(sessions: sessionmaker[Session]) -> str:
    """``sqlite`` or ``postgresql``: the few queries that differ look here."""
    return sessions.kw["bind"].dialect.name


def filter_conditions(filters: Filters, dialect: str) -> list:
    """SQL conditions on ``papers`` for each active filter. Categories and authors match
    whole keys (``search.names``): PostgreSQL looks them up in a GIN index of the JSONB
    key arrays; SQLite walks each paper's keys with json_each."""
    conditions = []
    if filters.year_min is not None:
        conditions.append(Paper.year >= filters.year_min)
    if filters.year_max is not None:
        conditions.append(Paper.year <= filters.year_max)
    if filters.venues:
        conditions.append(func.lower(Paper.venue).in_([v.lower() for v in filters.venues]))
    for column, wanted in (
        (Paper.category_keys, list(filters.categories)),
        (Paper.author_keys, [k for k in map(author_filter_key, filters.authors) if k]),
    ):
        if not wanted and column is Paper.author_keys and filters.authors:
            conditions.append(false())  # names without a letter match no one
        elif wanted:
            conditions.append(_has_any_key(column, wanted, dialect))
    return conditions


def _has_any_key(column, keys: list[str], dialect: str):
    if dialect == "postgresql":
        return column.op("?|")(postgresql.array(keys, type_=String))
    each = func.json_each(column).table_valued("value").alias("key")
    return select(1).select_from(each).where(each.c.value.in_(keys)).exists()


def fetch_ids(session: Session, query) -> np.ndarray:
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


def _paper_fields(record: PaperRecord) -> dict:
    return {
        "external_id": record.external_id,
        "title": record.title,
        "title_from_abstract": record.title_from_abstract,
        "abstract": record.abstract,
        "authors": list(record.authors),
        "year": record.year,
        "date": record.date,
        "venue": record.venue,
        "doi": record.doi,
        "url": record.url,
        "categories": list(record.categories),
        "category_keys": category_keys(record.categories),
        "author_keys": author_keys(record.authors),
        "text_hash": record.text_hash,
        "content_hash": record.content_hash,
    }
