"""An author's page: their papers (paged, newest or most cited first), co-authors, the
years they published in and the topics they write on most, from the papers the served
build holds.

An author known by ids is every authorship carrying one of them, and the ids those
authorships carry with it (an OpenAlex id and an ORCID on one paper, that ORCID and a
Semantic Scholar id on another: one person), gathered a few rounds deep. Two different
ORCIDs are two people: an authorship whose ORCID is not the author's is left out. An
author known by name alone is every authorship without ids under that name (its words
as names compare, ``search.query.filter_keys``), and the page says it is grouped by
name: two people may share one.
"""

from __future__ import annotations

import time
from collections import Counter

import numpy as np

from search.answers.authors import AuthorProfile, CoAuthor, Topic
from search.answers.results import SearchResult
from search.authors.identity import AuthorRef, parse_ref, ref_of
from search.base.errors import AuthorNotFound, InvalidRequest
from search.engine.retriever import SemanticRetriever, ms_since
from search.graph.authors import AuthorIndex
from search.query.filter_keys import name_words
from search.query.filters import Filters
from search.query.limits import check_page
from search.store.authors import MAX_AUTHOR_PAPERS, Authorship

AUTHOR_SORTS = ("date", "citations")  # newest first (the default), most cited first
ROUNDS = 3  # rounds of ids gathered from the authorships found
SHOWN = 20  # co-authors and topics a page lists


class AuthorPages:
    """Author pages over one build's papers: found through its author index (a binary
    search, on every store), or for a build from before author indexes by the store's
    keys (an index lookup on PostgreSQL, a scan on SQLite)."""

    def __init__(self, retriever: SemanticRetriever, index: AuthorIndex | None = None) -> None:
        self.retriever = retriever
        self.rows = retriever.store.authors
        self.index = index

    def _with_ids(self, keys: list[str]) -> tuple[list[Authorship], bool]:
        if self.index is None:
            return self.rows.with_ids(keys)
        ids, cut = self.index.papers_of(keys, MAX_AUTHOR_PAPERS)
        return self.rows.of_ids(ids), cut

    def _named(self, key: str) -> tuple[list[Authorship], bool]:
        if self.index is None:
            return self.rows.named(key)
        ids, cut = self.index.papers_of([f"name:{key}"], MAX_AUTHOR_PAPERS)
        return self.rows.of_ids(ids), cut

    def profile(
        self, ref_text: str, k: int = 20, offset: int = 0, *, sort: str = "date",
        filters: Filters | None = None,
    ) -> AuthorProfile:  # fmt: skip
        """The author ``ref_text`` names; their papers (within ``filters``) a page at a
        time, the rest over all of them."""
        started = time.perf_counter()
        check_page(k, offset)
        if sort not in AUTHOR_SORTS:
            wanted = ", ".join(AUTHOR_SORTS)
            raise InvalidRequest(f"sort must be one of {wanted}, not {sort[:40]!r}.")
        ref = parse_ref(ref_text)
        found, ids, cut = self._by_ids(ref) if ref.kind == "id" else self._by_name(ref)
        if not found:
            raise AuthorNotFound(f"No paper of the served build is by {ref.slug[:80]!r}.")
        papers = [paper for paper, _ in found]
        filters = filters or Filters()
        listed = np.asarray([p.paper_id for p in papers], dtype=np.int64)
        allowed = self.retriever.allowed(filters)
        if allowed is not None:
            listed = listed[np.isin(listed, allowed)]
        listed = np.unique(self.retriever.works.of(listed))  # a work once, by its primary
        order = self._order(listed, sort)
        page = [(int(listed[at]), 0.0, None) for at in order[offset : offset + k]]
        names = Counter(paper.authors[at] for paper, at in found)
        years = [p.year for p in papers if p.year is not None]
        result = SearchResult(
            names.most_common(1)[0][0], len(listed), ms_since(started),
            self.retriever.hits(page, ()), "author", filters.to_params(), sort=sort,
        )  # fmt: skip
        topics = Counter(c for p in papers for c in p.categories).most_common(SHOWN)
        return AuthorProfile(
            ref_of("", tuple(sorted(ids))) if ids else ref.slug, names.most_common(1)[0][0],
            not ids, sorted(ids),
            min(years) if years else None, max(years) if years else None, _coauthors(found),
            [Topic(name, n) for name, n in topics], result,
            f"Only the first {MAX_AUTHOR_PAPERS:,} papers are read." if cut else None,
        )  # fmt: skip

    def _by_ids(self, ref: AuthorRef):
        """(paper, the author's place on it) pairs, the author's ids, and whether the read
        was cut: the ids gathered from the authorships found, ROUNDS deep."""
        ids, orcid = {ref.key}, ref.key if ref.key.startswith("orcid:") else None
        found, cut = [], False
        for _ in range(ROUNDS):
            rows, cut = self._with_ids(sorted(ids))
            found, grown = [], set(ids)
            for paper in rows:
                for at, keys in enumerate(paper.author_ids):
                    theirs = next((k for k in keys if k.startswith("orcid:")), None)
                    if not ids.intersection(keys) or (orcid and theirs and theirs != orcid):
                        continue
                    orcid = orcid or theirs
                    grown.update(keys)
                    found.append((paper, at))
                    break
            if grown == ids:
                break
            ids = grown
        return found, ids, cut

    def _by_name(self, ref: AuthorRef):
        """The authorships without ids under the name; where there are none and the name
        is one identified author's, that author (by their ids); several: say which."""
        rows, cut = self._named(ref.key)
        found, identified = [], Counter()
        for paper in rows:
            for at, name in enumerate(paper.authors):
                if " ".join(name_words(name)) != ref.key:
                    continue
                known = paper.author_ids[at] if at < len(paper.author_ids) else ()
                if known:
                    identified[ref_of(name, known)] += 1
                    continue
                found.append((paper, at))
                break
        if found or not identified:
            return found, set(), cut
        if len(identified) == 1:
            return self._by_ids(AuthorRef("id", next(iter(identified))))
        named = ", ".join(f"{r} ({n})" for r, n in identified.most_common(10))
        raise AuthorNotFound(f"Several authors here are named {ref.key!r}: {named}. "
                             "Name one by its id.")  # fmt: skip

    def _order(self, ids: np.ndarray, sort: str) -> list[int]:
        """Positions into ``ids`` in the page's order (ties by id)."""
        by_id = np.argsort(ids, kind="stable")
        keys = self.retriever.store.papers.sort_keys(sort)
        return by_id[keys.highest_first(ids[by_id])].tolist()


def _coauthors(found: list[tuple[Authorship, int]]) -> list[CoAuthor]:
    counted: Counter = Counter()
    names: dict[str, str] = {}
    for paper, mine in found:
        for at, name in enumerate(paper.authors):
            if at == mine:
                continue
            ref = ref_of(name, paper.author_ids[at] if at < len(paper.author_ids) else ())
            counted[ref] += 1
            names.setdefault(ref, name)
    return [CoAuthor(names[r], r, n) for r, n in counted.most_common(SHOWN + 1) if r][:SHOWN]
