"""What a reader yields for each record: a paper, a reject, a withdrawal, or a citation
(a file of edges, such as Semantic Scholar's citations dataset)."""

from __future__ import annotations

from dataclasses import dataclass

from search.base.errors import PapersearchError
from search.store.records import PaperRecord


class CorpusFormatError(PapersearchError, ValueError):
    """The file's format cannot be recognised (or forced format makes no sense)."""

    code = "corpus_format"


class CorpusNotFound(PapersearchError, FileNotFoundError):
    """A corpus file named on the command line does not exist."""

    code = "corpus_not_found"


@dataclass(frozen=True)
class Reject:
    reason: str
    excerpt: str
    truncated: bool = False  # the file ends early or is corrupt from here on


@dataclass(frozen=True)
class Withdrawal:
    """The source says this paper is gone (PubMed's DeleteCitation, a retracted OpenAlex
    work): it is withdrawn, keeping its row and id."""

    external_id: str
    reason: str


@dataclass(frozen=True)
class Citation:
    """One paper citing another, each as a key (``search.graph.keys``); ``cited`` None
    when the source does not know the cited paper (the edge is counted, not kept)."""

    citing: str | None
    cited: str | None
    influential: bool = False


Item = tuple[int, PaperRecord | Reject | Withdrawal | Citation]
