"""Corpus readers: every layout on real sample lines, and bad records reported, not fatal."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pytest

from indexer.readers import (
    CorpusFormatError,
    Reject,
    detect_format,
    read_corpus,
    year_from_arxiv_id,
)
from search.store.records import PaperRecord
from tests.helpers import sample_lines, write_lines


def records(path: Path, fmt: str = "auto") -> list[tuple[int, PaperRecord | Reject]]:
    return list(read_corpus(path, fmt))


def test_arxiv_listing_layout(tmp_path):
    lines = sample_lines(5)
    items = records(write_lines(tmp_path / "a.jsonl", lines))
    assert detect_format(tmp_path / "a.jsonl") == "arxiv"
    first = json.loads(lines[0])
    line, rec = items[0]
    assert line == 1 and isinstance(rec, PaperRecord)
    assert rec.external_id == first["id"] == "2212.09525"
    assert rec.title == "FreeEnricher: Enriching Face Landmarks without Additional Cost"
    assert "\n" not in rec.abstract and "  " not in rec.abstract
    assert rec.abstract.startswith(
        "Recent years have witnessed significant growth of face alignment."
    )
    assert rec.authors[0] == "Yangyu Huang" and len(rec.authors) == 7
    assert rec.year == 2022  # from the arXiv id
    assert rec.categories[0] == "cs.CV"
    assert rec.url == "https://arxiv.org/abs/2212.09525"


def test_gzipped_files_are_read(tmp_path):
    path = tmp_path / "a.jsonl.gz"
    with gzip.open(path, "wt") as fh:
        fh.writelines(sample_lines(3))
    assert [r.external_id for _, r in records(path)] == [
        json.loads(x)["id"] for x in sample_lines(3)
    ]


KAGGLE = {
    "id": "0704.0001",
    "submitter": "Pavel Nadolsky",
    "authors": "C. Bal\\'azs, E. L. Berger, P. M. Nadolsky and C.-P. Yuan",
    "title": "Calculation of prompt diphoton production cross sections at Tevatron"
    " and\n  LHC energies",
    "comments": "37 pages",
    "journal-ref": "Phys.Rev.D76:013009,2007",
    "doi": "10.1103/PhysRevD.76.013009",
    "categories": "hep-ph",
    "abstract": "  A fully differential calculation in perturbative quantum chromodynamics"
    " is\npresented.\n",
    "versions": [{"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"}],
    "update_date": "2008-11-13",
    "authors_parsed": [["Balázs", "C.", ""]],
}


def test_kaggle_arxiv_snapshot_layout(tmp_path):
    path = write_lines(
        tmp_path / "k.json",
        [
            json.dumps(KAGGLE),
            json.dumps(
                {**KAGGLE, "id": "hep-th/9901001", "categories": "hep-th math.QA", "doi": None}
            ),
        ],
    )
    assert detect_format(path) == "kaggle-arxiv"
    (_, a), (_, b) = records(path)
    assert (
        a.title
        == "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    )
    assert a.authors == ("C. Bal\\'azs", "E. L. Berger", "P. M. Nadolsky", "C.-P. Yuan")
    assert a.year == 2007 and a.doi == "10.1103/PhysRevD.76.013009"
    assert a.venue == "Phys.Rev.D76:013009,2007"
    assert (
        a.abstract
        == "A fully differential calculation in perturbative quantum chromodynamics is presented."
    )
    assert b.year == 1999 and b.categories == ("hep-th", "math.QA")


def test_semantic_scholar_layout(tmp_path):
    rows = [
        {
            "corpus_id": 123,
            "title": "SPECTER",
            "abstract": "Doc embeddings.",
            "authors": ["Arman Cohan", "Sergey Feldman"],
            "year": 2020,
            "venue": "ACL",
            "fields_of_study": ["Computer Science"],
        },
        {
            "paper_id": "abc",
            "title": "T",
            "abstract": None,
            "authors": [{"name": "A B", "authorId": "1"}],
            "year": "2019",
            "venue": "",
        },
    ]
    path = write_lines(tmp_path / "s2.jsonl", [json.dumps(r) for r in rows])
    assert detect_format(path) == "s2"
    (_, a), (_, b) = records(path)
    assert (a.external_id, a.year, a.venue, a.authors) == (
        "123",
        2020,
        "ACL",
        ("Arman Cohan", "Sergey Feldman"),
    )
    assert a.categories == ("Computer Science",)
    assert a.url == "https://api.semanticscholar.org/CorpusID:123"
    assert (b.external_id, b.abstract, b.year, b.venue, b.authors) == (
        "abc",
        None,
        2019,
        None,
        ("A B",),
    )


def test_semantic_scholar_keys_as_the_graph_api_and_the_bulk_datasets_spell_them(tmp_path):
    graph = {"paperId": "649def34", "corpusId": 215416146, "title": "SPECTER", "year": 2020,
             "citationCount": 812, "publicationDate": "2020-04-15",
             "s2FieldsOfStudy": [{"category": "Computer Science", "source": "s2-fos-model"}],
             "externalIds": {"DOI": "10.18653/v1/2020.acl-main.207"}}  # fmt: skip
    bulk = {"corpusid": 7, "title": "T", "citationcount": 3, "publicationdate": "2019-01-02",
            "externalids": {"DOI": "10.1/x"}}  # fmt: skip
    path = write_lines(tmp_path / "s2.jsonl", [json.dumps(graph), json.dumps(bulk)])
    assert detect_format(path) == "s2"
    (_, a), (_, b) = records(path)
    assert (a.external_id, a.citations, a.date, a.categories) == (
        "215416146", 812, "2020-04-15", ("Computer Science",))  # fmt: skip
    assert a.doi == "10.18653/v1/2020.acl-main.207"
    assert a.url == "https://api.semanticscholar.org/CorpusID:215416146"
    assert (b.external_id, b.citations, b.date, b.doi) == ("7", 3, "2019-01-02", "10.1/x")


def test_beir_layout():
    """The first 50 documents of the Cranfield collection as BEIR ships it (gzipped)."""
    corpus = Path(__file__).parent / "data" / "cranfield-50.jsonl.gz"
    assert detect_format(corpus) == "beir"
    items = list(read_corpus(corpus))
    assert len(items) == 50 and all(isinstance(r, PaperRecord) for _, r in items)
    first = items[0][1]
    assert first.external_id == "1" and first.title.startswith("experimental investigation")
    assert first.abstract and first.authors == ("brenckman,m.",)  # from BEIR metadata


def test_beir_layout_small(tmp_path):
    path = write_lines(
        tmp_path / "c.jsonl",
        [json.dumps({"_id": "d1", "title": "A", "text": "B  c", "metadata": {}})],
    )
    assert [r for _, r in records(path)] == [
        PaperRecord(external_id="d1", title="A", abstract="B c")
    ]


def test_csv_layout(tmp_path):
    path = tmp_path / "papers.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "title", "abstract", "authors", "year", "venue", "doi"])
        writer.writerow(
            ["p1", "A title", "Line one\nline two", "Ann Lee; Bo Chen", "2021", "NeurIPS", "10.1/x"]
        )
        writer.writerow(["p2", "", "no title", "", "", "", ""])
        writer.writerow(["p3", "Short row"])
        writer.writerow(["p4", "Bad year", "x", "", "twenty", "", ""])
    assert detect_format(path) == "csv"
    items = records(path)
    (line1, a), (line2, b), (line3, c), (line4, d) = items
    assert (
        a.abstract == "Line one line two" and a.authors == ("Ann Lee", "Bo Chen") and a.year == 2021
    )
    assert (line1, line2, line3, line4) == (2, 4, 5, 6)  # a quoted newline spans lines 2-3
    assert b.title == "no title" and b.title_from_abstract  # kept, titled from its abstract
    assert isinstance(c, Reject) and "expected 7 fields" in c.reason
    assert d.year is None and d.warnings == ("year dropped: year must be an integer, not 'twenty'",)


def test_csv_invalid_utf8_is_rejected(tmp_path):
    path = tmp_path / "p.csv"
    path.write_bytes(b"id,title\nok,Fine\nbad,Caf\xe9\nok2,Also fine\n")
    items = records(path)
    assert [(line, getattr(r, "external_id", None) or r.reason) for line, r in items] == [
        (2, "ok"),
        (3, "invalid UTF-8"),
        (4, "ok2"),
    ]


def test_bad_json_lines_are_reported_with_line_numbers(tmp_path):
    good = sample_lines(4)
    obj = json.loads(good[0])
    lines = [
        good[0],
        "{not json",  # 2
        json.dumps({**obj, "id": "x1", "title": None, "summary": ""}),  # 3 nothing to embed
        json.dumps({**obj, "id": "x2", "title": 42}),  # 4 wrong type: titled from the abstract
        good[1],
        "[1, 2, 3]",  # 6 not an object
        json.dumps({**obj, "id": "x3", "authors": "ok, fine", "year": "soon"}),  # 7 bad year
        "",  # blank: skipped silently
        good[2],
        json.dumps({**obj, "id": None}),  # 10 no id
    ]
    path = write_lines(tmp_path / "mixed.jsonl", lines)
    with path.open("ab") as fh:
        fh.write(b'{"id": "x4", "title": "caf\xe9", "summary": "s"}\n')  # 11 invalid UTF-8
        fh.write(good[3].encode())
    items = records(path, "arxiv")
    kept = {line: r for line, r in items if isinstance(r, PaperRecord)}
    bad = {line: r.reason for line, r in items if isinstance(r, Reject)}
    assert sorted(kept) == [1, 4, 5, 7, 9, 12]
    assert set(bad) == {2, 3, 6, 10, 11}
    assert bad[2].startswith("invalid JSON")
    assert bad[3] == "missing title and summary"
    assert bad[6] == "not a JSON object but list"
    assert bad[10] == "missing id"
    assert bad[11].startswith("invalid UTF-8")
    assert kept[4].title_from_abstract and kept[4].warnings[0].startswith("title dropped")
    assert kept[7].year == 2025 and kept[7].warnings == (  # from the arXiv id
        "year dropped: year must be an integer, not 'soon'",
    )
    assert not kept[1].warnings and not kept[1].title_from_abstract


def test_truncated_gzip_keeps_what_was_read(tmp_path):
    path = tmp_path / "t.jsonl.gz"
    data = gzip.compress("".join(sample_lines(200)).encode())
    path.write_bytes(data[: len(data) // 2])
    items = records(path, "arxiv")
    assert sum(isinstance(r, PaperRecord) for _, r in items) > 10
    assert isinstance(items[-1][1], Reject) and "truncated" in items[-1][1].reason


def test_undetectable_format_says_use_format(tmp_path):
    path = write_lines(tmp_path / "x.jsonl", [json.dumps({"foo": 1})])
    with pytest.raises(CorpusFormatError, match="--format"):
        detect_format(path)


@pytest.mark.parametrize(
    "arxiv_id, year",
    [
        ("2212.09525", 2022),
        ("0704.0001", 2007),
        ("2401.00001v2", 2024),
        ("hep-th/9901001", 1999),
        ("math.GT/0309136", 2003),
        ("not-an-id", None),
    ],
)
def test_year_from_arxiv_id(arxiv_id, year):
    assert year_from_arxiv_id(arxiv_id) == year


def test_only_http_links_are_kept(tmp_path):
    obj = json.loads(sample_lines(1)[0])
    rows = [
        {**obj, "abs": "javascript:alert(1)"},
        {"corpus_id": 1, "title": "T", "url": "data:text/html,<script>x</script>"},
        {"corpus_id": 2, "title": "T", "url": "https://example.org/p/2"},
    ]
    path = write_lines(tmp_path / "x.jsonl", [json.dumps(rows[0])])
    assert records(path)[0][1].url == f"https://arxiv.org/abs/{obj['id']}"
    path = write_lines(tmp_path / "y.jsonl", [json.dumps(r) for r in rows[1:]])
    assert [r.url for _, r in records(path)] == [None, "https://example.org/p/2"]


def test_bad_optional_fields_are_dropped_and_every_paper_kept(tmp_path, settings, tiny_encoder):
    """The issue's cases: years of "None" and 801, a venue of the wrong type, categories
    that are a number, authors that are an object, and a paper with an abstract but no
    title: every paper is stored, each warning counted, and the untitled paper is shown
    with its abstract's first sentence, marked as such."""
    from indexer.pipeline import index_corpus
    from search.engine.engine import SearchEngine

    rows = [json.loads(line) for line in sample_lines(6)]
    rows[0]["year"] = "None"
    rows[1]["year"] = 801
    rows[2]["journal_ref"] = 2024
    rows[3]["categories"] = 7
    rows[4]["authors"] = {"name": "not a list"}
    rows[5]["title"] = ""
    rows[5]["summary"] = "We measure the thing. It works well in practice."
    path = write_lines(tmp_path / "messy.jsonl", [json.dumps(r) for r in rows])
    summary = index_corpus(settings, [path], encoder=tiny_encoder)
    assert (summary.read, summary.stored, summary.rejected) == (6, 6, 0)
    assert summary.warnings == 6
    assert summary.dropped_fields == {"year": 2, "journal_ref": 1, "categories": 1,
                                      "authors": 1, "title": 1}  # fmt: skip
    listed = [json.loads(line) for line in Path(summary.rejects_file).read_text().splitlines()]
    assert len(listed) == 6 and all(entry["kept"] for entry in listed)
    engine = SearchEngine.open(settings, encoder=tiny_encoder)
    untitled = engine.resolve_paper(rows[5]["id"])
    assert untitled.title == "We measure the thing." and untitled.title_from_abstract
    assert engine.resolve_paper(rows[0]["id"]).year == int("20" + rows[0]["id"][:2])
    assert engine.resolve_paper(rows[2]["id"]).venue is None


def test_a_line_past_its_bound_is_skipped_in_pieces_and_reported():
    import io

    from indexer.readers.lines import Lines

    lines = Lines(io.BytesIO(b"short\n" + b"x" * 5000 + b"\nafter\nlast"), limit=100)
    assert list(lines) == [(1, b"short\n"), (2, None), (3, b"after\n"), (4, b"last")]
    assert lines.too_long == [2]


def test_every_field_of_a_record_is_bounded_with_a_counted_warning():
    from indexer.fields import warning_field
    from indexer.readers.bounds import MAX_AUTHORS, NAME_CHARS, TEXT_CHARS, bounded
    from search.store.records import PaperRecord

    record = PaperRecord("x", "t" * 5000, abstract="a" * 200_000, doi="10.1/" + "d" * 300,
                         authors=tuple(f"A{n}" for n in range(MAX_AUTHORS + 5)),
                         categories=("c" * 2000,))  # fmt: skip
    cut = bounded(record)
    assert len(cut.title) == TEXT_CHARS["title"] and len(cut.abstract) == TEXT_CHARS["abstract"]
    assert len(cut.authors) == MAX_AUTHORS and cut.categories == ("c" * NAME_CHARS,)
    assert cut.doi is None and cut.content_hash != record.content_hash
    fields = sorted(warning_field(w) for w in cut.warnings)
    assert fields == ["abstract", "authors", "categories", "doi", "title"]
    assert bounded(PaperRecord("y", "A title")) == PaperRecord("y", "A title")
