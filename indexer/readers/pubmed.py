"""PubMed / MEDLINE XML: the annual baseline and the daily update files, gzipped or not.

Streamed with lxml's ``iterparse``, one ``PubmedArticle`` at a time (each is cleared
once read, with what came before it), with a hardened parser: no DTD loaded, no entity
expanded, nothing fetched from the network. Whatever else the file holds stays in the
parser's tree until the next article ends, so at most BETWEEN_ARTICLES bytes are read
past the last one: more, and the file is not PubMed or is damaged from there (a reject
that stops it), so memory stays bounded at any file size and whatever it holds. A paper is its
PMID, DOI, title, the abstract's sections joined in order ("BACKGROUND: ..."),
authors, journal, year and date, and its MeSH headings as categories. An update
file's ``DeleteCitation`` withdraws the PMIDs it lists; a revised citation is simply
the paper again, stored over the old one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from indexer.fields import BadRecord, Notes, date_of, doi_of, identifier, title_and_abstract
from indexer.readers.author_ids import author_ids
from indexer.readers.items import Item, Reject, Withdrawal
from indexer.readers.lines import open_bytes
from indexer.readers.links import linked
from search.graph.keys import paper_key
from search.store.records import PaperRecord

PUBMED_URL = "https://pubmed.ncbi.nlm.nih.gov/{}/"
MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
MONTHS = {name: number for number, name in enumerate(MONTH_NAMES, 1)}
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
BETWEEN_ARTICLES = 4 * 2**20  # bytes of XML read past the last article (one is far smaller)
TAGS = ("PubmedArticle", "PubmedBookArticle", "DeleteCitation")  # books are passed over


class NotArticles(OSError):
    """More than BETWEEN_ARTICLES bytes were read without an article ending."""


class SinceLastArticle:
    """The file, read by the parser, counting the bytes since the last article ended."""

    def __init__(self, fh, limit: int = BETWEEN_ARTICLES) -> None:
        self.fh, self.limit, self.count = fh, limit, 0

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size)
        self.count += len(data)
        if self.count > self.limit:
            raise NotArticles(f"more than {self.limit // 2**20} MB of XML without an article")
        return data

    def article_ended(self) -> None:
        self.count = 0


def looks_like_pubmed(head: bytes) -> bool:
    """The first bytes of a file are a PubMed article set."""
    return b"<PubmedArticleSet" in head or b"<!DOCTYPE PubmedArticleSet" in head


def read_pubmed(path: Path) -> Iterator[Item]:
    from lxml import etree

    with open_bytes(path) as fh:
        source = SinceLastArticle(fh)
        events = etree.iterparse(
            source, events=("end",), tag=TAGS,
            resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
        )  # fmt: skip
        line = 0
        try:
            for _, element in events:
                line = element.sourceline or line
                source.article_ended()
                if element.tag == "DeleteCitation":
                    for pmid in element.iter("PMID"):
                        yield line, Withdrawal(_text(pmid), "DeleteCitation")
                elif element.tag == "PubmedArticle":
                    yield line, _article(element)
                _forget(element)
        except etree.XMLSyntaxError as exc:
            where = exc.lineno or line + 1
            yield where, Reject(f"invalid or truncated XML from here: {exc.msg}", "", True)
        except (EOFError, OSError) as exc:
            yield line + 1, Reject(f"file is truncated or corrupt from here: {exc}", "", True)


def _article(article) -> PaperRecord | Reject:
    try:
        return from_pubmed_article(article)
    except BadRecord as exc:
        pmid = article.findtext("MedlineCitation/PMID") or ""
        return Reject(str(exc), f"PMID {pmid}".strip())


def from_pubmed_article(article) -> PaperRecord:
    citation = article.find("MedlineCitation")
    if citation is None:
        raise BadRecord("missing MedlineCitation")
    pmid = identifier(_text(citation.find("PMID")), "PMID")
    paper = citation.find("Article")
    if paper is None:
        raise BadRecord("missing Article")
    notes = Notes()
    title, abstract, derived = title_and_abstract(
        _text(paper.find("ArticleTitle")) or _text(paper.find("VernacularTitle")),
        _abstract(paper), notes, title_field="ArticleTitle", abstract_field="Abstract",
    )  # fmt: skip
    journal = paper.find("Journal")
    published = journal.find("JournalIssue/PubDate") if journal is not None else None
    names, identified = _authors(paper, notes)
    return PaperRecord(
        external_id=pmid,
        title=title,
        abstract=abstract,
        authors=names,
        author_ids=identified,
        year=_year(published) or _year(paper.find("ArticleDate")),
        date=_date(paper.find("ArticleDate")) or _date(published),
        venue=notes.text(
            _text(journal.find("Title")) if journal is not None else None, "Journal/Title"
        ),  # fmt: skip
        doi=notes.optional("doi", lambda: doi_of(_doi(article)), None),
        url=PUBMED_URL.format(pmid),
        categories=tuple(
            dict.fromkeys(
                name
                for name in (
                    _text(d)
                    for d in citation.iterfind("MeshHeadingList/MeshHeading/DescriptorName")
                )
                if name
            )
        ),  # fmt: skip
        title_from_abstract=derived,
        ids=_own_ids(article, pmid),
        references=linked(
            list(article.iterfind("PubmedData/ReferenceList/Reference")),
            "ReferenceList",
            notes,
            lambda ref: _id_keys(ref, "ArticleIdList/ArticleId"),
        ),  # fmt: skip
        warnings=tuple(notes.warnings),
    )


ARTICLE_ID_KINDS = {"pubmed": "pmid", "doi": "doi", "pmc": "pmcid", "arxiv": "arxiv"}


def _own_ids(article, pmid: str) -> tuple[str, ...]:
    """The article's keys: its PMID, and every id of its ``ArticleIdList``."""
    own = [paper_key("pmid", pmid), *_id_keys(article, "PubmedData/ArticleIdList/ArticleId")]
    return tuple(dict.fromkeys(k for k in own if k))


def _id_keys(element, path: str) -> list[str]:
    """The keys of the ``ArticleId``s at ``path`` under ``element`` (PMID, DOI, PMC id,
    arXiv id): an article's own ids, or a reference's."""
    keys = []
    for found in element.iterfind(path):
        kind = ARTICLE_ID_KINDS.get(found.get("IdType") or "")
        if kind:
            keys.append(paper_key(kind, _text(found)))
    return list(dict.fromkeys(k for k in keys if k))


def _text(element) -> str | None:
    """All the text in ``element`` (inline markup such as <i> or <sup> flattened)."""
    if element is None:
        return None
    text = " ".join("".join(element.itertext()).split())
    return text or None


def _abstract(paper) -> str | None:
    sections = []
    for part in paper.iterfind("Abstract/AbstractText"):
        text = _text(part)
        if not text:
            continue
        label = part.get("Label")
        sections.append(f"{label}: {text}" if label else text)
    return " ".join(sections) or None


def _authors(paper, notes: Notes) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """(names, each one's ids: an ORCID ``Identifier``) of the valid authors."""
    names, ids = [], []
    for author in paper.iterfind("AuthorList/Author"):
        if author.get("ValidYN", "Y") != "Y":
            continue
        collective = _text(author.find("CollectiveName"))
        last, fore = _text(author.find("LastName")), _text(author.find("ForeName"))
        name = collective or " ".join(part for part in (fore, last) if part)
        if name:
            names.append(name)
            orcids = [("orcid", _text(i)) for i in author.iterfind("Identifier")
                      if (i.get("Source") or "").upper() == "ORCID"]  # fmt: skip
            ids.append(author_ids(orcids, notes, "Author/Identifier"))
    return tuple(names), (tuple(ids) if any(ids) else ())


def _doi(article) -> str | None:
    for path in ("MedlineCitation/Article/ELocationID", "PubmedData/ArticleIdList/ArticleId"):
        for element in article.iterfind(path):
            kind = element.get("EIdType") or element.get("IdType")
            if kind == "doi" and element.get("ValidYN", "Y") == "Y" and _text(element):
                return _text(element)
    return None


def _year(date) -> int | None:
    if date is None:
        return None
    found = _YEAR.search(_text(date.find("Year")) or _text(date.find("MedlineDate")) or "")
    return int(found.group(1)) if found else None


def _date(date) -> str | None:
    """YYYY-MM-DD when the date has a day (months may be names: "Jan")."""
    if date is None:
        return None
    year, month, day = (_text(date.find(part)) for part in ("Year", "Month", "Day"))
    if not (year and month and day):
        return None
    number = MONTHS.get(month[:3].lower()) or (int(month) if month.isdigit() else None)
    if number is None or not day.isdigit():
        return None
    return date_of(f"{year}-{number:02d}-{int(day):02d}")


def _forget(element) -> None:
    """Free what has been read: the element and the siblings before it."""
    element.clear()
    parent = element.getparent()
    while parent is not None and element.getprevious() is not None:
        del parent[0]
