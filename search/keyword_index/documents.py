"""What a paper is in the keyword index: its fields, how their text is analysed, and the
manifest that lists a build's keyword-index files.

Ranking reads ``body`` (title, abstract and authors, as one text) and ``title`` again
with a small boost; both drop English stopwords and stem (Snowball), as the
queries do. ``phrases`` keeps every word, stemmed, with positions, so that a quoted
phrase is matched as typed, even one made only of stopwords ("to be or not to be").
Filters match whole keys (``search.query.filter_keys``, as the database's): ``year``,
``venue`` (its key), ``category_key`` and ``author_key``. ``id`` is the paper's id,
read back for every hit.

The fields, the title boost and the stopword list were measured on and off by
``bench/keyword_choices.py`` on the seven dev collections together, short queries and
long requests: one ``body`` field ranks like BM25 over the whole text, three fields
(title, abstract, authors) summed ranked lower, the authors inside ``body`` rank
higher than apart or left out (Cranfield, the one with authors), and the title boost
sits in the flat optimum of them all (the figures are in docs/benchmarks.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from search.query.filter_keys import venue_key
from search.query.keywords import STOPWORDS

FORMAT = 3  # bumped when fields, keys or analysis change: a build then writes afresh
# 2: author keys for every way to split a name into given names and surname
# 3: venue keys as the database's (Unicode case folding; 2 lower-cased in the index alone)
MANIFEST = "papersearch.json"  # lists the index's files, in the order they are checksummed
PAPERS_FILE = "papers.npy"  # (id, content hash) of each paper held, sorted by id
TITLE_BOOST = 0.25
MAX_TOKEN_CHARS = 40  # longer "words" (base64, sequences) are not words
RANK_ANALYZER, PHRASE_ANALYZER = "papers", "phrases"


def analyzers() -> dict[str, Any]:
    """The text analyzers by name: the index registers them, queries run them."""
    from tantivy import Filter, TextAnalyzerBuilder, Tokenizer

    def words():
        return (TextAnalyzerBuilder(Tokenizer.simple()).filter(Filter.remove_long(MAX_TOKEN_CHARS))
                .filter(Filter.lowercase()).filter(Filter.ascii_fold()))  # fmt: skip

    return {
        RANK_ANALYZER: words()
        .filter(Filter.custom_stopword(sorted(STOPWORDS)))
        .filter(Filter.stemmer("english"))
        .build(),
        PHRASE_ANALYZER: words().filter(Filter.stemmer("english")).build(),
    }


def schema():
    from tantivy import SchemaBuilder

    builder = SchemaBuilder()
    builder.add_unsigned_field("id", indexed=True, fast=True)
    for name in ("body", "title"):
        builder.add_text_field(name, tokenizer_name=RANK_ANALYZER, index_option="freq")
    builder.add_text_field("phrases", tokenizer_name=PHRASE_ANALYZER, index_option="position")
    for name in ("venue", "category_key", "author_key"):  # keys as ``filter_keys`` makes them
        builder.add_text_field(name, tokenizer_name="raw", index_option="basic")
    builder.add_integer_field("year", indexed=True, fast=True)
    return builder.build()


@dataclass(frozen=True)
class PaperText:
    """What the keyword index holds of a paper (a row of ``papers``)."""

    id: int
    title: str
    abstract: str | None
    authors: list[str]
    year: int | None
    venue: str | None
    category_keys: list[str]
    author_keys: list[str]

    def document(self):
        """The paper as a Tantivy document."""
        from tantivy import Document

        doc = Document()
        doc.add_unsigned("id", self.id)
        names = " ".join(self.authors)
        doc.add_text("body", f"{self.title}\n{self.abstract or ''}\n{names}")
        doc.add_text("title", self.title)
        for text in (self.title, self.abstract, names):  # separate: no phrase spans two
            if text:
                doc.add_text("phrases", text)
        if self.venue:
            doc.add_text("venue", venue_key(self.venue))
        for key in self.category_keys:
            doc.add_text("category_key", key)
        for key in self.author_keys:
            doc.add_text("author_key", key)
        if self.year is not None:
            doc.add_integer("year", self.year)
        return doc


@dataclass(frozen=True)
class Manifest:
    """A keyword index's own description: its format, how many papers it holds, the build
    it was derived from (None: written afresh), its files in checksum order, and how many
    deleted documents it still carries (derived indexes: Tantivy drops them on merges)."""

    format: int
    papers: int
    derived_from: int | None
    files: list[str]
    stale: int = 0

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        return cls(**json.loads((directory / MANIFEST).read_text()))

    def write(self, directory: Path) -> None:
        (directory / MANIFEST).write_text(json.dumps(self.__dict__, indent=1) + "\n")


def index_files(directory: Path) -> list[Path]:
    """The files of the keyword index in ``directory`` that the build's checksum covers:
    its manifest, then the files it lists (just the manifest's path when it is missing,
    so that verifying says so)."""
    manifest = directory / MANIFEST
    if not manifest.is_file():
        return [manifest]
    return [manifest, *(directory / name for name in Manifest.read(directory).files)]
