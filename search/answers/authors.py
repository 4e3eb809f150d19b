"""What an author page answers (``search.engine.authors``): the API's contract, the CLI's
``--json`` and the page's input, declared once as the other answers are."""

from __future__ import annotations

from dataclasses import dataclass

from search.answers.results import Answer, SearchResult, described, optional


@dataclass
class CoAuthor(Answer):
    """Someone who wrote papers with the author."""

    name: str = described("Their name as most written.")
    author_id: str = described("Their page's id (an id key, or `name:` and a name).")
    papers: int = described("Papers written together (of those read).")


@dataclass
class Topic(Answer):
    """A category or topic the author writes on."""

    name: str = described("The category or topic, as the source names it.")
    papers: int = described("The author's papers in it (of those read).")


@dataclass
class AuthorProfile(Answer):
    """An author: who, their papers as a result list, the years they published in, their
    co-authors and topics."""

    author_id: str = described("The page's id: an id key (`orcid:…`, `openalex:A…`, `s2:…`) "
                               "or `name:` and a name's key.")  # fmt: skip
    name: str = described("The name the author's papers give most.")
    grouped_by_name: bool = described(
        "No source identifies this author: the papers are those under this name, who may be "
        "several people."
    )
    ids: list[str] = described("Every id the author is known by here, gathered from their "
                               "papers (empty for an author grouped by name).", [])  # fmt: skip
    first_year: int | None = optional("The year of their first paper here.")
    last_year: int | None = optional("The year of their last paper here.")
    coauthors: list[CoAuthor] = described("Their most frequent co-authors.", [])
    topics: list[Topic] = described("The categories or topics they write on most.", [])
    papers: SearchResult | None = optional("A page of their papers, newest or most cited first.")
    notice: str | None = optional("What the page could not include (a cap on papers read).")
