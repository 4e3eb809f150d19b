"""What is read from a PDF, in-process (the sandbox's child runs the same function)."""

from __future__ import annotations

import pytest

from search.pdf import PdfLimits, Unreadable, read_pdf
from tests import pdfs

LIMITS = PdfLimits()
ABSTRACT = "We study how dense retrieval of scientific papers compares with keyword ranking."


def test_the_title_is_the_documents_own_unless_it_is_a_file_name():
    own = read_pdf(pdfs.paper_pdf("Typeset title of the paper", ABSTRACT,
                                  metadata={"/Title": "The Document Title"}), LIMITS)  # fmt: skip
    assert own.title == "The Document Title" and own.notes == ()
    for junk in ("Microsoft Word - draft3.docx", "untitled", "paper.tex", "Manuscript 2"):
        typeset = read_pdf(pdfs.paper_pdf("Typeset title of the paper", ABSTRACT,
                                          metadata={"/Title": junk}), LIMITS)  # fmt: skip
        assert typeset.title == "Typeset title of the paper"
        assert typeset.notes == ("title: the largest text on the first page",)


def test_a_long_title_over_two_lines_is_one_title():
    title = "A title long enough that it must be set over two lines of the first page"
    assert read_pdf(pdfs.paper_pdf(title, ABSTRACT), LIMITS).title == title


@pytest.mark.parametrize("heading", ["Abstract", "ABSTRACT", "A B S T R A C T", "Abstract:"])
def test_the_abstract_is_the_text_after_its_heading_up_to_the_first_section(heading):
    lines = [(17.0, "A title for the paper"), (11.0, "Ada Lovelace"), (10.0, heading),
             (9.0, "We study how dense retrieval of scien-"),
             (9.0, "tific papers compares with keyword ranking."),
             (10.0, "Keywords: retrieval, embeddings"), (10.0, "1 Introduction")]  # fmt: skip
    paper = read_pdf(pdfs.build_pdf([lines]), LIMITS)
    assert paper.abstract == ABSTRACT  # the hyphenated line break joined


def test_without_a_heading_the_opening_text_stands_in():
    lines = [(17.0, "A title for the paper"), (9.0, ABSTRACT), (9.0, "More text follows.")]
    paper = read_pdf(pdfs.build_pdf([lines]), LIMITS)
    assert paper.abstract == ABSTRACT + " More text follows."
    assert "abstract: no Abstract heading; the first page's opening text" in paper.notes


def test_authors_and_identifiers():
    semicolons = read_pdf(pdfs.paper_pdf("Title of a paper", ABSTRACT,
                                         metadata={"/Author": "Lovelace, Ada; Turing, Alan"}),
                          LIMITS)  # fmt: skip
    assert semicolons.authors == ("Lovelace, Ada", "Turing, Alan")
    commas = read_pdf(pdfs.paper_pdf("Title of a paper", ABSTRACT,
                                     metadata={"/Author": "Ada Lovelace, Alan Turing & Grace "
                                                          "Hopper"}), LIMITS)  # fmt: skip
    assert commas.authors == ("Ada Lovelace", "Alan Turing", "Grace Hopper")
    stamp = "arXiv:2101.00001v3 [cs.IR] 4 Jan 2021"
    stamped = read_pdf(pdfs.paper_pdf("Title of a paper", ABSTRACT, stamp=stamp), LIMITS)
    assert stamped.arxiv_id == "2101.00001" and stamped.title == "Title of a paper"
    # a DOI on the first page is the paper's; one on a later page (a reference) is not
    first = [(17.0, "Title of a paper"), (8.0, "https://doi.org/10.1000/own.1."),
             (10.0, "Abstract"), (9.0, ABSTRACT)]  # fmt: skip
    assert read_pdf(pdfs.build_pdf([first]), LIMITS).doi == "10.1000/own.1"
    later = [[(17.0, "Title of a paper"), (10.0, "Abstract"), (9.0, ABSTRACT)],
             [(9.0, "[1] A reference. doi:10.1000/cited.2")]]  # fmt: skip
    assert read_pdf(pdfs.build_pdf(later), LIMITS).doi is None


@pytest.mark.parametrize("data, reason", [
    (b"", "empty file"),
    (b"\x89PNG\r\n", "not a PDF"),
    (pdfs.paper_pdf("T", ABSTRACT)[:300], "truncated"),
    (pdfs.encrypted_pdf(), "encrypted: it needs a password"),
    (pdfs.long_pdf(2_001), "2,001 pages, more than the 2,000"),
    (pdfs.compression_bomb(80), "compression bomb"),
    (pdfs.build_pdf([[]]), "no text"),
])  # fmt: skip
def test_unreadable_pdfs_say_why(data, reason):
    with pytest.raises(Unreadable, match=reason):
        read_pdf(data, LIMITS)


def test_a_pdf_over_the_size_bound_is_too_large():
    with pytest.raises(Unreadable, match="larger than the 1kB") as refused:
        read_pdf(pdfs.paper_pdf("Title of a paper", ABSTRACT), PdfLimits(max_bytes=1000))
    assert refused.value.code == "pdf_too_large"


def test_an_encrypted_pdf_with_an_empty_password_is_read():
    assert read_pdf(pdfs.encrypted_pdf(password=""), LIMITS).title == "Locked away"


def test_words_broken_at_a_line_end_are_joined_as_written():
    from search.pdf.text import dehyphenate

    assert dehyphenate("a represen-\ntation of it") == "a representation of it"
    assert dehyphenate("task-specific heads and task-\nspecific losses") == (
        "task-specific heads and task-specific losses")  # fmt: skip
    assert dehyphenate("intra-\nand inter-class") == "intra- and inter-class"
    assert dehyphenate("pre-\ntrained, as pretrained elsewhere") == (
        "pretrained, as pretrained elsewhere")  # fmt: skip
