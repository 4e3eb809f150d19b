"""What a reader yields for each record: a paper, a reject, or a withdrawal."""

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


Item = tuple[int, PaperRecord | Reject | Withdrawal]
