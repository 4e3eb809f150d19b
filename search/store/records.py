"""The normalised paper record that corpus readers produce and the store keeps."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property


@dataclass(frozen=True)
class PaperRecord:
    external_id: str
    title: str
    abstract: str | None = None
    authors: tuple[str, ...] = ()
    year: int | None = None
    date: str | None = None  # YYYY-MM-DD
    venue: str | None = None
    doi: str | None = None
    url: str | None = None
    categories: tuple[str, ...] = field(default_factory=tuple)
    title_from_abstract: bool = False  # no title in the corpus: the abstract's first sentence
    citations: int | None = None  # how often the paper is cited, where the corpus says
    # Links between papers (``search.graph.keys``): the paper's ids besides its corpus id
    # and DOI, the papers it cites, and the papers its source says cite it, as keys.
    # (each reference and citer a tuple of the keys it may be known by).
    ids: tuple[str, ...] = ()
    references: tuple[tuple[str, ...], ...] = ()
    cited_by: tuple[tuple[str, ...], ...] = ()
    # Each author's ids (``search.authors.keys``), in the order of ``authors``; empty when
    # the source identifies none of them.
    author_ids: tuple[tuple[str, ...], ...] = ()
    # Bad optional fields the reader dropped (counted in the run's summary; not stored).
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @cached_property
    def text_hash(self) -> str:
        """Hash of what gets embedded: a paper whose hash is unchanged keeps its vector."""
        return _sha256([self.title, self.abstract or ""])

    @cached_property
    def content_hash(self) -> str:
        """Hash of everything stored: tells an updated record from an unchanged one."""
        return _sha256(
            [
                self.external_id,
                self.title,
                self.abstract,
                self.authors,
                self.year,
                *([self.date] if self.date else []),  # hashes of dateless records unchanged
                self.venue,
                self.doi,
                self.url,
                self.categories,
                *([True] if self.title_from_abstract else []),
                *([{"citations": self.citations}] if self.citations is not None else []),
                *([{"ids": self.ids}] if self.ids else []),  # hashes of unlinked records
                *([{"references": self.references}] if self.references else []),  # unchanged
                *([{"cited_by": self.cited_by}] if self.cited_by else []),
                *([{"author_ids": self.author_ids}] if self.author_ids else []),
            ]
        )


def _sha256(value: object) -> str:
    payload = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
