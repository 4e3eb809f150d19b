"""A folder of PDFs as a corpus: ``papersearch index ./papers/``.

Each PDF (found under the folder, hidden files and symbolic links to folders left out) is
read in the sandbox (search.pdf): bounded in size, pages, time and memory, so that a
hostile file is a counted reject with its reason and nothing else is lost. A paper's id
is stable: its DOI, else its arXiv id, else the file's content hash, so a re-index knows
a changed file from a new one. The subfolder a file is in is its category.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from indexer.fields import BadRecord, Notes, title_and_abstract, year_from_arxiv_id
from indexer.readers.items import CorpusFormatError, Item, Reject
from indexer.readers.links import linked
from search.graph.keys import paper_key
from search.pdf import PdfLimits, PdfSandbox, PdfText, Unreadable
from search.store.records import PaperRecord


def is_pdf(path: Path) -> bool:
    return path.suffix.lower() == ".pdf"


def pdf_files(root: Path) -> list[Path]:
    """The folder's PDFs in a stable order (or ``root`` itself when it is one)."""
    if not root.is_dir():
        return [root]
    found = []
    for folder, folders, files in os.walk(root, followlinks=False):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        found += [Path(folder) / name for name in sorted(files)
                  if is_pdf(Path(name)) and not name.startswith(".")]  # fmt: skip
    return found


def read_pdfs(root: Path, limits: PdfLimits | None = None) -> Iterator[Item]:
    """``(n, PaperRecord | Reject)`` for the n-th PDF; a reject's excerpt is its path
    under the folder."""
    files = pdf_files(root)
    if not files:
        raise CorpusFormatError(f"No PDF under {root} (files ending in .pdf; hidden ones are "
                                "left out).")  # fmt: skip
    with PdfSandbox(limits or PdfLimits()) as sandbox:
        for number, path in enumerate(files, start=1):
            relative = path.relative_to(root) if root.is_dir() else Path(path.name)
            try:
                text, sha256 = sandbox.read(path, references=True)
                yield number, pdf_record(text, sha256, relative)
            except (Unreadable, BadRecord) as exc:
                yield number, Reject(str(exc), str(relative))
            except OSError as exc:  # gone or unreadable since the folder was listed
                yield number, Reject(f"cannot be opened: {exc.strerror or exc}", str(relative))


def pdf_record(text: PdfText, sha256: str, relative: Path) -> PaperRecord:
    """The paper a PDF holds; its id is its DOI, arXiv id or content hash. Its references
    are the DOIs and arXiv ids its reference section gives (partial: many give neither)."""
    notes = Notes()
    title, abstract, derived = title_and_abstract(text.title, text.abstract, notes)
    external_id = text.doi or text.arxiv_id or f"sha256:{sha256[:16]}"
    folder = relative.parent.as_posix()
    return PaperRecord(
        external_id=external_id,
        title=title,
        abstract=abstract,
        authors=text.authors,
        year=year_from_arxiv_id(text.arxiv_id) if text.arxiv_id else None,
        doi=text.doi,
        url=f"https://arxiv.org/abs/{text.arxiv_id}" if text.arxiv_id else None,
        categories=(folder,) if folder != "." else (),
        title_from_abstract=derived,
        ids=tuple(k for k in [paper_key("arxiv", text.arxiv_id)] if k),
        references=_references(text, notes),
        warnings=tuple(notes.warnings),
    )


def _references(text: PdfText, notes: Notes) -> tuple[tuple[str, ...], ...]:
    """The reference section's ids as keys, the paper's own left out."""
    own = {paper_key("doi", text.doi), paper_key("arxiv", text.arxiv_id)}
    found = [paper_key(*ref.split(":", 1)) for ref in text.references if ":" in ref]
    return linked([k for k in found if k and k not in own], "references", notes, lambda k: [k])
