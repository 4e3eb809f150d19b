"""What the engine answers with: the API's contract, the CLI's ``--json`` and the exporters' input.

Each type is a dataclass whose fields carry their description; the OpenAPI
document's component schemas are generated from these declarations
(``web.openapi``), so the contract is written once.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from search.answers.snippets import snippet
from search.authors.identity import ref_of
from search.base.urls import http_url
from search.query.limits import DEFAULT_MODE, MODES, SORT_POOL, SORT_POOL_KEYWORD, SORTS
from search.ranking.fusion import FUSION_DEPTH, PHRASE_BOOST
from search.store.schema import Paper

# What a result list answers: the three search modes, and the lists that start from papers.
RESULT_KINDS = (*MODES, "example", "similar", "recommend", "references", "citations",
                "connected", "author")  # fmt: skip


def described(text: str, default: Any = dataclasses.MISSING, **schema: Any) -> Any:
    """A field with its description (and JSON Schema keywords beyond its type)."""
    metadata = {"description": text, "schema": schema}
    if isinstance(default, (list, dict)):  # a fresh one for each instance
        return field(default_factory=type(default), metadata=metadata)
    return field(default=default, metadata=metadata)


def optional(text: str, **schema: Any) -> Any:
    """A field left out of the answer when it is None."""
    return field(default=None, metadata={"description": text, "schema": schema, "omit": True})


class Answer:
    """A dataclass answer: ``to_dict`` is its JSON."""

    def to_dict(self) -> dict[str, Any]:
        """The answer as JSON-ready values; an optional field that is None is left out, in
        the answers it holds too."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)
                if not (f.metadata.get("omit") and getattr(self, f.name) is None)}  # fmt: skip


def _plain(value: Any) -> Any:
    if isinstance(value, Answer):
        return value.to_dict()
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value


@dataclass
class PaperFields(Answer):
    """The fields a search hit and a paper share."""

    id: int = described("The paper's internal id (stable, never reused).")
    external_id: str = described("The corpus's own id, e.g. an arXiv id.")
    title: str = described("Title.")
    title_from_abstract: bool = described(
        "The corpus gave no title: the title is the abstract's first sentence."
    )
    authors: list[str] = described("Author names, in order.")
    author_ids: list[str | None] = described(
        "Each author's page (`/api/v1/authors/{author_id}`), in the order of authors: an id "
        "the sources give (`orcid:…`, `openalex:A…`, `s2:…`), else `name:` and the name's "
        "key; null for a name without a letter."
    )
    year: int | None = described("Publication year.")
    date: str | None = described(
        "The date the corpus gives (YYYY-MM-DD: an arXiv listing date, a publication date)."
    )
    venue: str | None = described("Venue (journal or conference).")
    citations: int | None = described(
        "How often the paper is cited, where the corpus says (null: it does not)."
    )
    doi: str | None = described("DOI.")
    url: str | None = described("Where to read the paper: its http(s) link, else its DOI link.")
    abstract: str | None = described("Abstract.")

    @staticmethod
    def of(paper: Paper) -> dict[str, Any]:
        return {
            "id": paper.id,
            "external_id": paper.external_id,
            "title": paper.title,
            "title_from_abstract": bool(paper.title_from_abstract),
            "authors": list(paper.authors or []),
            "author_ids": author_pages(paper.authors or [], paper.author_ids or []),
            "year": paper.year,
            "date": paper.date,
            "venue": paper.venue,
            "citations": paper.citations,
            "doi": paper.doi,
            "url": paper_url(paper),
            "abstract": paper.abstract,
        }


@dataclass
class Version(Answer):
    """Another version of the same work: its preprint, or the article from another source.
    A work is shown by its most published version (a journal DOI, then a venue)."""

    id: int = described("The version's internal id; it finds the work too.")
    external_id: str = described("The corpus's own id of the version, e.g. an arXiv id.")
    title: str = described("The version's title.")
    year: int | None = described("Its year.")
    venue: str | None = described("Its venue.")
    doi: str | None = described("Its DOI.")
    url: str | None = described("Where to read this version.")
    linked: str = described("How it was found to be the same work.",
                            enum=["linked by id", "matched by title"])  # fmt: skip

    @classmethod
    def of(cls, paper: Paper, linked: str) -> Version:
        return cls(paper.id, paper.external_id, paper.title, paper.year, paper.venue,
                   paper.doi, paper_url(paper), linked)  # fmt: skip


VERSIONS_TEXT = "The work's other versions (also published as): none for a single version."


@dataclass
class PaperDetail(PaperFields):
    """One paper's metadata and abstract (``/api/v1/papers/ID``)."""

    categories: list[str] = described("Categories or fields of study.")
    updated_at: str | None = described("When the corpus last changed this paper (UTC).")
    versions: list[Version] = described(VERSIONS_TEXT, [])

    @classmethod
    def from_paper(cls, paper: Paper, versions: list[Version] | None = None) -> PaperDetail:
        return cls(**PaperFields.of(paper), categories=list(paper.categories or []),
                   updated_at=iso_utc(paper.updated_at), versions=versions or [])  # fmt: skip


@dataclass
class Connection(Answer):
    """Why a connected paper is connected: references in common, being cited together,
    similar text."""

    shared_references: int = described("References it shares with the paper (bibliographic "
                                       "coupling).")  # fmt: skip
    cited_together: int = described("Papers of this corpus that cite both (co-citation).")
    similar_text: bool = described("Among the papers nearest to it by their embeddings.")
    library_links: int | None = optional(
        "Recommendations from a library: how many of the library's papers cite it or are "
        "cited by it."
    )

    @property
    def summary(self) -> str:
        """Why, as a person reads it: "3 shared references, cited together 2 times"."""
        why = []
        if self.shared_references:
            why.append(_counted(self.shared_references, "shared reference"))
        if self.cited_together:
            why.append(f"cited together {_counted(self.cited_together, 'time')}")
        if self.library_links:
            why.append(f"linked to {_counted(self.library_links, 'paper')} of the library")
        if self.similar_text:
            why.append("similar text")
        return ", ".join(why)


def _counted(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


@dataclass
class Hit(PaperFields):
    """A paper in a ranked list."""

    score: float = described(
        "Higher is better. semantic, similar, example and recommend: 1 / (1 + distance); "
        f"keyword: BM25; hybrid: the fused score, in [0, 1] (up to {1 + PHRASE_BOOST:g} with "
        f"quoted phrases) for the top {FUSION_DEPTH} of either ranking, at most 0 past them; "
        "references and citations: how many papers of this corpus cite the paper; "
        "connected: the blend of links and similarity, in [0, 1]."
    )
    distance: float | None = described(
        "Euclidean distance between the vectors (null for a paper found by keywords only)."
    )
    snippet: str = described("The part of the abstract with the most query words.", "")
    highlights: list[list[int]] = described("Where query words are in snippet.", [], ref="Spans")
    title_highlights: list[list[int]] = described(
        "Where query words are in title.", [], ref="Spans"
    )
    connection: Connection | None = optional("connected: why the paper is connected.")
    versions: list[Version] = described(VERSIONS_TEXT, [])

    @classmethod
    def from_paper(
        cls, paper: Paper, score: float, distance: float | None, words: tuple[str, ...]
    ) -> Hit:
        """A hit with its snippet and the spans of the query's ``words``."""
        text, spans = snippet(paper.abstract, words)
        _, title_spans = snippet(paper.title, words, width=len(paper.title) + 1)
        return cls(
            **PaperFields.of(paper),
            score=round(score, 6),
            distance=None if distance is None else round(distance, 6),
            snippet=text,
            highlights=spans,
            title_highlights=title_spans,
        )


@dataclass
class Seed(Answer):
    """A paper a list starts from: a similar list's paper, a recommendation's inputs."""

    id: int = described("The paper's internal id.")
    external_id: str = described("The corpus's own id.")
    title: str = described("Title.")
    role: str = described("like: results should be like it; unlike: unlike it.",
                          enum=["like", "unlike"])  # fmt: skip

    @classmethod
    def of(cls, paper: Paper, role: str = "like") -> Seed:
        return cls(paper.id, paper.external_id, paper.title, role)


@dataclass
class LibraryFacts(Answer):
    """How a BibTeX library was read, for recommendations from it."""

    id: str = described("The library's id; its feed is /feeds/library/{id}.atom.")
    entries: int = described("Entries in the file.")
    matched: int = described("Entries found in the corpus (by DOI, arXiv id or exact title).")
    by_doi: int = described("Of those, matched by DOI.")
    by_arxiv: int = described("Matched by arXiv id.")
    by_title: int = described("Matched by exact title.")
    embedded: int = described(
        "Entries not in the corpus, embedded from their title and abstract as papers are."
    )
    not_embedded: int = described(
        "Entries not in the corpus left out of the library's centre: past the number embedded "
        "for one library, spread evenly over them.",
        0,
    )
    skipped: list[str] = described(
        "Keys of the entries neither in the corpus nor titled: not used.", []
    )
    kept: bool = described(
        "Whether the library is kept, for its page, downloads and feed: not when the "
        "server's libraries already take all the storage they may (the answer's notice "
        "says so).",
        True,
    )
    feed: str | None = optional("The Atom feed of the new papers among these recommendations.")


@dataclass
class PdfExample(Answer):
    """What an uploaded PDF gave the search by example: its title and abstract."""

    title: str = described("The title read from the PDF (its metadata, else its largest text).")
    abstract: str | None = described(
        "The abstract read from its first pages (the text after its Abstract heading)."
    )
    authors: list[str] = described("Authors, from the PDF's metadata.", [])
    doi: str | None = described("A DOI found in the PDF.", None)
    arxiv_id: str | None = described("An arXiv id found in the PDF.", None)
    pages: int = described("Pages in the PDF.", 0)


@dataclass
class SearchResult(Answer):
    """A ranked list of papers: one page of one ranking."""

    query: str = described("The query as searched (or what the list starts from).")
    total: int = described(
        "Papers ranked: every paper the filters allow (semantic and the lists that start "
        "from papers rank them all), or only those that match the query's words (keyword)."
    )
    took_ms: float = described("Time the ranking took, in milliseconds.")
    results: list[Hit] = described("The papers, best first.")
    mode: str = described("What ranked the list.", DEFAULT_MODE, enum=list(RESULT_KINDS))
    filters: dict[str, str] = described("The filters applied, as request parameters.", {})
    matches: int | None = described(
        "Papers that contain the query's words (keyword and hybrid modes); null where the "
        "ranking does not match words.",
        None,
    )
    seeds: list[Seed] = described("The papers the list starts from (similar, recommend).", [])
    sort: str = described(
        "relevance; date: the same matches newest first; citations: most cited first "
        f"(keyword: every match, up to {SORT_POOL_KEYWORD:,}; semantic and hybrid: the "
        f"{SORT_POOL:,} most relevant).",
        "relevance",
        enum=list(SORTS),
    )
    semantic_weight: float | None = described(
        "hybrid: the weight of the semantic similarity in the fused score (BM25 has the "
        "rest). null in the other modes.",
        None,
    )
    notice: str | None = described(
        "How the query was taken when it was not as typed, e.g. quoted phrases that fewer "
        "than k papers contain, searched without the quotes; null otherwise.",
        None,
    )
    listed: int | None = described(
        "references: how many references the paper's source lists, in this corpus or not; "
        "citations: how many papers cite it worldwide, where the source says; null "
        "otherwise (``total`` counts those in this corpus).",
        None,
    )
    library: LibraryFacts | None = optional(
        "Recommendations from a BibTeX library: how its entries were read."
    )
    example: PdfExample | None = optional(
        "Papers like an uploaded PDF: what was read from it and searched by example."
    )


def paper_url(paper: Paper) -> str | None:
    """Where to read the paper: its http(s) link, else its DOI."""
    if http_url(paper.url):
        return paper.url
    return f"https://doi.org/{quote(paper.doi, safe='/:;()')}" if paper.doi else None


def iso_utc(moment: datetime | None) -> str | None:
    """A stored time as ISO 8601 in UTC, with its offset (SQLite hands back naive
    datetimes; they were written in UTC)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.isoformat(timespec="seconds")


def author_pages(names: list[str], ids: list[list[str]]) -> list[str | None]:
    """Each author's page id (``search.authors.identity.ref_of``)."""
    return [ref_of(name, tuple(ids[at]) if at < len(ids) else ()) for at, name in enumerate(names)]


def short_authors(authors: list[str], limit: int = 4) -> str:
    """``A, B, C … Z (12 authors)``: the first few names and the last one."""
    if len(authors) <= limit:
        return ", ".join(authors)
    return ", ".join(authors[: limit - 1]) + f" … {authors[-1]} ({len(authors)} authors)"
