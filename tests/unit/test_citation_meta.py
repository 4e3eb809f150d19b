"""Highwire tags and COinS, from a paper's fields alone."""

from __future__ import annotations

from urllib.parse import parse_qs

from search.answers.citation_meta import coins, highwire_tags, pdf_url, publication_date
from search.answers.results import PaperFields
from search.base.identifiers import arxiv_id_of, doi_in


def paper(**changes) -> PaperFields:
    fields = dict(id=1, external_id="2101.00001", title="A  title\nover lines",
                  title_from_abstract=False, authors=["Ada Lovelace", "Alan Turing"],
                  author_ids=["name:ada lovelace", "name:alan turing"],
                  year=2021, date="2021-01-04", venue=None, citations=None, doi=None,
                  url="https://arxiv.org/abs/2101.00001v2", abstract="Short.")  # fmt: skip
    return PaperFields(**{**fields, **changes})


def test_highwire_tags_name_every_known_field_on_one_line():
    tags = highwire_tags(paper(venue="Nature", doi="10.1038/x1"))
    assert tags == [
        ("citation_title", "A title over lines"),
        ("citation_author", "Ada Lovelace"),
        ("citation_author", "Alan Turing"),
        ("citation_publication_date", "2021/01/04"),
        ("citation_journal_title", "Nature"),
        ("citation_doi", "10.1038/x1"),
        ("citation_arxiv_id", "2101.00001v2"),
        ("citation_pdf_url", "https://arxiv.org/pdf/2101.00001v2"),
        ("citation_abstract", "Short."),
    ]
    bare = dict(highwire_tags(paper(url=None, year=None, date=None, abstract=None, authors=[])))
    assert bare == {"citation_title": "A title over lines"}


def test_dates_ids_and_pdf_links_are_only_what_the_fields_say():
    assert publication_date(paper(date="2019-05-01")) == "2021"  # a listing date, not the year
    assert publication_date(paper(year=None, date="2021-01-04")) is None
    assert arxiv_id_of(None, "10.48550/arXiv.2303.08774") == "2303.08774"
    assert arxiv_id_of("https://arxiv.org/pdf/hep-th/9901001.pdf", None) == "hep-th/9901001"
    assert arxiv_id_of("https://example.org/abs/2101.00001", None) is None
    assert arxiv_id_of("https://arxiv.org/abs/not-an-id", None) is None
    assert (
        pdf_url(paper(url="https://example.org/a/paper.PDF")) == "https://example.org/a/paper.PDF"
    )
    assert pdf_url(paper(url="javascript:alert(1)//x.pdf")) is None
    assert pdf_url(paper(url="https://doi.org/10.1/x")) is None
    assert doi_in("see doi:10.1145/3292500.3330701. Next") == "10.1145/3292500.3330701"
    assert doi_in("no identifier here") is None


def test_coins_are_an_openurl_context_object():
    fields = parse_qs(coins(paper(venue="Nature", doi="10.1038/x1")))
    assert fields["ctx_ver"] == ["Z39.88-2004"]
    assert fields["rft_val_fmt"] == ["info:ofi/fmt:kev:mtx:journal"]
    assert fields["rft.genre"] == ["article"] and fields["rft.jtitle"] == ["Nature"]
    assert fields["rft.atitle"] == ["A title over lines"]
    assert fields["rft.au"] == ["Ada Lovelace", "Alan Turing"]
    assert fields["rft.date"] == ["2021-01-04"]
    assert fields["rft_id"] == ["info:doi/10.1038/x1", "https://arxiv.org/abs/2101.00001v2"]
    preprint = parse_qs(coins(paper(title='A & B "quoted" <b>')))
    assert preprint["rft.genre"] == ["preprint"] and "rft.jtitle" not in preprint
    assert preprint["rft.atitle"] == ['A & B "quoted" <b>']  # encoded, then decoded intact
