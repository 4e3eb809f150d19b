"""Exports (BibTeX, RIS, CSV, JSON): they parse back, and hostile text stays inert.

The corpus is tests.corpus's 800 sample papers, indexed once per session on each store
(the ``engine`` and ``papers`` fixtures in conftest.py).
"""

from __future__ import annotations

import csv
import io
import json
import re


def test_exports_parse_back(engine):
    import bibtexparser

    from search.answers.export import render

    result = engine.search("neural", k=25)
    library = bibtexparser.parse_string(render(result, "bibtex"))
    assert not library.failed_blocks and len(library.entries) == 25
    assert len({entry.key for entry in library.entries}) == 25
    first, hit = library.entries[0], result.results[0]
    assert first.fields_dict["year"].value == str(hit.year)
    assert len(first.fields_dict["author"].value.split(" and ")) == len(hit.authors)

    rows = list(csv.DictReader(io.StringIO(render(result, "csv"))))
    assert [int(row["id"]) for row in rows] == [hit.id for hit in result.results]
    assert rows[0]["title"] == hit.title and rows[0]["authors"] == "; ".join(hit.authors)
    assert json.loads(render(result, "json"))["results"][0]["id"] == hit.id


def test_ris_exports_round_trip_through_rispy(engine):
    import rispy

    from search.answers.export import render

    result = engine.search("neural", k=25)
    ris = render(result, "ris")
    entries = rispy.loads(ris)
    assert len(entries) == 25
    # RIS as Zotero's importer reads it: every line a tag, two spaces, a dash, a space (no
    # "1." counter lines); each record from TY to ER.
    lines = [line for line in ris.splitlines() if line.strip()]
    assert all(re.match(r"[A-Z][A-Z0-9]  - ", line) for line in lines), lines[:3]
    starts = [n for n, line in enumerate(lines) if line.startswith("TY  - ")]
    ends = [n for n, line in enumerate(lines) if line.startswith("ER  - ")]
    assert len(starts) == len(ends) == 25 and starts == [0] + [e + 1 for e in ends[:-1]]
    for entry, hit in zip(entries, result.results, strict=True):
        assert entry["title"] == " ".join(hit.title.split())
        assert entry.get("authors", []) == [" ".join(a.split()) for a in hit.authors]
        assert entry.get("year") == (str(hit.year) if hit.year else None)
        assert entry["type_of_reference"] == ("JOUR" if hit.venue else "UNPB")
        assert entry.get("secondary_title") == hit.venue
        assert entry.get("doi") == hit.doi
        assert entry.get("urls") == ([hit.url] if hit.url else None)
        assert entry.get("date") == (hit.date.replace("-", "/") if hit.date else None)
        assert entry.get("abstract") == (" ".join(hit.abstract.split()) if hit.abstract else None)
        assert entry["notes"] == [f"papersearch id {hit.id}, {hit.external_id}"]
    assert {e["type_of_reference"] for e in entries} == {"JOUR", "UNPB"}  # both kinds seen


def test_hostile_text_stays_inert_in_exports():
    import bibtexparser

    from search.answers.export import render
    from search.answers.results import Hit, SearchResult

    nasty = Hit(
        id=1, external_id="x}, title = {pwned", title_from_abstract=False,
        title='Closing } brace, \\input{/etc/passwd} & 100% $x$',
        authors=["=HYPERLINK(\"http://evil\")", "O'Brien {Jr}"], year=2020, date=None,
        author_ids=[None, "name:o brien jr"],
        venue="@venue#_^~", citations=None,
        doi=None, url="javascript:alert(1)", score=0.5, distance=1.0,
        abstract="+cmd|' /C calc'!A0\n}\n@misc{injected, title={x}}",
    )  # fmt: skip
    result = SearchResult("q", 1, 1.0, [nasty])
    library = bibtexparser.parse_string(render(result, "bibtex"))
    assert not library.failed_blocks and len(library.entries) == 1  # no injected entry
    assert "\\input" not in library.entries[0].fields_dict["title"].value.replace(
        "\\textbackslash{}", ""
    )
    rows = list(csv.reader(io.StringIO(render(result, "csv"))))
    cells = rows[1]
    assert cells[4].startswith("'=HYPERLINK") and cells[-1].startswith("'+cmd")
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)
    import rispy

    ris = render(result, "ris")
    (entry,) = rispy.loads(ris)  # a newline in the abstract started no tag or record
    assert entry["abstract"].startswith("+cmd|") and "@misc{injected" in entry["abstract"]
    assert entry["authors"] == ['=HYPERLINK("http://evil")', "O'Brien {Jr}"]
    assert ris.count("ER  -") == 1 and ris.count("TY  -") == 1
