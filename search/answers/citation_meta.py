"""What reference managers read from a page: Highwire Press ``citation_*`` meta tags on a
paper's page (Zotero's connector and Google Scholar save one paper from them) and COinS
spans on result lists (the connector offers to save several papers at once)."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from search.answers.results import PaperFields
from search.base.identifiers import arxiv_id_of
from search.base.urls import http_url

COINS_CONTEXT = (("ctx_ver", "Z39.88-2004"), ("rft_val_fmt", "info:ofi/fmt:kev:mtx:journal"),
                 ("rfr_id", "info:sid/papersearch"))  # fmt: skip


def highwire_tags(paper: PaperFields) -> list[tuple[str, str]]:
    """(name, content) of each ``<meta>`` tag, in the order Google Scholar documents."""
    tags = [("citation_title", paper.title)]
    tags += [("citation_author", author) for author in paper.authors]
    if date := publication_date(paper):
        tags.append(("citation_publication_date", date.replace("-", "/")))
    if paper.venue:
        tags.append(("citation_journal_title", paper.venue))
    if paper.doi:
        tags.append(("citation_doi", paper.doi))
    if arxiv_id := work_arxiv_id(paper):  # its own, or its preprint's
        tags.append(("citation_arxiv_id", arxiv_id))
    if pdf := pdf_url(paper):
        tags.append(("citation_pdf_url", pdf))
    if paper.abstract:
        tags.append(("citation_abstract", paper.abstract))
    return [(name, " ".join(content.split())) for name, content in tags]


def coins(paper: PaperFields) -> str:
    """The ``title`` of a ``<span class="Z3988">``: an OpenURL ContextObject (KEV) naming the
    paper, a journal article where the corpus names a venue, else a preprint."""
    fields = [*COINS_CONTEXT, ("rft.genre", "article" if paper.venue else "preprint"),
              ("rft.atitle", paper.title)]  # fmt: skip
    if paper.venue:
        fields.append(("rft.jtitle", paper.venue))
    fields += [("rft.au", author) for author in paper.authors]
    if date := publication_date(paper):
        fields.append(("rft.date", date))
    if paper.doi:
        fields.append(("rft_id", f"info:doi/{paper.doi}"))
    if paper.url:
        fields.append(("rft_id", paper.url))
    return urlencode([(name, " ".join(value.split())) for name, value in fields])


def publication_date(paper: PaperFields) -> str | None:
    """YYYY-MM-DD when the corpus's date is in the publication year, else YYYY (an arXiv
    listing date of a paper published another year is not its publication date)."""
    if paper.date and paper.year and paper.date.startswith(str(paper.year)):
        return paper.date
    return str(paper.year) if paper.year else None


def work_arxiv_id(paper: PaperFields) -> str | None:
    """The arXiv id of the paper, or else of another version of its work (its preprint)."""
    found = arxiv_id_of(paper.url, paper.doi)
    for version in () if found else getattr(paper, "versions", ()):
        found = found or arxiv_id_of(version.url, version.doi)
    return found


def pdf_url(paper: PaperFields) -> str | None:
    """Where the PDF is, where that is known: arXiv's (the preprint's for a published
    version), or a link that is a PDF."""
    if arxiv_id := work_arxiv_id(paper):
        return f"https://arxiv.org/pdf/{arxiv_id}"
    url = http_url(paper.url)
    return url if url and urlsplit(url).path.lower().endswith(".pdf") else None
