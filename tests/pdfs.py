"""PDFs built in the tests: pages of text in chosen fonts and sizes, the way LaTeX and
word processors lay out a paper's first page, plus hostile files (truncated, encrypted,
a lying page count, a compression bomb, a page that takes long to read)."""

from __future__ import annotations

import io
import zlib
from pathlib import Path

from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject, StreamObject

Line = tuple[float, str]  # font size, text


def paper_pdf(
    title: str,
    abstract: str,
    *,
    authors: str = "Ada Lovelace and Alan Turing",
    metadata: dict[str, str] | None = None,
    extra_lines: tuple[Line, ...] = (),
    stamp: str | None = None,
    pages: int = 1,
) -> bytes:
    """A paper's first page: the title large, authors, an Abstract heading, the abstract
    wrapped over lines, an introduction; ``stamp`` is a rotated margin line like arXiv's."""
    lines: list[Line] = [(17.0, part) for part in _wrap(title, 50)]
    lines += [(11.0, authors), (9.0, "Department of Computing, Example University"), *extra_lines]
    lines += [(10.0, "Abstract")] + [(9.0, part) for part in _wrap(abstract, 90)]
    lines += [(12.0, "1 Introduction"), (10.0, "Papers begin with an introduction.")]
    return build_pdf([lines] + [[(10.0, f"Page {n + 2}.")] for n in range(pages - 1)],
                     metadata=metadata, stamp=stamp)  # fmt: skip


def build_pdf(pages: list[list[Line]], *, metadata=None, stamp: str | None = None) -> bytes:
    writer = PdfWriter()
    font = _times_roman(writer)
    for number, lines in enumerate(pages):
        page = writer.add_blank_page(612, 792)
        ops, y = [], 740.0
        for size, text in lines:
            ops.append(f"BT /F1 {size:g} Tf 72 {y:g} Td ({_escape(text)}) Tj ET")
            y -= size * 1.4
        if stamp and number == 0:  # rotated 90 degrees in the left margin
            ops.append(f"BT /F1 20 Tf 0 1 -1 0 30 200 Tm ({_escape(stamp)}) Tj ET")
        content(writer, page, "\n".join(ops).encode("latin-1"))
        page[NameObject("/Resources")] = _fonts(font)
    if metadata:
        writer.add_metadata(metadata)
    return written(writer)


def content(writer: PdfWriter, page, data: bytes, *, deflated: bytes | None = None) -> None:
    """Set a page's content stream (``deflated``: already Flate-compressed bytes)."""
    if deflated is None:
        stream = DecodedStreamObject()
        stream.set_data(data)
    else:
        stream = StreamObject()
        stream._data = deflated
        stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    page[NameObject("/Contents")] = writer._add_object(stream)


def written(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def encrypted_pdf(password: str = "secret") -> bytes:
    from pypdf import PdfReader

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(paper_pdf("Locked away", "Secret."))))
    writer.encrypt(user_password=password, owner_password="owner", algorithm="AES-128")
    return written(writer)


def long_pdf(pages: int = 2_500) -> bytes:
    """A paper followed by thousands of pages."""
    return paper_pdf("A paper with an appendix of thousands of pages",
                     "Its appendix goes on and on for pages and pages.", pages=pages)  # fmt: skip


def compression_bomb(megabytes: int = 400) -> bytes:
    """A page whose content stream inflates from a few hundred KB to ``megabytes``."""
    packer = zlib.compressobj(9)
    chunk = b" " * (1 << 20)
    deflated = b"".join(packer.compress(chunk) for _ in range(megabytes)) + packer.flush()
    writer = PdfWriter()
    page = writer.add_blank_page(612, 792)
    content(writer, page, b"", deflated=deflated)
    return written(writer)


def page_tree_bomb(levels: int = 10, fanout: int = 10) -> bytes:
    """A page tree whose every node names the next ``fanout`` times: a few objects, and
    fanout ** levels leaf pages to a reader that walks it."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    for level in range(levels):
        kids = b" ".join(b"%d 0 R" % (level + 3) for _ in range(fanout))
        count = fanout ** (levels - level)
        objects.append(b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, count))
    objects.append(b"<< /Type /Page /MediaBox [0 0 612 792] >>")
    out, offsets = io.BytesIO(), []
    out.write(b"%PDF-1.4\n")
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objects) + 1, xref))  # fmt: skip
    return out.getvalue()


def slow_pdf(operations: int = 3_000_000) -> bytes:
    """A page of millions of tiny text operations: small on disk, slow to interpret."""
    data = b"BT /F1 1 Tf " + b"(a) Tj " * operations + b"ET"
    writer = PdfWriter()
    page = writer.add_blank_page(612, 792)
    content(writer, page, b"", deflated=zlib.compress(data, 9))
    page[NameObject("/Resources")] = _fonts(_times_roman(writer))
    return written(writer)


def _times_roman(writer: PdfWriter):
    """The standard Times-Roman font (no file embedded), added to ``writer``."""
    return writer._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Times-Roman"),
        NameObject("/Encoding"): NameObject("/WinAnsiEncoding")}))  # fmt: skip


def _fonts(font) -> DictionaryObject:
    """A page's resources: ``font`` as /F1."""
    return DictionaryObject({NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _wrap(text: str, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return lines + [line] if line else lines


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def sample_folder(folder: Path, n: int = 6) -> list[Path]:
    """A small folder of PDFs made from the bundled arXiv sample (the ASCII papers, which
    Times-Roman can set), filed in subfolders by primary category, with arXiv's margin
    stamp and the authors in the metadata: tests/data/pdfs, for the docs' examples."""
    import json

    from tests.helpers import sample_lines

    written, per_category = [], {}
    for line in sample_lines(3000):
        paper = json.loads(line)
        text = paper["title"] + paper["summary"] + "".join(paper["authors"])
        category = paper["categories"][0]
        if not text.isascii() or "\\" in text or "$" in text or per_category.get(category) == 2:
            continue
        per_category[category] = per_category.get(category, 0) + 1
        stamp = f"arXiv:{paper['id']}v1 [{paper['categories'][0]}] 2025"
        data = paper_pdf(paper["title"], paper["summary"], stamp=stamp,
                         metadata={"/Author": "; ".join(paper["authors"])})  # fmt: skip
        name = f"{paper['categories'][0]}/{paper['id']}.pdf"
        written.append(write(folder, name, data))
        if len(written) == n:
            return written
    return written


if __name__ == "__main__":  # python -m tests.pdfs tests/data/pdfs
    import sys

    for path in sample_folder(Path(sys.argv[1])):
        print(path)
