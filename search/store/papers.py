"""Papers: metadata rows, written by the indexer, looked up by search results' ids.

A paper's ``id`` is also its FAISS id and is never reused. A paper that a full
snapshot no longer holds is *withdrawn*: it leaves search and its page but
keeps its row and id, and comes back under the same id if it reappears. Servers read the
papers as the build they serve holds them (``search.store.versions``).
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timezone

import numpy as np
from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from search.base.errors import PaperNotFound, PaperNotInBuild
from search.query.filter_keys import author_keys, category_keys, venue_key
from search.query.filters import Filters
from search.query.paper_refs import id_variants
from search.store.records import PaperRecord
from search.store.schema import Paper
from search.store.sort_keys import SortKeys
from search.store.sql import IN_CHUNK, dialect_of, fetch_ids, filter_conditions
from search.store.versions import PaperView, keep_versions

ADDED, UPDATED, UNCHANGED = "added", "updated", "unchanged"
WITHDRAWN = "withdrawn"
MAX_ID = 2**31 - 1  # papers.id is an INTEGER: 32 bits on PostgreSQL
FACT_SAMPLE = 2000  # papers read for example values of the filters


class Papers:
    """The papers table. Filter id sets, corpus facts and sort keys are cached for the life
    of this object (servers open a fresh store for each index build).

    ``serving`` is the index build whose papers a server serves: each paper as that build
    holds it (``search.store.versions``), so that filters, counts, pages and vectors agree
    with the build's FAISS and keyword indexes, also after ``builds use N`` and while, or
    after, a run writes papers its build does not hold (yet). None (the write path) reads
    every stored paper not withdrawn, as last written.
    """

    def __init__(self, sessions: sessionmaker[Session], serving: int | None = None) -> None:
        self.sessions = sessions
        self.serving = serving
        self.view = PaperView.working() if serving is None else PaperView.of_build(serving)
        self.matching_ids = functools.lru_cache(maxsize=64)(self._matching_ids)
        self.facts = functools.cache(self._facts)
        self.sort_keys = functools.cache(self._sort_keys)
        if serving is not None:  # the served papers change only with the build
            self.count = functools.cache(self.count)

    def not_found(self, stored: Paper | None, description: str) -> PaperNotFound:
        """The error for a paper that is not served: a paper that a build later than the
        one served first held says so (PaperNotInBuild: a rollback serves an older build),
        anything else is not found. It depends on the builds alone, never on what a run
        has stored and not built."""
        later = (
            stored is not None
            and self.serving is not None
            and (stored.first_build is not None and stored.first_build > self.serving)
        )
        if not later:
            return PaperNotFound(f"No paper with {description}.")
        return PaperNotInBuild(
            f"Paper {stored.id} ({stored.title[:120]!r}) is not in the index build being "
            f"served (build {self.serving}): it was added after that build, and searches "
            "return it once a later build is served.",
            paper_id=stored.id, title=stored.title, build=self.serving,
        )  # fmt: skip

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
                    select(Paper.external_id, Paper.id, Paper.content_hash, Paper.withdrawn_at)
                    .where(Paper.external_id.in_([r.external_id for r in records]))
                )
            }  # fmt: skip
            inserts, updates = [], []
            for record in records:  # the row's fields (author keys, ...) only when written
                found = existing.get(record.external_id)
                if found is None:
                    inserts.append({**_paper_fields(record), "created_at": now,
                                    "updated_at": now})  # fmt: skip
                    outcomes[record.external_id] = (ADDED, None)
                    continue
                before = WITHDRAWN if found[2] is not None else found[1]
                if before != record.content_hash:
                    updates.append({**_paper_fields(record), "id": found[0], "updated_at": now,
                                    "withdrawn_at": None, "content_build": None})  # fmt: skip
                    outcomes[record.external_id] = (UPDATED, before)
                else:
                    outcomes[record.external_id] = (UNCHANGED, before)
            if inserts:
                session.execute(insert(Paper), inserts)
            if updates:  # the states builds hold are kept for their servers
                keep_versions(session, [row["id"] for row in updates])
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
        """Take papers out of search in one transaction, from the next build on (the builds
        that hold them keep serving them); their rows and ids stay."""
        now = datetime.now(timezone.utc)
        with self.sessions.begin() as session:
            for start in range(0, len(ids), IN_CHUNK):
                chunk = [int(i) for i in ids[start : start + IN_CHUNK]]
                live = select(Paper.id).where(Paper.id.in_(chunk), Paper.withdrawn_at.is_(None))
                chunk = list(session.scalars(live))
                keep_versions(session, chunk)
                session.execute(
                    update(Paper)
                    .where(Paper.id.in_(chunk))
                    .values(withdrawn_at=now, content_build=None)
                )

    # -- reading --------------------------------------------------------------------

    def count(self) -> int:
        """Papers that are searchable (withdrawn ones are not counted)."""
        paper, conditions = self.view.narrow("id")
        with self.sessions() as session:
            return session.scalar(select(func.count(paper.id)).where(*conditions)) or 0

    def get(self, paper_id: int) -> Paper | None:
        """A paper that is served, as the build served holds it; withdrawn papers, and
        papers that build does not hold, are not found."""
        if not 0 < paper_id <= MAX_ID:
            return None
        found = self.get_many([paper_id])
        return found.get(paper_id)

    def stored(self, paper_id: int) -> Paper | None:
        """The row of a paper as last written, served or not (None for an id out of range)."""
        if not 0 < paper_id <= MAX_ID:
            return None
        with self.sessions() as session:
            return session.get(Paper, paper_id)

    def get_by_external_id(self, external_id: str) -> Paper | None:
        paper = self.view.paper
        with self.sessions() as session:
            return session.scalar(
                select(paper).where(paper.external_id == external_id, *self.view.conditions)
            )

    def get_by_doi(self, doi: str) -> Paper | None:
        """DOIs are case-insensitive; the first stored paper with it."""
        paper = self.view.paper
        with self.sessions() as session:
            return session.scalar(
                select(paper)
                .where(func.lower(paper.doi) == doi.lower(), *self.view.conditions)
                .order_by(paper.id)
                .limit(1)
            )

    def get_many(self, ids: Iterable[int]) -> dict[int, Paper]:
        """Searchable papers by id (withdrawn and unknown ids are left out)."""
        wanted = list(dict.fromkeys(int(i) for i in ids))
        paper = self.view.paper
        return {found.id: found for (found,) in self._rows_in(paper.id, wanted, paper)}

    def text_hashes(self, ids: np.ndarray) -> list[str]:
        """The text hash of each of ``ids`` as served (zeros for an id not served)."""
        paper, conditions = self.view.narrow("id", "text_hash")
        wanted = [int(i) for i in ids]
        found: dict[int, str] = {}
        with self.sessions() as session:
            for start in range(0, len(wanted), IN_CHUNK):
                query = select(paper.id, paper.text_hash).where(
                    paper.id.in_(wanted[start : start + IN_CHUNK]), *conditions
                )
                found.update(session.execute(query).all())
        return [found.get(i, "0" * 64) for i in wanted]

    def _sort_keys(self, sort: str) -> SortKeys:
        """Each served paper's key for ``sort`` (date, citations), read in one scan."""
        paper, conditions = self.view.narrow("id", "year", "date", "citations")
        with self.sessions() as session:
            return SortKeys.read(session, paper, conditions, sort)

    def find_by_dois(self, dois: Iterable[str]) -> dict[str, Paper]:
        """Served papers by DOI (keys lower case: DOIs ignore case)."""
        wanted = sorted({d.lower() for d in dois})
        return {p.doi.lower(): p for p in self._find(func.lower(self.view.paper.doi), wanted)}

    def find_by_external_ids(self, external_ids: Iterable[str]) -> dict[str, Paper]:
        """Served papers by the corpus's own id."""
        wanted = sorted(set(external_ids))
        return {p.external_id: p for p in self._find(self.view.paper.external_id, wanted)}

    def find_by_titles(self, titles: Iterable[str]) -> dict[str, Paper]:
        """Served papers by exact title, keyed by ``normal_title`` (case, spacing and a final
        period aside), the lowest id where several share one."""
        wanted: set[str] = set()
        for title in titles:
            spaced = " ".join(title.split()).rstrip(".")
            wanted |= {spaced, spaced.lower(), spaced + ".", spaced.lower() + "."}
        keys = {normal_title(t) for t in wanted}
        found: dict[str, Paper] = {}
        column = func.lower(self.view.paper.title)
        for paper in sorted(self._find(column, sorted(wanted)), key=_by_id):
            key = normal_title(paper.title)
            if key in keys:
                found.setdefault(key, paper)
        return found

    def _find(self, column, values: list[str]) -> list[Paper]:
        """Served papers whose ``column`` is one of ``values``."""
        return [paper for (paper,) in self._rows_in(column, values, self.view.paper)]

    def _rows_in(self, column, values: list, *selected) -> Iterator:
        """Rows of ``selected`` for the served papers whose ``column`` is one of ``values``,
        IN_CHUNK values a query (SQLite's limit on parameters)."""
        with self.sessions() as session:
            for start in range(0, len(values), IN_CHUNK):
                chunk = values[start : start + IN_CHUNK]
                yield from session.execute(
                    select(*selected).where(column.in_(chunk), *self.view.conditions)
                )

    def first_built_in(self, build_ids: set[int]) -> np.ndarray:
        """Sorted ids (int64) of the served papers whose first build is one of these."""
        if not build_ids:
            return np.zeros(0, dtype=np.int64)
        paper, conditions = self.view.narrow("id", "first_build")
        query = select(paper.id).where(paper.first_build.in_(sorted(build_ids)), *conditions)
        with self.sessions() as session:
            return np.sort(fetch_ids(session, query))

    def built_after(self, build_id: int) -> np.ndarray:
        """Sorted ids of the stored papers that a build later than ``build_id`` first held."""
        with self.sessions() as session:
            return np.sort(fetch_ids(session, select(Paper.id).where(Paper.first_build > build_id)))

    def first_builds(self, ids: Iterable[int]) -> dict[int, int]:
        """The first build that held each of these served papers (feeds: when it entered)."""
        wanted = list(dict.fromkeys(int(i) for i in ids))
        paper = self.view.paper
        rows = self._rows_in(paper.id, wanted, paper.id, paper.first_build)
        return {i: build for i, build in rows if build is not None}

    def resolve(self, ref: int | str) -> Paper:
        """A paper by internal id (an int), or by the corpus's own id (e.g. an arXiv id) or
        DOI (a string; a string of digits that is neither is tried as an internal id).
        A stored paper that the build served does not hold raises PaperNotInBuild."""
        if isinstance(ref, int) and not isinstance(ref, bool):
            return self._served_or_raise(ref, f"id {ref}")
        text = str(ref).strip()
        if not text or len(text) > 300:
            raise PaperNotFound(f"No paper with id {text[:40]!r}.")
        written = None if self.serving is None else Papers(self.sessions)
        for candidate in id_variants(text):
            found = self.get_by_external_id(candidate) or self.get_by_doi(candidate)
            if found is not None:
                return found
            stored = written and (written.get_by_external_id(candidate)
                                  or written.get_by_doi(candidate))  # fmt: skip
            if stored:
                raise self.not_found(stored, f"id {text[:80]!r}")
        if text.isdigit() and len(text) < 19:  # ids out of range are not looked up
            return self._served_or_raise(int(text), f"id {text}")
        raise PaperNotFound(f"No paper with id, external id or DOI {text[:80]!r}.")

    def _served_or_raise(self, paper_id: int, description: str) -> Paper:
        served = self.get(paper_id)
        if served is None:
            raise self.not_found(self.stored(paper_id), description)
        return served

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
        paper = self.view.paper
        narrow, conditions = self.view.narrow("id")
        with self.sessions() as session:
            ids = list(session.scalars(select(narrow.id).where(*conditions)))
            rng = np.random.default_rng(seed)
            chosen = (
                sorted(rng.choice(ids, min(n, len(ids)), replace=False).tolist()) if ids else []
            )
        rows = self._rows_in(paper.id, chosen, paper.id, paper.title, paper.abstract)
        return [(title, abstract) for _, title, abstract in sorted(rows)]

    def _facts(self) -> dict[str, int | str | None]:
        """What the searchable papers carry: how many have each filterable field, the year
        range, and common values (from a sample) to show as examples (the fields of
        ``CorpusFacts``, which the engine answers with)."""
        paper, conditions = self.view.narrow("year", "venue", "categories", "authors",
                                             "citations")  # fmt: skip
        searchable = and_(True, *conditions)
        with self.sessions() as session:
            counts = session.execute(
                select(
                    func.count(paper.year),
                    func.count(paper.venue),
                    func.count().filter(func.json_array_length(paper.categories) > 0),
                    func.count().filter(func.json_array_length(paper.authors) > 0),
                    func.count(paper.citations),
                    func.min(paper.year),
                    func.max(paper.year),
                ).where(searchable)
            ).one()
            venue = session.scalar(
                select(paper.venue).where(searchable, paper.venue.is_not(None))
                .group_by(paper.venue).order_by(func.count().desc(), paper.venue).limit(1)
            )  # fmt: skip
            sample = session.execute(
                select(paper.categories, paper.authors).where(searchable).limit(FACT_SAMPLE)
            ).all()
        categories = Counter(c for row in sample for c in row[0] or [])
        authors = Counter(a for row in sample for a in row[1] or [])
        counted = ("with_year", "with_venue", "with_categories", "with_authors",
                   "with_citations", "first_year", "last_year")  # fmt: skip
        return dict(
            zip(counted, counts, strict=True),
            example_venue=venue,
            example_category=_most_common(categories),
            example_author=_most_common(authors),
        )

    def _matching_ids(self, filters: Filters) -> np.ndarray:
        """Sorted ids (int64) of the searchable papers that satisfy ``filters``."""
        paper, conditions = self.view.narrow("id", "year", "venue_key", "category_keys",
                                             "author_keys")  # fmt: skip
        matching = filter_conditions(filters, dialect_of(self.sessions), paper)
        query = select(paper.id).where(*conditions, *matching)
        with self.sessions() as session:
            return np.sort(fetch_ids(session, query))


def normal_title(title: str) -> str:
    """What exact-title matching compares: lower case, single spaces, no final period."""
    return " ".join(title.split()).rstrip(".").lower()


def _by_id(paper: Paper) -> int:
    return paper.id


def _most_common(counts: Counter) -> str | None:
    return min(counts, key=lambda value: (-counts[value], value)) if counts else None


def mark_first_build(session: Session, ids: np.ndarray, build_id: int) -> int:
    """Record ``build_id`` as the first build of those of ``ids`` (sorted) that had none
    yet, in the caller's transaction (the one that completes the build), and as the build
    that holds their state: no build held them before. Returns how many."""
    pending = fetch_ids(session, select(Paper.id).where(Paper.first_build.is_(None)))
    new = pending[np.isin(pending, ids)]
    marks = {"first_build": build_id, "content_build": func.coalesce(Paper.content_build, build_id)}
    if len(new) == len(pending):  # all of them (the usual case): one statement
        session.execute(update(Paper).where(Paper.first_build.is_(None)).values(**marks))
        return len(new)
    for start in range(0, len(new), IN_CHUNK):
        chunk = new[start : start + IN_CHUNK].tolist()
        session.execute(update(Paper).where(Paper.id.in_(chunk)).values(**marks))
    return len(new)


def _paper_fields(record: PaperRecord) -> dict:
    return {
        "external_id": record.external_id,
        "title": record.title,
        "title_from_abstract": record.title_from_abstract,
        "abstract": record.abstract,
        "authors": list(record.authors),
        "year": record.year,
        "date": record.date,
        "citations": record.citations,
        "paper_keys": list(record.ids) or None,
        "reference_keys": list(record.references) or None,
        "citer_keys": list(record.cited_by) or None,
        "author_ids": [list(ids) for ids in record.author_ids] or None,
        "author_id_keys": list(dict.fromkeys(k for ids in record.author_ids for k in ids)),
        "venue": record.venue,
        "venue_key": venue_key(record.venue) if record.venue else None,
        "doi": record.doi,
        "url": record.url,
        "categories": list(record.categories),
        "category_keys": category_keys(record.categories),
        "author_keys": author_keys(record.authors),
        "text_hash": record.text_hash,
        "content_hash": record.content_hash,
    }
