"""The JSON Lines layouts: arXiv listing, Kaggle's arXiv snapshot, Semantic Scholar /
SciRepEval and BEIR, each a mapper from one object to a paper record."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from indexer.fields import (
    Notes,
    citation_count,
    clean,
    date_of,
    first_version_date,
    identifier,
    split_author_string,
    string_list,
    title_and_abstract,
    year_from_arxiv_id,
    year_from_date,
    year_of,
)
from indexer.readers.author_ids import author_ids
from indexer.readers.items import Citation, Withdrawal
from indexer.readers.links import any_id_keys, linked, s2_keys
from indexer.readers.openalex import from_openalex, is_openalex
from search.base.urls import http_url
from search.graph.keys import paper_key
from search.store.records import PaperRecord


def from_arxiv(obj: dict) -> PaperRecord:
    """arXiv listing layout: id, title, summary, authors (list), categories (list), abs."""
    arxiv_id = identifier(obj.get("id"), "id")
    notes = Notes()
    title, abstract, derived = title_and_abstract(
        obj.get("title"), obj.get("summary"), notes, abstract_field="summary"
    )
    return PaperRecord(
        external_id=arxiv_id,
        title=title,
        abstract=abstract,
        authors=notes.names(obj.get("authors"), "authors", split=split_author_string),
        year=notes.optional("year", lambda: year_of(obj.get("year")), None)
        or year_from_arxiv_id(arxiv_id)
        or year_from_date(obj.get("listing_date")),
        date=date_of(obj.get("listing_date")) or date_of(obj.get("published")),
        venue=notes.text(obj.get("journal_ref"), "journal_ref"),
        doi=notes.text(obj.get("doi"), "doi"),
        url=http_url(notes.text(obj.get("abs"), "abs")) or f"https://arxiv.org/abs/{arxiv_id}",
        categories=notes.names(obj.get("categories"), "categories", split=str.split),
        title_from_abstract=derived,
        warnings=tuple(notes.warnings),
    )


def from_kaggle_arxiv(obj: dict) -> PaperRecord:
    """Kaggle arxiv-metadata-oai-snapshot: authors and categories are single strings."""
    arxiv_id = identifier(obj.get("id"), "id")
    notes = Notes()
    title, abstract, derived = title_and_abstract(obj.get("title"), obj.get("abstract"), notes)
    return PaperRecord(
        external_id=arxiv_id,
        title=title,
        abstract=abstract,
        authors=notes.names(obj.get("authors"), "authors", split=split_author_string),
        year=year_from_arxiv_id(arxiv_id) or year_from_date(obj.get("update_date")),
        date=first_version_date(obj.get("versions")),
        venue=notes.text(obj.get("journal-ref"), "journal-ref"),
        doi=notes.text(obj.get("doi"), "doi"),
        url=f"https://arxiv.org/abs/{arxiv_id}",
        categories=notes.names(obj.get("categories"), "categories", split=str.split),
        title_from_abstract=derived,
        warnings=tuple(notes.warnings),
    )


# Semantic Scholar spells its keys three ways: the Graph API (corpusId), the bulk datasets
# (corpusid) and SciRepEval (corpus_id). The first present wins.
S2_IDS = ("corpus_id", "corpusId", "corpusid", "paper_id", "paperId")
S2_CITATIONS = ("citationCount", "citationcount", "citation_count")
S2_DATES = ("publicationDate", "publicationdate", "publication_date")
S2_FIELDS = ("fields_of_study", "fieldsOfStudy", "s2FieldsOfStudy", "s2fieldsofstudy")


def _first(obj: dict, keys: tuple[str, ...]) -> Any:
    return next((obj[key] for key in keys if key in obj), None)


def from_s2(obj: dict) -> PaperRecord:
    """Semantic Scholar / SciRepEval: corpus or paper id, title, abstract, authors, year,
    citation count; the paper's ids, and the Graph API's ``references`` and ``citations``
    lists (each entry a paper with its paperId and externalIds)."""
    id_key = next((key for key in S2_IDS if key in obj), "corpus_id")
    external_id = identifier(obj.get(id_key), "corpus_id/paper_id")
    notes = Notes()
    title, abstract, derived = title_and_abstract(obj.get("title"), obj.get("abstract"), notes)
    ids = obj.get("externalids") or obj.get("externalIds") or {}
    doi = obj.get("doi") or (ids.get("DOI") if isinstance(ids, dict) else None)
    url = obj.get("url")
    if url is None and id_key.lower().startswith("corpus"):
        url = f"https://api.semanticscholar.org/CorpusID:{external_id}"
    authors = notes.optional("authors", lambda: _s2_authors(obj.get("authors"), notes), ((), ()))
    return PaperRecord(
        external_id=external_id,
        title=title,
        abstract=abstract,
        authors=authors[0],
        author_ids=authors[1],
        year=notes.optional("year", lambda: year_of(obj.get("year")), None),
        date=date_of(_first(obj, S2_DATES)),
        venue=notes.text(obj.get("venue"), "venue"),
        doi=notes.text(doi, "doi"),
        url=http_url(notes.text(url, "url")),
        categories=notes.optional(
            "fields of study", lambda: _categories(_first(obj, S2_FIELDS)), ()
        ),
        citations=notes.optional(
            "citationCount", lambda: citation_count(_first(obj, S2_CITATIONS)), None
        ),
        title_from_abstract=derived,
        ids=tuple(s2_keys(obj.get("paperId"), ids, _first(obj, S2_CORPUS_IDS))),
        references=linked(obj.get("references"), "references", notes, _s2_entry),
        cited_by=linked(obj.get("citations"), "citations", notes, _s2_entry),
        warnings=tuple(notes.warnings),
    )


S2_CORPUS_IDS = ("corpusId", "corpusid", "corpus_id")


def _s2_authors(value: Any, notes: Notes) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """(names, each one's ids: its ``authorId``) of Semantic Scholar's author objects (or
    plain names)."""
    if not isinstance(value, list):
        return string_list(value, "authors"), ()
    names, ids = [], []
    for item in value:
        name = clean(item.get("name") if isinstance(item, dict) else item, "authors")
        if name:
            names.append(name)
            known = [("s2", item.get("authorId"))] if isinstance(item, dict) else []
            ids.append(author_ids(known, notes, "authors"))
    return tuple(names), (tuple(ids) if any(ids) else ())


def _s2_entry(entry: Any) -> list[str]:
    """The keys of a paper a Semantic Scholar record lists: a paper object (or the
    ``citedPaper``/``citingPaper`` the references endpoints wrap it in), or a bare id."""
    if isinstance(entry, dict):
        entry = entry.get("citedPaper") or entry.get("citingPaper") or entry
        ids = entry.get("externalIds") or entry.get("externalids")
        return s2_keys(entry.get("paperId"), ids, _first(entry, S2_CORPUS_IDS))
    return [*s2_keys(entry), *any_id_keys(entry)]


def from_s2_citation(obj: dict) -> Citation:
    """Semantic Scholar's citations dataset: one edge a line (``citingcorpusid``,
    ``citedcorpusid``, ``isinfluential``); an end S2 does not know is null."""
    return Citation(paper_key("corpusid", obj.get("citingcorpusid")),
                    paper_key("corpusid", obj.get("citedcorpusid")),
                    obj.get("isinfluential") is True)  # fmt: skip


def _categories(value: Any) -> tuple[str, ...]:
    if isinstance(value, list):
        value = [v.get("category") if isinstance(v, dict) else v for v in value]
        value = list(dict.fromkeys(v for v in value if v))
    return string_list(value, "fields of study")


def from_beir(obj: dict) -> PaperRecord:
    """BEIR corpus: _id, title, text (the abstract), optional metadata with url/doi."""
    external_id = identifier(obj.get("_id"), "_id")
    notes = Notes()
    title, abstract, derived = title_and_abstract(
        obj.get("title"), obj.get("text"), notes, abstract_field="text"
    )
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    return PaperRecord(
        external_id=external_id,
        title=title,
        abstract=abstract,
        authors=notes.names(meta.get("authors"), "authors"),
        year=notes.optional("year", lambda: year_of(meta.get("year")), None),
        date=date_of(meta.get("date")),
        doi=notes.text(meta.get("doi"), "doi"),
        url=http_url(notes.text(meta.get("url"), "url")),
        title_from_abstract=derived,
        warnings=tuple(notes.warnings),
    )


JSON_MAPPERS: dict[str, Callable[[dict], PaperRecord | Withdrawal]] = {
    "arxiv": from_arxiv,
    "kaggle-arxiv": from_kaggle_arxiv,
    "s2": from_s2,
    "beir": from_beir,
    "openalex": from_openalex,
    "s2-citations": from_s2_citation,
}

_KAGGLE_KEYS = {"authors_parsed", "journal-ref", "update_date", "versions", "submitter"}


def layout_of(obj: dict) -> str | None:
    """Which JSON layout an object is in, from its keys."""
    keys = set(obj)
    if "citingcorpusid" in keys and "citedcorpusid" in keys:
        return "s2-citations"
    if is_openalex(obj):
        return "openalex"
    if "_id" in keys:
        return "beir"
    if keys & set(S2_IDS):
        return "s2"
    if "id" in keys and "summary" in keys:
        return "arxiv"
    if "id" in keys and "abstract" in keys and keys & _KAGGLE_KEYS:
        return "kaggle-arxiv"
    return None
