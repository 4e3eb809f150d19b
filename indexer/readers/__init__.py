"""Corpus readers: JSON Lines (arXiv listing, Kaggle arXiv snapshot, Semantic Scholar /
SciRepEval, BEIR, OpenAlex works), PubMed/MEDLINE XML and CSV, plain or gzipped, and a
folder of PDFs, detected automatically.

Every reader yields ``(line_number, PaperRecord | Reject | Withdrawal | Citation)``: a
bad record never stops the run, it is reported with the line it started on and why;
a withdrawal is the source saying a paper is gone (PubMed's ``DeleteCitation``, a
retracted OpenAlex work); a citation is one edge of a file of edges (Semantic
Scholar's citations dataset), applied to the papers stored.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from indexer.fields import year_from_arxiv_id
from indexer.readers.bounds import bounded
from indexer.readers.csv_rows import from_csv_row, read_csv
from indexer.readers.items import (
    Citation,
    CorpusFormatError,
    CorpusNotFound,
    Item,
    Reject,
    Withdrawal,
)
from indexer.readers.json_layouts import (
    JSON_MAPPERS,
    from_arxiv,
    from_beir,
    from_kaggle_arxiv,
    from_s2,
    layout_of,
)
from indexer.readers.lines import Lines, open_bytes, read_jsonl
from indexer.readers.openalex import from_openalex
from indexer.readers.pdfs import is_pdf, read_pdfs
from indexer.readers.pubmed import looks_like_pubmed, read_pubmed
from search.pdf import PdfLimits
from search.store.records import PaperRecord

FORMATS = ("arxiv", "kaggle-arxiv", "s2", "beir", "openalex", "pubmed", "csv", "pdf",
           "s2-citations")  # fmt: skip
DETECT_LINES = 50
DETECT_BYTES = 4096

__all__ = [
    "FORMATS", "Citation", "CorpusFormatError", "CorpusNotFound", "Item", "Reject", "Withdrawal",
    "detect_format", "from_arxiv", "from_beir", "from_csv_row", "from_kaggle_arxiv",
    "from_openalex", "from_s2", "layout_of", "open_bytes", "read_corpus", "year_from_arxiv_id",
]  # fmt: skip


def detect_format(path: Path) -> str:
    if path.is_dir() or is_pdf(path):
        return "pdf"
    name = path.name.lower().removesuffix(".gz")
    if name.endswith((".csv", ".tsv")):
        return "csv"
    with open_bytes(path) as fh:
        if looks_like_pubmed(fh.read(DETECT_BYTES)):
            return "pubmed"
    with open_bytes(path) as fh:
        seen = 0
        for _, raw in Lines(fh):
            if raw is None or not raw.strip():
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


def read_corpus(
    path: Path, fmt: str = "auto", pdf_limits: PdfLimits | None = None
) -> Iterator[Item]:
    """Yield ``(line_number, PaperRecord | Reject | Withdrawal)`` for every record (for a
    folder of PDFs, the file's number)."""
    if fmt == "auto":
        fmt = detect_format(path)
    if fmt not in FORMATS:
        raise CorpusFormatError(f"Unknown format {fmt!r}: use one of {', '.join(FORMATS)}.")
    if path.is_dir() and fmt != "pdf":
        raise CorpusFormatError(f"{path} is a folder: a folder is read as PDFs (--format pdf).")
    if fmt == "pdf":
        items = read_pdfs(path, pdf_limits)
    elif fmt == "csv":
        items = read_csv(path)
    elif fmt == "pubmed":
        items = read_pubmed(path)
    else:
        items = read_jsonl(path, JSON_MAPPERS[fmt])
    for line, item in items:  # each record within its bounds (indexer.readers.bounds)
        yield line, bounded(item) if isinstance(item, PaperRecord) else item
