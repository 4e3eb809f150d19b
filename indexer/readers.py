"""Corpus readers: JSON Lines (arXiv listing, Kaggle arXiv snapshot, Semantic Scholar /
SciRepEval, BEIR) and CSV, plain or gzipped, detected automatically.

Every reader yields ``(line_number, PaperRecord | Reject)``: a bad record never
stops the run, it is reported with the line it started on and why.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from indexer.fields import (
    BadRecord,
    Notes,
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
from search.base.errors import PapersearchError
from search.base.urls import http_url
from search.store.records import PaperRecord

FORMATS = ("arxiv", "kaggle-arxiv", "s2", "beir", "csv")
DETECT_LINES = 50


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


Item = tuple[int, PaperRecord | Reject]


# -- record mappers: one per layout ---------------------------------------------------


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


def from_s2(obj: dict) -> PaperRecord:
    """Semantic Scholar / SciRepEval: corpus_id or paper_id, title, abstract, authors, year."""
    raw_id = obj.get("corpus_id", obj.get("paper_id"))
    external_id = identifier(raw_id, "corpus_id/paper_id")
    notes = Notes()
    title, abstract, derived = title_and_abstract(obj.get("title"), obj.get("abstract"), notes)
    ids = obj.get("externalids") or obj.get("externalIds") or {}
    doi = obj.get("doi") or (ids.get("DOI") if isinstance(ids, dict) else None)
    fields = obj.get("fields_of_study", obj.get("fieldsOfStudy", obj.get("s2FieldsOfStudy")))
    url = obj.get("url")
    if url is None and "corpus_id" in obj:
        url = f"https://api.semanticscholar.org/CorpusID:{external_id}"
    return PaperRecord(
        external_id=external_id,
        title=title,
        abstract=abstract,
        authors=notes.names(obj.get("authors"), "authors"),
        year=notes.optional("year", lambda: year_of(obj.get("year")), None),
        date=date_of(obj.get("publicationDate", obj.get("publication_date"))),
        venue=notes.text(obj.get("venue"), "venue"),
        doi=notes.text(doi, "doi"),
        url=http_url(notes.text(url, "url")),
        categories=notes.optional("fields of study", lambda: _categories(fields), ()),
        title_from_abstract=derived,
        warnings=tuple(notes.warnings),
    )


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


CSV_COLUMNS = {
    "external_id": ("id", "external_id", "paper_id", "corpus_id", "_id", "arxiv_id", "doc_id"),
    "title": ("title",),
    "abstract": ("abstract", "summary", "text"),
    "authors": ("authors", "author"),
    "year": ("year",),
    "date": ("date", "published", "publication_date"),
    "venue": ("venue", "journal"),
    "doi": ("doi",),
    "url": ("url", "link"),
    "categories": ("categories", "category", "fields_of_study"),
}


def from_csv_row(row: dict[str, str]) -> PaperRecord:
    """CSV with a header; lists (authors, categories) are separated by ``;``."""

    def get(name: str) -> str | None:
        for column in CSV_COLUMNS[name]:
            if row.get(column) not in (None, ""):
                return row[column]
        return None

    def semicolons(text: str) -> list[str]:
        return text.split(";")

    external_id = identifier(get("external_id"), "id")
    notes = Notes()
    title, abstract, derived = title_and_abstract(get("title"), get("abstract"), notes)
    return PaperRecord(
        external_id=external_id,
        title=title,
        abstract=abstract,
        authors=notes.names(get("authors"), "authors", split=semicolons),
        year=notes.optional("year", lambda: year_of(get("year")), None),
        date=date_of(get("date")),
        venue=notes.text(get("venue"), "venue"),
        doi=notes.text(get("doi"), "doi"),
        url=http_url(notes.text(get("url"), "url")),
        categories=notes.names(get("categories"), "categories", split=semicolons),
        title_from_abstract=derived,
        warnings=tuple(notes.warnings),
    )


JSON_MAPPERS: dict[str, Callable[[dict], PaperRecord]] = {
    "arxiv": from_arxiv,
    "kaggle-arxiv": from_kaggle_arxiv,
    "s2": from_s2,
    "beir": from_beir,
}

_KAGGLE_KEYS = {"authors_parsed", "journal-ref", "update_date", "versions", "submitter"}


def layout_of(obj: dict) -> str | None:
    """Which JSON layout an object is in, from its keys."""
    keys = set(obj)
    if "_id" in keys:
        return "beir"
    if "corpus_id" in keys or "paper_id" in keys:
        return "s2"
    if "id" in keys and "summary" in keys:
        return "arxiv"
    if "id" in keys and "abstract" in keys and keys & _KAGGLE_KEYS:
        return "kaggle-arxiv"
    return None


# -- files ----------------------------------------------------------------------------


def open_bytes(path: Path) -> io.BufferedIOBase:
    """The file's bytes, gunzipped when it starts with the gzip magic number."""
    raw = open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
    if raw.read(2) == b"\x1f\x8b":
        raw.seek(0)
        unzipped = gzip.GzipFile(fileobj=raw)
        try:
            unzipped.peek(1)
            return unzipped  # type: ignore[return-value]
        except (OSError, EOFError):  # starts like gzip but is not: read it as plain text
            pass
    raw.seek(0)
    return raw


def detect_format(path: Path) -> str:
    name = path.name.lower().removesuffix(".gz")
    if name.endswith((".csv", ".tsv")):
        return "csv"
    with open_bytes(path) as fh:
        seen = 0
        for raw in fh:
            if not raw.strip():
                continue
            seen += 1
            if seen > DETECT_LINES:
                break
            try:
                obj = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                if seen == 1 and b"," in raw and raw.lstrip()[:1] not in (b"{", b"["):
                    return "csv"
                continue
            if isinstance(obj, dict) and (layout := layout_of(obj)):
                return layout
    raise CorpusFormatError(
        f"Cannot tell the format of {path}: pass --format, one of {', '.join(FORMATS)}."
    )


def read_corpus(path: Path, fmt: str = "auto") -> Iterator[Item]:
    """Yield ``(line_number, PaperRecord | Reject)`` for every record in the file."""
    if fmt == "auto":
        fmt = detect_format(path)
    if fmt not in FORMATS:
        raise CorpusFormatError(f"Unknown format {fmt!r}: use one of {', '.join(FORMATS)}.")
    if fmt == "csv":
        yield from _read_csv(path)
    else:
        yield from _read_jsonl(path, JSON_MAPPERS[fmt])


def _excerpt(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return text.strip()[:200]


def _read_jsonl(path: Path, mapper: Callable[[dict], PaperRecord]) -> Iterator[Item]:
    line_no = 0
    with open_bytes(path) as fh:
        try:
            for line_no, raw in enumerate(fh, start=1):  # noqa: B007 - used after the loop
                if not raw.strip():
                    continue
                yield line_no, _parse_json_line(raw, mapper)
        except (EOFError, OSError, gzip.BadGzipFile) as exc:
            yield line_no + 1, Reject(f"file is truncated or corrupt from here: {exc}", "", True)


def _parse_json_line(raw: bytes, mapper: Callable[[dict], PaperRecord]) -> PaperRecord | Reject:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Reject(f"invalid UTF-8 at byte {exc.start}", _excerpt(raw))
    try:
        obj = json.loads(text)
    except ValueError as exc:
        return Reject(f"invalid JSON: {exc}", _excerpt(text))
    if not isinstance(obj, dict):
        return Reject(f"not a JSON object but {type(obj).__name__}", _excerpt(text))
    try:
        return mapper(obj)
    except BadRecord as exc:
        return Reject(str(exc), _excerpt(text))


def _read_csv(path: Path) -> Iterator[Item]:
    with open_bytes(path) as fh:
        text = io.TextIOWrapper(fh, encoding="utf-8-sig", errors="surrogateescape", newline="")
        dialect = "excel-tab" if path.name.lower().removesuffix(".gz").endswith(".tsv") else "excel"
        reader = csv.reader(text, dialect=dialect)
        try:
            header = [h.strip().lower() for h in next(reader)]
        except StopIteration:
            return
        except (csv.Error, EOFError, OSError) as exc:
            yield 1, Reject(f"unreadable CSV header: {exc}", "", True)
            return
        if not any(h in CSV_COLUMNS["title"] for h in header):
            raise CorpusFormatError(f"{path}: the CSV header has no 'title' column: {header}")
        while True:
            start = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield start, Reject(f"invalid CSV: {exc}", "")
                continue
            except (EOFError, OSError) as exc:
                yield start, Reject(f"file is truncated or corrupt from here: {exc}", "", True)
                return
            if not any(cell.strip() for cell in row):
                continue
            yield start, _parse_csv_row(header, row)


def _parse_csv_row(header: list[str], row: list[str]) -> PaperRecord | Reject:
    excerpt = _excerpt(",".join(row).encode("utf-8", "surrogateescape"))
    if len(row) != len(header):
        return Reject(f"expected {len(header)} fields, found {len(row)}", excerpt)
    try:
        for cell in row:
            cell.encode("utf-8")  # undecodable bytes survive as surrogates and fail here
    except UnicodeEncodeError:
        return Reject("invalid UTF-8", excerpt)
    try:
        return from_csv_row(dict(zip(header, row, strict=True)))
    except BadRecord as exc:
        return Reject(str(exc), excerpt)
