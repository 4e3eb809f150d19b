"""A reader's library, from a BibTeX export (Zotero, JabRef, Mendeley), as recommendations.

Each entry is matched to the corpus by DOI, then arXiv id, then exact title
(case, braces and spacing aside). Entries the corpus does not hold are embedded
from their title and abstract with the proximity adapter, as a paper is. The
recommendations are the papers nearest the mean of all those vectors, the
library's own papers left out (``Recommendations.recommend_library``).

An upload is anyone's, so what it costs is bounded: the file's bytes and entries, each
field read (``FIELD_CHARS``), the entries embedded (``MAX_EMBEDDED``, spread evenly over
those the corpus lacks), and the seconds the whole reading takes (a ``Deadline``). LaTeX
is decoded in one linear pass (``search.base.latex``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from search.answers.results import LibraryFacts
from search.base.deadlines import Deadline
from search.base.errors import InvalidRequest
from search.base.identifiers import ARXIV_ID, BARE_ARXIV_ID, doi_in
from search.base.latex import latex_to_text
from search.query.paper_refs import id_variants
from search.store.papers import Papers, normal_title
from search.store.schema import Paper

MAX_LIBRARY_BYTES = 4 * 1024 * 1024  # a 1,000-entry export with abstracts is about 1.5 MB
MAX_LIBRARY_ENTRIES = 1000
# Characters read of each field: titles and abstracts as text (an abstract past what the
# model reads adds nothing), citation keys, and the fields read for ids.
FIELD_CHARS = {"title": 1000, "abstract": 10_000}
KEY_CHARS = 200
ID_FIELD_CHARS = 1000
LATEX_PER_CHAR = 4  # characters of LaTeX read for each character of text a field keeps
MAX_EMBEDDED = 100  # entries the corpus lacks embedded for its centre: their mean is well known
DECODE_CHECK = 64  # entries read between two looks at the deadline


@dataclass(frozen=True)
class LibraryEntry:
    """What matching and embedding need of one BibTeX entry."""

    key: str
    title: str | None = None
    abstract: str | None = None
    doi: str | None = None
    arxiv_id: str | None = None

    @classmethod
    def from_dict(cls, data: dict) -> LibraryEntry:
        return cls(**{name: data.get(name) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Match:
    """An entry and the corpus paper it is (None: not in the corpus), and how it matched."""

    entry: LibraryEntry
    paper: Paper | None
    by: str | None  # "doi", "arxiv", "title", or None


def parse_bibtex(text: str, deadline: Deadline | None = None) -> list[LibraryEntry]:
    """The entries of a BibTeX file, each field read within its bound. Raises
    InvalidRequest for a file that is too large, holds too many entries, is not BibTeX at
    all, or takes longer than ``deadline`` to read."""
    import bibtexparser
    from bibtexparser.model import DuplicateBlockKeyBlock

    deadline = deadline or Deadline.never()
    if len(text.encode("utf-8", "surrogatepass")) > MAX_LIBRARY_BYTES:
        raise library_too_large()
    try:
        parsed = bibtexparser.parse_string(text)
    except Exception as exc:  # the parser's own errors: the text is not BibTeX it can read
        raise _not_bibtex(f" ({type(exc).__name__})") from None
    deadline.check()
    items = list(parsed.entries)
    unreadable = []  # blocks the parser gave up on: listed as skipped, by line
    for block in parsed.failed_blocks:
        if isinstance(block, DuplicateBlockKeyBlock):  # a key used twice: still an entry
            items.append(block.ignore_error_block)
        else:
            unreadable.append(LibraryEntry(key=f"unreadable entry at line {block.start_line + 1}"))
    if not items:
        raise _not_bibtex("")
    if len(items) > MAX_LIBRARY_ENTRIES:
        raise InvalidRequest(
            f"The library has {len(items):,} entries; at most {MAX_LIBRARY_ENTRIES:,} "
            "are read. Export a collection of it.",
            "too_many_entries",
        )
    entries = []
    for number, item in enumerate(items):
        if number % DECODE_CHECK == 0:
            deadline.check()
        entries.append(_entry(item.key, {k.lower(): f.value for k, f in item.fields_dict.items()}))
    return entries + unreadable


def library_too_large() -> InvalidRequest:
    return InvalidRequest(
        f"The library is larger than {MAX_LIBRARY_BYTES // (1024 * 1024)} MB: export a "
        "collection of it, or leave out attachments and notes.",
        "library_too_large",
    )


def library_too_slow(seconds: float) -> InvalidRequest:
    return InvalidRequest(
        f"Reading the library took longer than {seconds:g} s, and was stopped: export a "
        "smaller collection of it, or leave out abstracts and notes.",
        "library_too_large",
    )


def _not_bibtex(detail: str) -> InvalidRequest:
    return InvalidRequest(
        "This is not a BibTeX file: no @article{…}-style entry could be read" + detail + ". "
        "Export the library from Zotero, JabRef or Mendeley as BibTeX (.bib).",
        "not_bibtex",
    )


def _entry(key: str, fields: dict[str, object]) -> LibraryEntry:
    def text(name: str) -> str | None:
        """A field read for ids: within ID_FIELD_CHARS, braces dropped."""
        value = fields.get(name)
        if not isinstance(value, str):
            return None
        return " ".join(value[:ID_FIELD_CHARS].replace("{", "").replace("}", "").split()) or None

    return LibraryEntry(
        key=_bounded(" ".join(str(key).split()), KEY_CHARS),
        title=_decoded(fields, "title"),
        abstract=_decoded(fields, "abstract"),
        doi=doi_in(text("doi") or text("url") or ""),
        arxiv_id=_arxiv_id(fields, text),
    )


def _decoded(fields: dict[str, object], name: str) -> str | None:
    """A field read as text: its LaTeX as Unicode, within FIELD_CHARS."""
    value = fields.get(name)
    if not isinstance(value, str):
        return None
    bound = FIELD_CHARS[name]
    return _bounded(latex_to_text(value[: bound * LATEX_PER_CHAR]), bound) or None


def _bounded(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1].rstrip() + "…"


def _arxiv_id(fields: dict, text) -> str | None:
    """``eprint`` when the archive is arXiv (BibLaTeX ``eprinttype``, BibTeX
    ``archiveprefix``, or an id that can only be arXiv's), else an arXiv id in the URL,
    journal or note ("arXiv preprint arXiv:2101.00001")."""
    eprint = text("eprint")
    archive = (text("archiveprefix") or text("eprinttype") or "").lower()
    if eprint and (archive == "arxiv" or BARE_ARXIV_ID.match(eprint)):
        return re.sub(r"^arxiv:", "", eprint, flags=re.I)
    for name in ("url", "journal", "note", "howpublished", "doi"):
        found = ARXIV_ID.search(text(name) or "")
        if found:
            return found.group(1)
    return None


def library_id(entries: Sequence[LibraryEntry]) -> str:
    """A stable id for a library: the same entries, the same feed URL."""
    canonical = json.dumps([asdict(e) for e in entries], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def match_library(papers: Papers, entries: Sequence[LibraryEntry]) -> list[Match]:
    """Each entry with the served paper it is, looked up by DOI, arXiv id, then title, in
    a few batched queries."""
    by_doi = papers.find_by_dois([e.doi for e in entries if e.doi])
    arxiv = {e.arxiv_id: id_variants(e.arxiv_id) for e in entries if e.arxiv_id}
    by_external = papers.find_by_external_ids([v for vs in arxiv.values() for v in vs])
    by_title = papers.find_by_titles([e.title for e in entries if e.title])
    matches = []
    for entry in entries:
        paper, by = None, None
        if entry.doi and entry.doi.lower() in by_doi:
            paper, by = by_doi[entry.doi.lower()], "doi"
        elif entry.arxiv_id and any(v in by_external for v in arxiv[entry.arxiv_id]):
            found = next(v for v in arxiv[entry.arxiv_id] if v in by_external)
            paper, by = by_external[found], "arxiv"
        elif entry.title and normal_title(entry.title) in by_title:
            paper, by = by_title[normal_title(entry.title)], "title"
        matches.append(Match(entry, paper, by))
    return matches


def read_library(
    papers: Papers,
    entries: Sequence[LibraryEntry],
    stored_vectors: Callable[[list[Paper]], np.ndarray],
    encode_papers: Callable[[list[tuple[str, str | None]]], np.ndarray],
) -> tuple[np.ndarray, list[Paper], LibraryFacts]:
    """A library's mean vector (the corpus papers' stored vectors, and up to MAX_EMBEDDED
    of the other entries embedded from title and abstract, spread evenly over them), the
    served papers it holds, and how its entries were read (``id`` left for the caller)."""
    matches = match_library(papers, entries)
    found = list({m.paper.id: m.paper for m in matches if m.paper is not None}.values())
    unknown = [m.entry for m in matches if m.paper is None and m.entry.title]
    if not found and not unknown:
        raise InvalidRequest(
            "No entry of the library is in the corpus or has a title to embed it from.",
            "empty_library",
        )
    spread = sorted({len(unknown) * i // MAX_EMBEDDED for i in range(MAX_EMBEDDED)})
    embedded = [unknown[i] for i in spread if i < len(unknown)]  # evenly, each once
    parts = [stored_vectors(found)] if found else []
    if embedded:
        parts.append(encode_papers([(e.title, e.abstract) for e in embedded]))
    centre = np.concatenate(parts).mean(axis=0).astype(np.float32)
    by = Counter(m.by for m in matches)
    facts = LibraryFacts(
        id="", entries=len(entries), matched=len(matches) - by[None],
        by_doi=by["doi"], by_arxiv=by["arxiv"], by_title=by["title"], embedded=len(embedded),
        not_embedded=len(unknown) - len(embedded),
        skipped=[m.entry.key for m in matches if m.paper is None and not m.entry.title],
    )  # fmt: skip
    return centre, found, facts


def library_size(entries: int) -> str:
    """ "a library of 12 entries", "a library of 1 entry"."""
    return f"a library of {entries:,} entr{'y' if entries == 1 else 'ies'}"
