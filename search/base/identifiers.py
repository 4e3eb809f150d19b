"""Scholarly identifiers as they appear in text, links and BibTeX: arXiv ids and DOIs.

One set of patterns for the library matcher, the PDF reader and the citation tags."""

from __future__ import annotations

import re

# An arXiv id after a marker ("arXiv:", "abs/", "pdf/"): new style 2101.00001v2, old hep-th/9901001
ARXIV_ID = re.compile(
    r"(?:arxiv[:/ ]|abs/|pdf/)\s*(\d{4}\.\d{4,5}(?:v\d+)?|[a-z][a-z.\-]*/\d{7}(?:v\d+)?)", re.I
)
BARE_ARXIV_ID = re.compile(r"^(\d{4}\.\d{4,5}(?:v\d+)?|[a-z][a-z.\-]*/\d{7}(?:v\d+)?)$", re.I)
DOI = re.compile(r"10\.\d{4,9}/\S+")
# arXiv's own DOIs (10.48550/arXiv.2101.00001) name the arXiv id too
ARXIV_DOI = re.compile(r"^10\.48550/arxiv\.(.+)$", re.I)
ARXIV_LINK = re.compile(r"^https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/([^?#]+?)(?:\.pdf)?$")


def arxiv_id_of(url: str | None, doi: str | None) -> str | None:
    """The arXiv id a paper's link or DOI names, or None."""
    for pattern, value in ((ARXIV_LINK, url), (ARXIV_DOI, doi)):
        found = pattern.match(value or "")
        if found and BARE_ARXIV_ID.match(found.group(1)):
            return found.group(1)
    return None


def doi_in(text: str) -> str | None:
    """The first DOI in free text (a PDF's first page), without trailing punctuation."""
    found = DOI.search(text)
    return found.group(0).rstrip(".,;:)]}>'\"") if found else None
