"""CSV (or TSV) with a header row: columns by name, lists separated by ``;``."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from indexer.fields import (
    BadRecord,
    Notes,
    date_of,
    identifier,
    title_and_abstract,
    year_of,
)
from indexer.readers.items import CorpusFormatError, Item, Reject
from indexer.readers.lines import Lines, excerpt_of, line_too_long, open_bytes
from indexer.readers.links import any_id_keys, linked
from search.base.urls import http_url
from search.store.records import PaperRecord

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
    "references": ("references", "cites"),
}


def from_csv_row(row: dict[str, str]) -> PaperRecord:
    """CSV with a header; lists (authors, categories, references: the ids of the papers
    it cites, of any kind) are separated by ``;``."""

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
        references=linked(
            [r.strip() for r in (get("references") or "").split(";") if r.strip()],
            "references",
            notes,
            any_id_keys,
        ),  # fmt: skip
        warnings=tuple(notes.warnings),
    )


def read_csv(path: Path) -> Iterator[Item]:
    with open_bytes(path) as fh:
        lines = Lines(fh)
        dialect = "excel-tab" if path.name.lower().removesuffix(".gz").endswith(".tsv") else "excel"
        reader = csv.reader(_text_lines(lines), dialect=dialect)
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
            while lines.too_long:
                yield lines.too_long.pop(0), line_too_long()
            if not any(cell.strip() for cell in row):
                continue
            yield start, _parse_csv_row(header, row)


def _text_lines(lines: Lines) -> Iterator[str]:
    """The lines as text for the csv module (a BOM dropped; a line too long as an empty
    one, reported by the caller from ``lines.too_long``)."""
    for number, raw in lines:
        if raw is None:
            yield "\n"
            continue
        yield raw.decode("utf-8-sig" if number == 1 else "utf-8", "surrogateescape")


def _parse_csv_row(header: list[str], row: list[str]) -> PaperRecord | Reject:
    excerpt = excerpt_of(",".join(row).encode("utf-8", "surrogateescape"))
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
