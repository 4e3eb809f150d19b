"""A paper's title, authors, abstract and identifiers, read from one PDF's metadata and
first pages with pypdf. It runs inside the sandbox's child process (search.pdf.sandbox),
which bounds its time and memory; the checks here bound what it agrees to read.

The title is the document's own when it looks like one (LaTeX's hyperref and publishers
set it; word processors often leave a file name), else the largest text at the top of
the first page. The abstract is what follows an "Abstract" heading, up to the first
section; with no heading, the first page's opening text. For a folder being indexed,
the DOIs and arXiv ids written after the last pages' "References" heading are its
references: partial, as many references give neither.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, replace

from search.base.identifiers import ARXIV_ID, BARE_ARXIV_ID, DOI, doi_in
from search.pdf.limits import PdfLimits, Unreadable

FIRST_PAGES = 2  # read for the abstract; the title comes from the first
MAX_TEXT_CHARS = 100_000  # of the first pages' text: a page of megabytes of text is cut
MAX_ABSTRACT_CHARS = 5_000
FALLBACK_ABSTRACT_CHARS = 2_000
MAX_TITLE_CHARS = 300
MAX_AUTHORS = 100
REFERENCE_PAGES = 8  # the last pages read for the reference section
MAX_REFERENCE_CHARS = 300_000
MAX_REFERENCE_IDS = 2_000
REFERENCES_HEADING = re.compile(r"^[ \t]*(?:\d+\.?[ \t]*)?(?:references|bibliography|literature"
                                r"[ \t]cited|works[ \t]cited)[ \t]*$", re.I | re.M)  # fmt: skip
ARXIV_STAMP = re.compile(r"arXiv:\s*(\d{4}\.\d{4,5})(v\d+)?\s*\[", re.I)
# "Abstract", "ABSTRACT", "A B S T R A C T" (Elsevier), then ".", ":" or a dash (IEEE)
ABSTRACT_HEADING = re.compile(r"^[ \t]*a[ \t]?b[ \t]?s[ \t]?t[ \t]?r[ \t]?a[ \t]?c[ \t]?t\b"
                              r"[ \t]*[.:—–-]?[ \t]*", re.I | re.M)  # fmt: skip
SECTION_AFTER_ABSTRACT = re.compile(
    r"^[ \t]*(?:(?:\d+|I)\.?[ \t]+)?(?:introduction|background|keywords?|key[ \t]?words|"
    r"index[ \t]terms|ccs[ \t]concepts|acm[ \t]reference)\b",
    re.I | re.M,
)
NOT_A_TITLE = re.compile(
    r"^(?:untitled|title|document\d*|microsoft word\b.*|.*\.(?:docx?|odt|rtf|tex|dvi|ps|pdf|"
    r"indd|qxd))$|^(?:paper|manuscript|preprint|draft|article)\s*\d*$",
    re.I,
)


@dataclass(frozen=True)
class PdfText:
    """What a PDF says about itself: enough to index it, or to search by it."""

    title: str | None
    authors: tuple[str, ...]
    abstract: str | None
    doi: str | None
    arxiv_id: str | None
    pages: int
    notes: tuple[str, ...] = ()  # how a field was found when it was guessed
    references: tuple[str, ...] = ()  # "doi:…" and "arxiv:…" of its reference section

    def to_dict(self) -> dict:
        return {"title": self.title, "authors": list(self.authors), "abstract": self.abstract,
                "doi": self.doi, "arxiv_id": self.arxiv_id, "pages": self.pages,
                "notes": list(self.notes), "references": list(self.references)}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict) -> PdfText:
        return cls(data["title"], tuple(data["authors"]), data["abstract"], data["doi"],
                   data["arxiv_id"], data["pages"], tuple(data["notes"]),
                   tuple(data.get("references", ())))  # fmt: skip


def check_bytes(data: bytes, limits: PdfLimits) -> None:
    """What can be told without parsing: size, the PDF header, the end-of-file marker."""
    if len(data) > limits.max_bytes:
        raise limits.too_large(len(data))
    if not data.strip():
        raise Unreadable("empty file")
    if b"%PDF-" not in data[:1024]:
        raise Unreadable("not a PDF (no %PDF- header)")
    if b"%%EOF" not in data[-2048:]:
        raise Unreadable("truncated: the file ends before its end-of-file marker (%%EOF)")


WALKED_PAGES = 10  # the page tree is counted up to this many times the pages a file may have


def read_pdf(data: bytes, limits: PdfLimits, *, references: bool = False) -> PdfText:
    """The paper in ``data``, or :class:`Unreadable` with the reason; with ``references``,
    the ids its reference section gives too."""
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError, PdfReadError, PyPdfError

    check_bytes(data, limits)
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        _decrypt(reader)
        pages = _page_count(reader, limits)
        info = _metadata(reader)
        runs, texts = _first_pages(reader, pages)
        cited = _reference_ids(reader, pages) if references else ()
    except Unreadable:
        raise
    except LimitReachedError:
        raise Unreadable("a stream inflates past pypdf's limit (a compression bomb?)") from None
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, IndexError,
            AttributeError, RecursionError, OSError, NotImplementedError) as exc:  # fmt: skip
        raise Unreadable(f"damaged: {_first_line(exc)}") from None
    return replace(_paper(info, runs, texts, pages), references=cited)


def _decrypt(reader) -> None:
    """Many publishers' PDFs are encrypted with an empty password (to set permissions
    only): those are read. A PDF that needs a password is not."""
    if not reader.is_encrypted:
        return
    from pypdf import PasswordType
    from pypdf.errors import DependencyError

    try:
        if reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            raise Unreadable("encrypted: it needs a password")
    except DependencyError as exc:
        raise Unreadable(f"encrypted: {_first_line(exc)}") from None


def _page_count(reader, limits: PdfLimits) -> int:
    """The pages the tree holds, counted by walking it first within a bound (pypdf would
    flatten a tree of shared nodes into billions of pages), then as pypdf sees them."""
    most = limits.max_pages
    leaves = _leaves(reader, WALKED_PAGES * most)
    if leaves > most:
        shown = (f"{leaves:,} pages" if leaves <= WALKED_PAGES * most
                 else f"its page tree holds more than {leaves - 1:,} pages")  # fmt: skip
        raise Unreadable(f"{shown}, more than the {most:,} a file may have "
                         "(PAPERSEARCH_PDF_MAX_PAGES)")  # fmt: skip
    count = len(reader.pages)
    if not isinstance(count, int) or count < 0:
        raise Unreadable("damaged: the page count is not a number")
    if count == 0:
        raise Unreadable("no pages")
    return count


def _leaves(reader, most: int) -> int:
    """The leaves of the page tree, counted up to ``most + 1`` (a tree with more, or with
    more nodes than a tree of ``most`` pages needs, stops the count there)."""
    stack = [reader.trailer["/Root"].get_object().get("/Pages")]
    leaves = nodes = 0
    while stack and leaves <= most:
        node = stack.pop()
        node = node.get_object() if node is not None else None
        nodes += 1
        if nodes > 2 * most + 16:
            return most + 1
        kids = node.get("/Kids") if hasattr(node, "get") else None
        if kids is None:
            leaves += node is not None
        else:
            stack.extend(kids.get_object() if hasattr(kids, "get_object") else kids)
    return leaves


def _metadata(reader) -> dict[str, str]:
    """The document information dictionary's text values (a bad one is left out)."""
    try:
        info = reader.metadata or {}
        return {str(k): str(v) for k, v in info.items() if isinstance(v, str) and v.strip()}
    except Exception:  # noqa: BLE001 - metadata is optional; the pages may still be read
        return {}


def _first_pages(reader, pages: int) -> tuple[list[tuple[float, str]], list[str]]:
    """The first page's upright text runs with their sizes, and each first page's text."""
    runs: list[tuple[float, str]] = []

    def visit(text, cm, tm, _font, size) -> None:
        # the text matrix times the current transformation matrix: b and c turn the text
        b = tm[0] * cm[1] + tm[1] * cm[3]
        c = tm[2] * cm[0] + tm[3] * cm[2]
        d = tm[2] * cm[1] + tm[3] * cm[3]
        if text.strip() and abs(b) < 1e-6 and abs(c) < 1e-6 and size:  # upright text only
            runs.append((round(abs(size * d), 1), text))

    texts, total = [], 0
    for number in range(min(pages, FIRST_PAGES)):
        page = reader.pages[number]
        text = page.extract_text(visitor_text=visit if number == 0 else None)
        if not text.strip() and (contents := page.get_contents()) is not None:
            contents.get_data()  # extract_text hides a bomb's LimitReachedError: raise it
        texts.append(text[: MAX_TEXT_CHARS - total])
        total += len(texts[-1])
        if total >= MAX_TEXT_CHARS:
            break
    return runs, texts


def _reference_ids(reader, pages: int) -> tuple[str, ...]:
    """The DOIs and arXiv ids after the last "References" heading of the last pages, as
    ``doi:…`` and ``arxiv:…`` (none without a heading: a DOI elsewhere is not a
    reference)."""
    texts, total = [], 0
    for number in range(max(0, pages - REFERENCE_PAGES), pages):
        page = reader.pages[number]
        text = page.extract_text()
        if not text.strip() and (contents := page.get_contents()) is not None:
            contents.get_data()  # a bomb's LimitReachedError, as on the first pages
        texts.append(text[: MAX_REFERENCE_CHARS - total])
        total += len(texts[-1])
        if total >= MAX_REFERENCE_CHARS:
            break
    text = dehyphenate("\n".join(texts))
    headings = list(REFERENCES_HEADING.finditer(text))
    if not headings:
        return ()
    section = text[headings[-1].end() :]
    found = [f"doi:{m.group(0).rstrip('.,;:)]}>' + chr(34) + chr(39))}"
             for m in DOI.finditer(section)]  # fmt: skip
    found += [f"arxiv:{m.group(1)}" for m in ARXIV_ID.finditer(section)]
    return tuple(dict.fromkeys(found))[:MAX_REFERENCE_IDS]


def _paper(info: dict[str, str], runs: list[tuple[float, str]], texts: list[str], pages: int):
    notes, text = [], dehyphenate("\n".join(texts))
    title = _clean(info.get("/Title", ""))
    if not title or NOT_A_TITLE.match(title) or len(title) < 8:
        title = _largest_text(runs)
        if title:
            notes.append("title: the largest text on the first page")
    abstract = _abstract(text)
    if abstract is None and (opening := _opening(text, title)):
        abstract = opening
        notes.append("abstract: no Abstract heading; the first page's opening text")
    if not title and not abstract:
        raise Unreadable("no text: a scanned PDF without a text layer? (OCR it first)")
    stamp = ARXIV_STAMP.search(text)
    found = ARXIV_ID.search(" ".join(info.values()))
    arxiv_id = stamp.group(1) if stamp else found.group(1) if found else None
    if arxiv_id and not BARE_ARXIV_ID.match(arxiv_id):
        arxiv_id = None
    # A DOI printed on the first page (a publisher's header or footer), not on later
    # pages, where the references' DOIs start.
    doi = _doi_of(info) or doi_in(texts[0])
    authors = _authors(info.get("/Author", ""))
    return PdfText(title[:MAX_TITLE_CHARS] if title else None, authors, abstract, doi,
                   arxiv_id, pages, tuple(notes))  # fmt: skip


def _largest_text(runs: list[tuple[float, str]]) -> str | None:
    """The title as typeset: the run(s) in the largest size among the first page's first
    runs, in order, stopping at the first smaller text after them."""
    head = [(size, text) for size, text in runs[:60] if not ARXIV_STAMP.search(text)]
    if not head:
        return None
    largest = max(size for size, _ in head)
    parts, started = [], False
    for size, text in head:
        if size >= largest * 0.95:
            parts.append(text)
            started = True
        elif started:
            break
    title = _clean(" ".join(parts))
    return title if len(re.findall(r"[^\W\d_]", title)) >= 4 else None


def _abstract(text: str) -> str | None:
    heading = ABSTRACT_HEADING.search(text)
    if heading is None:
        return None
    rest = text[heading.end() : heading.end() + MAX_ABSTRACT_CHARS * 2]
    end = SECTION_AFTER_ABSTRACT.search(rest)
    abstract = _clean(rest[: end.start()] if end else rest)[:MAX_ABSTRACT_CHARS]
    return abstract if len(abstract.split()) >= 5 else None


def _opening(text: str, title: str | None) -> str | None:
    """The first page's text after its title, cut at a sentence end."""
    body = _clean(text)
    if title and body.startswith(title):
        body = body[len(title) :].strip()
    body = body[:FALLBACK_ABSTRACT_CHARS]
    cut = body.rfind(". ")
    body = body[: cut + 1] if cut > FALLBACK_ABSTRACT_CHARS // 2 else body
    return body if len(body.split()) >= 5 else None


def _authors(value: str) -> tuple[str, ...]:
    """``A B; C D`` or ``A B, C D and E F`` → the names (a "Surname, Given" list uses
    semicolons, so a comma is a separator only when there is no semicolon)."""
    parts = value.split(";") if ";" in value else re.split(r",|\band\b|&", value)
    names = (_clean(part) for part in parts)
    return tuple(n for n in names if n and len(n) <= 200 and not re.search(r"[@\d]", n))[
        :MAX_AUTHORS
    ]


def _doi_of(info: dict[str, str]) -> str | None:
    for key in ("/doi", "/DOI", "/prism:doi"):
        if found := doi_in(info.get(key, "")):
            return found
    return doi_in(" ".join(info.get(key, "") for key in ("/Subject", "/Keywords")))


LINE_END_HYPHEN = re.compile(r"(\w+)-[ \t]*\n[ \t]*(\w+)")
SUSPENDED_BEFORE = frozenset({"and", "or", "nor", "to", "vs"})  # "intra- and inter-class"


def dehyphenate(text: str) -> str:
    """Words broken at a line's end, joined: a hyphenation (``represen-`` / ``tation``)
    loses its hyphen; a compound (``task-`` / ``specific``) keeps it when the text writes
    it so elsewhere and never writes the word joined; a suspended hyphen (``intra-`` /
    ``and``) stays, with its space."""
    seen = text.lower()
    words = set(re.findall(r"\w+", seen))

    def join(match: re.Match) -> str:
        first, second = match.group(1), match.group(2)
        if second.lower() in SUSPENDED_BEFORE:
            return f"{first}- {second}"
        compound = f"{first}-{second}".lower() in seen
        joined = (first + second).lower() in words
        return f"{first}-{second}" if compound and not joined else first + second

    return LINE_END_HYPHEN.sub(join, text)


def _clean(text: str) -> str:
    """One line: whitespace made single spaces (the pages' text is dehyphenated once, in
    _paper, before its parts are cleaned)."""
    return " ".join(text.split())


def _first_line(exc: BaseException) -> str:
    message = str(exc).strip().splitlines()
    return (message[0] if message else type(exc).__name__)[:200]
