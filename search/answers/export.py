"""Result lists as files people import elsewhere: BibTeX, RIS, CSV and JSON.

Corpus text is hostile input: BibTeX special characters are escaped so that
no title can close a field or run a TeX command, RIS values are made one line
so that none can end a record or start a tag, and CSV cells that a
spreadsheet would treat as a formula are prefixed with a quote.
"""

from __future__ import annotations

import csv
import io
import json
import re

import rispy

from search.answers.citation_meta import work_arxiv_id
from search.answers.results import Hit, SearchResult
from search.base.identifiers import arxiv_id_of

FORMATS = {
    "json": ("application/json; charset=utf-8", "json"),
    "bibtex": ("application/x-bibtex; charset=utf-8", "bib"),
    "ris": ("application/x-research-info-systems; charset=utf-8", "ris"),
    "csv": ("text/csv; charset=utf-8", "csv"),
}
CSV_COLUMNS = ("rank", "id", "external_id", "title", "authors", "year", "venue", "citations",
               "doi", "url", "score", "versions", "abstract")  # fmt: skip
_BIBTEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "%": r"\%",
    "&": r"\&",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "^": r"\^{}",
    "~": r"\~{}",
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def render(result: SearchResult, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(result.to_dict(), ensure_ascii=False, indent=2)
    if fmt == "bibtex":
        return to_bibtex(result.results)
    if fmt == "csv":
        return to_csv(result.results)
    if fmt == "ris":
        return to_ris(result.results)
    raise ValueError(f"unknown export format {fmt!r}")


def to_bibtex(hits: list[Hit]) -> str:
    entries, keys = [], set()
    for hit in hits:
        key = _unique(_citation_key(hit), keys)
        fields = {
            "title": "{" + bibtex_escape(hit.title) + "}",  # braces keep its capitals
            "author": " and ".join(bibtex_escape(a) for a in hit.authors),
            "year": str(hit.year) if hit.year else "",
            "journal": bibtex_escape(hit.venue or ""),
            "doi": bibtex_escape(hit.doi or ""),
            "url": bibtex_escape(hit.url or ""),
            "abstract": bibtex_escape(hit.abstract or ""),
            "note": bibtex_escape(f"papersearch id {hit.id}, {hit.external_id}"),
        }
        preprint = preprint_arxiv_id(hit)
        if preprint:  # the published version's fields, with its preprint (biblatex's eprint)
            fields |= {"eprint": bibtex_escape(preprint), "archiveprefix": "arXiv"}
        body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields.items() if value)
        kind = "article" if hit.venue else "misc"
        entries.append(f"@{kind}{{{key},\n{body}\n}}\n")
    return "\n".join(entries)


def to_ris(hits: list[Hit]) -> str:
    """RIS, as Zotero, EndNote and Mendeley import it (written by ``rispy``): a journal
    article where the corpus names a venue, else an unpublished work (a preprint)."""
    references = []
    for hit in hits:
        fields = {
            "type_of_reference": "JOUR" if hit.venue else "UNPB",
            "title": hit.title,
            "authors": list(hit.authors),
            "year": str(hit.year) if hit.year else "",
            "date": hit.date.replace("-", "/") if hit.date else "",
            "secondary_title": hit.venue or "",  # T2: the journal, as Zotero writes it
            "doi": hit.doi or "",
            "urls": [u for u in (hit.url, *(v.url for v in hit.versions)) if u],
            "abstract": hit.abstract or "",
            "notes": [f"papersearch id {hit.id}, {hit.external_id}"],
        }
        references.append({name: _ris_value(value) for name, value in fields.items() if value})
    return rispy.dumps(references, implementation=PlainRis) if references else ""


class PlainRis(rispy.RisWriter):
    """rispy's writer without the "1." line it puts before each record: that is not RIS
    (a record is its tagged lines, from ``TY`` to ``ER``), and strict readers stop there."""

    def set_header(self, count: int) -> str:
        return ""


def _ris_value(value: str | list[str]) -> str | list[str]:
    """One line each: a newline in corpus text could otherwise end the record."""
    if isinstance(value, list):
        return [" ".join(v.split()) for v in value if v.split()]
    return " ".join(value.split())


def to_csv(hits: list[Hit]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for rank, hit in enumerate(hits, start=1):
        row = (rank, hit.id, hit.external_id, hit.title, "; ".join(hit.authors),
               hit.year or "", hit.venue or "", "" if hit.citations is None else hit.citations,
               hit.doi or "", hit.url or "", hit.score,
               " ".join(v.url or v.external_id for v in hit.versions),
               hit.abstract or "")  # fmt: skip
        writer.writerow([csv_safe(value) for value in row])
    return out.getvalue()


def preprint_arxiv_id(hit: Hit) -> str | None:
    """The arXiv id of the work's preprint, when the hit is not itself the preprint."""
    return None if arxiv_id_of(hit.url, hit.doi) else work_arxiv_id(hit)


def bibtex_escape(text: str) -> str:
    """Plain text as a BibTeX field value: specials escaped, whitespace made one space."""
    text = " ".join(text.split())
    return "".join(_BIBTEX_SPECIAL.get(ch, ch) for ch in text)


def csv_safe(value: object) -> object:
    """A text cell that starts like a formula gets a leading quote (CSV injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _citation_key(hit: Hit) -> str:
    surname = hit.authors[0].split()[-1] if hit.authors and hit.authors[0].split() else "paper"
    first_word = next((w for w in re.findall(r"[A-Za-z]+", hit.title) if len(w) > 3), "")
    key = re.sub(r"[^A-Za-z0-9]", "", f"{surname}{hit.year or ''}{first_word}".lower())
    return key or f"paper{hit.id}"


def _unique(key: str, seen: set[str]) -> str:
    candidate, n = key, 1
    while candidate in seen:
        n += 1
        candidate = f"{key}{chr(ord('a') + n - 2)}" if n <= 27 else f"{key}{n}"
    seen.add(candidate)
    return candidate
