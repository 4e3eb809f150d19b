"""OpenAlex works (the snapshot's gzipped JSON Lines, one work a line).

The abstract comes as an inverted index (word → positions) and is rebuilt in order
(or as plain ``abstract`` text, as converted sets such as the hep-th citation graph
give it); the venue is the primary location's source; categories are the work's
topics (or, in older snapshots, its concepts); ``cited_by_count`` is kept, and so are
the work's ``ids`` and its ``referenced_works`` (``indexer.readers.links``). A
retracted work is a :class:`Withdrawal`: it leaves search, as a paper a snapshot no
longer holds.
"""

from __future__ import annotations

from typing import Any

from indexer.fields import (
    BadRecord,
    Notes,
    citation_count,
    date_of,
    doi_of,
    identifier,
    title_and_abstract,
    year_of,
)
from indexer.readers.author_ids import author_ids
from indexer.readers.bounds import TEXT_CHARS
from indexer.readers.items import Withdrawal
from indexer.readers.links import any_id_keys, linked
from search.base.identifiers import arxiv_id_of
from search.base.urls import http_url
from search.graph.keys import paper_key
from search.store.records import PaperRecord

OPENALEX_ID_PREFIX = "https://openalex.org/"
MAX_ABSTRACT_WORDS = 20_000  # positions past this are a corrupt index, not an abstract
MIN_CONCEPT_SCORE = 0.3  # older snapshots' concepts below this are too weak to filter by


OPENALEX_KEYS = ("abstract_inverted_index", "authorships", "referenced_works")
ID_KINDS = {"openalex": "openalex", "doi": "doi", "pmid": "pmid", "pmcid": "pmcid",
            "mag": "mag", "arxiv": "arxiv"}  # fmt: skip


MAX_LOCATIONS = 100  # a work's locations read for ids


def is_openalex(obj: dict) -> bool:
    return str(obj.get("id", "")).startswith(OPENALEX_ID_PREFIX) or any(
        key in obj for key in OPENALEX_KEYS
    )


def from_openalex(obj: dict) -> PaperRecord | Withdrawal:
    work_id = identifier(obj.get("id"), "id").removeprefix(OPENALEX_ID_PREFIX)
    if obj.get("is_retracted") is True:
        return Withdrawal(work_id, "retracted")
    notes = Notes()
    abstract = notes.optional("abstract_inverted_index",
                              lambda: abstract_from_index(obj.get("abstract_inverted_index")),
                              None) or obj.get("abstract")  # fmt: skip
    title, abstract, derived = title_and_abstract(obj.get("title") or obj.get("display_name"),
                                                  abstract, notes)  # fmt: skip
    authors = notes.optional(
        "authorships", lambda: _authors(obj.get("authorships"), notes), ((), ())
    )
    primary = obj.get("primary_location") if isinstance(obj.get("primary_location"), dict) else {}
    source = primary.get("source") if isinstance(primary.get("source"), dict) else {}
    return PaperRecord(
        external_id=work_id,
        title=title,
        abstract=abstract,
        authors=authors[0],
        author_ids=authors[1],
        year=notes.optional(
            "publication_year", lambda: year_of(obj.get("publication_year")), None
        ),  # fmt: skip
        date=date_of(obj.get("publication_date")),
        venue=notes.text(source.get("display_name"), "primary_location.source"),
        doi=notes.optional("doi", lambda: doi_of(obj.get("doi")), None),
        url=http_url(notes.text(primary.get("landing_page_url"), "landing_page_url"))
        or f"{OPENALEX_ID_PREFIX}{work_id}",
        categories=notes.optional("topics", lambda: _categories(obj), ()),
        citations=notes.optional(
            "cited_by_count", lambda: citation_count(obj.get("cited_by_count")), None
        ),  # fmt: skip
        title_from_abstract=derived,
        ids=_ids(work_id, obj.get("ids"), obj.get("locations")),
        references=linked(obj.get("referenced_works"), "referenced_works", notes, any_id_keys),
        warnings=tuple(notes.warnings),
    )


def _ids(work_id: str, ids: Any, locations: Any = None) -> tuple[str, ...]:
    """The work's keys besides its corpus id: its OpenAlex id, those ``ids`` lists, and
    the arXiv ids of its locations (the preprint it was also published as)."""
    keys = [paper_key("openalex", work_id), *any_id_keys(work_id)]
    if isinstance(ids, dict):
        keys += [paper_key(kind, ids.get(name)) for name, kind in ID_KINDS.items()]
    for location in locations[:MAX_LOCATIONS] if isinstance(locations, list) else []:
        if isinstance(location, dict):
            for url in (location.get("landing_page_url"), location.get("pdf_url")):
                arxiv = arxiv_id_of(url, None) if isinstance(url, str) else None
                keys.append(paper_key("arxiv", arxiv) if arxiv else None)
    return tuple(dict.fromkeys(k for k in keys if k and not k.startswith("id:")))


def abstract_from_index(index: Any) -> str | None:
    """``{"word": [positions]}`` → the text, words in position order, built only as far as
    an abstract may go (a short line can name a long word thousands of times: the text
    past the bound is never made; ``indexer.readers.bounds`` cuts it and says so)."""
    if index is None:
        return None
    if not isinstance(index, dict):
        raise BadRecord(f"must be an object, not {type(index).__name__}")
    placed: dict[int, str] = {}
    for word, positions in index.items():
        if not isinstance(positions, list):
            raise BadRecord(f"positions of {word[:40]!r} are not a list")
        for position in positions:
            if not isinstance(position, int) or not 0 <= position < MAX_ABSTRACT_WORDS:
                raise BadRecord(f"position {position!r} of {word[:40]!r} is out of range")
            placed[position] = word
    words, length = [], 0
    for position in sorted(placed):
        words.append(placed[position])
        length += len(placed[position]) + 1
        if length > TEXT_CHARS["abstract"]:
            break
    return " ".join(words) or None


def _authors(authorships: Any, notes: Notes) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """(names, each one's ids: its OpenAlex author id and ORCID) of the authorships; ids
    empty when none is known."""
    if authorships is None:
        return (), ()
    if not isinstance(authorships, list):
        raise BadRecord(f"must be a list, not {type(authorships).__name__}")
    names, ids = [], []
    for authorship in authorships:
        author = authorship.get("author") if isinstance(authorship, dict) else None
        name = author.get("display_name") if isinstance(author, dict) else None
        if isinstance(name, str) and name.strip():
            names.append(" ".join(name.split()))
            known = [("openalex", author.get("id")), ("orcid", author.get("orcid"))]
            ids.append(author_ids(known, notes, "authorships"))
    return tuple(names), (tuple(ids) if any(ids) else ())


def _categories(obj: dict) -> tuple[str, ...]:
    topics = obj.get("topics")
    if isinstance(topics, list) and topics:
        names = [t.get("display_name") for t in topics if isinstance(t, dict)]
    else:
        concepts = obj.get("concepts") if isinstance(obj.get("concepts"), list) else []
        names = [c.get("display_name") for c in concepts if isinstance(c, dict)
                 and (c.get("score") or 0) >= MIN_CONCEPT_SCORE]  # fmt: skip
    return tuple(
        dict.fromkeys(" ".join(n.split()) for n in names if isinstance(n, str) and n.strip())
    )
