"""A PDF (a draft, a paper one has) as the example of a search by example: its title and
abstract, read in the PDF sandbox with the same bounds as a folder of PDFs."""

from __future__ import annotations

from search.answers.results import PdfExample
from search.base.sentences import first_sentence
from search.base.settings import Settings
from search.pdf import PdfLimits, PdfSandbox
from search.query.limits import MAX_EXAMPLE_CHARS


def read_example(data: bytes, settings: Settings) -> PdfExample:
    """What the PDF ``data`` says about itself, fitted to an example's length limit;
    ``Unreadable`` (422) or ``PdfTooLarge`` (413) otherwise."""
    with PdfSandbox(PdfLimits.of(settings)) as sandbox:
        paper = sandbox.read_bytes(data)
    abstract = paper.abstract or ""
    title = paper.title or first_sentence(abstract)  # as a corpus record without one
    abstract = abstract[: max(0, MAX_EXAMPLE_CHARS - len(title))] or None
    return PdfExample(title=title, abstract=abstract, authors=list(paper.authors),
                      doi=paper.doi, arxiv_id=paper.arxiv_id, pages=paper.pages)  # fmt: skip
