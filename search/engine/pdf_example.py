"""A PDF (a draft, a paper one has) as the example of a search by example: its title and
abstract, read in the PDF sandbox with the same bounds as a folder of PDFs.

Reading one may take up to ``PAPERSEARCH_PDF_TIMEOUT`` seconds, and the request's thread
waits for it, so a process reads at most ``PAPERSEARCH_PDF_READERS`` at once: past them
an upload is answered 503 with ``Retry-After`` at once, and searches keep their threads.
"""

from __future__ import annotations

import threading

from search.answers.results import PdfExample
from search.base.errors import PapersearchError
from search.base.sentences import first_sentence
from search.base.settings import Settings
from search.pdf import PdfLimits, PdfSandbox
from search.query.limits import MAX_EXAMPLE_CHARS

_READERS: dict[int, threading.BoundedSemaphore] = {}  # by how many: one pool a process
_READERS_LOCK = threading.Lock()


class PdfReadersBusy(PapersearchError):
    """Every PDF reader of this process is reading an upload."""

    code, retry_after = "busy", 5


def readers(count: int) -> threading.BoundedSemaphore:
    """The process's pool of ``count`` PDF readers."""
    with _READERS_LOCK:
        return _READERS.setdefault(count, threading.BoundedSemaphore(count))


def read_example(data: bytes, settings: Settings) -> PdfExample:
    """What the PDF ``data`` says about itself, fitted to an example's length limit;
    ``Unreadable`` (422) or ``PdfTooLarge`` (413) otherwise, and PdfReadersBusy (503)
    when every reader is taken."""
    pool = readers(settings.pdf_readers)
    if not pool.acquire(blocking=False):
        raise PdfReadersBusy(
            f"All {settings.pdf_readers} PDF readers of this server are reading uploads; "
            "try again in a few seconds."
        )
    try:
        with PdfSandbox(PdfLimits.of(settings)) as sandbox:
            paper = sandbox.read_bytes(data)
    finally:
        pool.release()
    abstract = paper.abstract or ""
    title = paper.title or first_sentence(abstract)  # as a corpus record without one
    abstract = abstract[: max(0, MAX_EXAMPLE_CHARS - len(title))] or None
    return PdfExample(title=title, abstract=abstract, authors=list(paper.authors),
                      doi=paper.doi, arxiv_id=paper.arxiv_id, pages=paper.pages)  # fmt: skip
