"""Recommendations from a BibTeX library: the engine, the API, the page and the feed,
and libraries that cannot be used.

The corpus is tests.corpus's 800 sample papers, indexed once per session on each store
(the ``engine`` and ``papers`` fixtures in conftest.py).
"""

from __future__ import annotations

import csv
import io
import json
import re

import numpy as np
import pytest

from search.base.errors import InvalidRequest
from tests.corpus import (
    N_PAPERS,
)


def library_bibtex(papers) -> tuple[str, dict[str, int]]:
    """A Zotero/JabRef-like export: entries found by DOI, arXiv id (eprint, and inside a
    journal field) and title, one the corpus lacks, and one with nothing to go on."""
    by_id = {p.id: p for p in papers}
    doi_paper = next(p for p in papers if p.doi)
    eprint, in_journal, titled = (by_id[i] for i in (2, 3, 5))  # papers without a DOI
    text = f"""
@comment{{jabref-meta: databaseType:bibtex;}}
@article{{bydoi, title = {{Something else entirely}}, doi = {{https://doi.org/{doi_paper.doi.upper()}}}}}
@misc{{byeprint, title = {{{{Whatever}}}}, eprint = {{{eprint.external_id}}},
  archivePrefix = {{arXiv}}}}
@article{{byjournal, title = {{x}}, journal = {{arXiv preprint arXiv:{in_journal.external_id}v2}}}}
@inproceedings{{bytitle, title = {{{{{titled.title.upper()}}}}}.}}
@article{{unknown, title = {{Quantum error correction with surface codes}},
  abstract = {{We study logical qubits protected by surface codes under circuit noise.}}}}
@book{{nothing, author = {{Nobody}}, year = {{1999}}}}
"""
    ids = {"bydoi": doi_paper.id, "byeprint": eprint.id, "byjournal": in_journal.id,
           "bytitle": titled.id}  # fmt: skip
    return text, ids


def test_library_recommendations_match_embed_and_leave_the_library_out(engine, papers):
    from search.engine.bibtex_library import parse_bibtex

    text, ids = library_bibtex(papers)
    entries = parse_bibtex(text)
    assert [e.key for e in entries] == ["bydoi", "byeprint", "byjournal", "bytitle", "unknown",
                                        "nothing"]  # fmt: skip
    result = engine.recommendations.recommend_library(entries, k=30)
    facts = result.library
    assert (facts.matched, facts.by_doi, facts.by_arxiv, facts.by_title) == (4, 1, 2, 1)
    assert facts.embedded == 1 and facts.skipped == ["nothing"]
    assert {seed.id for seed in result.seeds} == set(ids.values())
    assert len(result.results) == 30 and not {h.id for h in result.results} & set(ids.values())
    # The parts are what they claim to be: the found papers' stored vectors ...
    found = parse_bibtex(text.split("@article{unknown")[0])
    recommendations = engine.recommendations
    assert [h.id for h in recommendations.recommend_library(found, k=10).results] == [
        h.id for h in recommendations.recommend(list(ids.values()), k=10).results]  # fmt: skip
    # ... and an entry the corpus lacks, embedded from its title and abstract.
    alone = recommendations.recommend_library([e for e in entries if e.key == "unknown"], k=10)
    example = engine.search_by_example(
        "Quantum error correction with surface codes",
        "We study logical qubits protected by surface codes under circuit noise.",
        k=10,
    )
    assert [h.id for h in alone.results] == [h.id for h in example.results]
    with pytest.raises(InvalidRequest, match="No entry"):
        engine.recommendations.recommend_library([e for e in entries if e.key == "nothing"])


@pytest.mark.parametrize(
    "text, code",
    [
        ("just some notes, no entries at all", "not_bibtex"),
        ('{"title": "a JSON file"}', "not_bibtex"),
        ("".join(f"@article{{a{i}, title={{x}}}}\n" for i in range(1001)), "too_many_entries"),
    ],
)
def test_a_file_that_is_not_a_usable_library_is_refused_clearly(text, code):
    from search.engine.bibtex_library import parse_bibtex

    with pytest.raises(InvalidRequest) as refused:
        parse_bibtex(text)
    assert refused.value.code == code


def test_repeated_keys_are_read_and_broken_entries_are_listed_as_skipped():
    from search.engine.bibtex_library import parse_bibtex

    entries = parse_bibtex("@article{a, title={X}}\n@article{a, title={Y}}\n@article{b, title={Z")
    assert [(e.key, e.title) for e in entries] == [
        ("a", "X"), ("a", "Y"), ("unreadable entry at line 3", None)]  # fmt: skip


def test_library_api_page_and_feed(engine, papers, client_on):
    import feedparser

    from search.engine.bibtex_library import library_id, parse_bibtex
    from search.engine.new_papers import entered_since

    text, ids = library_bibtex(papers)
    client = client_on(engine.settings)
    url = "/api/v1/recommendations/from_bibtex"
    answers = [
        client.post(url + "?k=15", data=text, content_type="application/x-bibtex"),
        client.post(url + "?k=15", json={"bibtex": text}),
        client.post(
            url + "?k=15",
            data={"file": (io.BytesIO(text.encode()), "my.bib")},
            content_type="multipart/form-data",
        ),  # fmt: skip
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.json
        assert answer.json["library"]["matched"] == 4 and len(answer.json["results"]) == 15
        assert not {h["id"] for h in answer.json["results"]} & set(ids.values())
    feed_url = answers[0].json["library"]["feed"]
    assert feed_url == answers[1].json["library"]["feed"]  # the same library, the same feed
    feed = client.get(feed_url.split("localhost", 1)[1])
    parsed = feedparser.parse(feed.data)
    assert feed.status_code == 200 and not parsed.bozo and parsed.version == "atom10"
    assert parsed.entries and not {e.link.rsplit("/", 1)[1] for e in parsed.entries} & {
        str(i) for i in ids.values()}  # fmt: skip
    # Only recent papers: every paper here entered today; none entered after tomorrow.
    recent = client.post(url + "?k=5&new_days=7", data=text, content_type="text/plain")
    assert recent.status_code == 200 and len(recent.json["results"]) == 5
    later = np.datetime64("now").astype(object) + __import__("datetime").timedelta(days=2)
    assert len(entered_since(engine.store, 1, now=later.replace(
        tzinfo=__import__("datetime").timezone.utc))) == 0  # fmt: skip
    assert len(entered_since(engine.store, 1)) == N_PAPERS
    refused = client.post(url, data="not bibtex at all", content_type="text/plain")
    assert refused.status_code == 422 and refused.json["error"]["code"] == "not_bibtex"
    assert client.post(url, json=["a list"]).json["error"]["code"] == "invalid_body"
    nothing = "@book{nothing, author = {Nobody}}"
    assert client.post(url, data=nothing, content_type="text/plain").status_code == 422
    assert not engine.store.libraries.exists(library_id(parse_bibtex(nothing)))  # not kept
    huge = client.post(url, data="%" * (5 * 1024 * 1024), content_type="text/plain")
    assert huge.status_code == 413
    assert client.get("/feeds/library/0123456789abcdef.atom").status_code == 404
    # The page: upload, recommendations, the feed link.
    page = client.post("/library", data={"bibtex": text, "new_days": ""})
    assert page.status_code == 200 and b"4 found in the corpus" in page.data
    assert b"/feeds/library/" in page.data
    assert b"not a BibTeX file" in client.post("/library", data={"bibtex": "hello"}).data


def large_library(papers, entries: int, size: int) -> bytes:
    """A ``size``-byte export of ``entries`` entries: 500 of the corpus's papers by title,
    with their abstracts, then papers it lacks; each with a long note (as Zotero exports)."""
    plain = [p for p in papers if not set("{}\\$%&") & set(p.title + (p.abstract or ""))
             and "--" not in p.title]  # fmt: skip
    known = [(p.title, f"abstract = {{{p.abstract}}}, ") for p in plain[:500]]
    known += [(f"An unseen study of topic {i}", "") for i in range(entries - len(known))]
    blocks = [
        f"@article{{e{i}, title = {{{t}}}, {rest}note = {{" for i, (t, rest) in enumerate(known)
    ]
    spare = size - len("".join(blocks).encode()) - 3 * entries
    assert spare > 0
    notes = [spare // entries + (i < spare % entries) for i in range(entries)]
    text = "".join(f"{b}{'n' * n}}}}}\n" for b, n in zip(blocks, notes, strict=True))
    assert len(text.encode()) == size
    return text.encode()


def test_the_library_page_takes_a_3_mb_upload_and_states_the_limit_past_4_mb(
    engine, papers, client_on
):
    import bibtexparser

    client = client_on(engine.settings)
    upload = large_library(papers, 900, 3 * 1024 * 1024)
    form = {"file": (io.BytesIO(upload), "zotero.bib"), "new_days": ""}
    page = client.post("/library", data=form, content_type="multipart/form-data")
    assert page.status_code == 200, page.data[-2000:]
    html = page.get_data(as_text=True)
    assert "900 entries: 500 found in the corpus" in html and "100 embedded from their" in html
    assert "300 more not in the corpus left out" in html  # MAX_EMBEDDED, spread over them
    assert html.count('class="result"') == 20
    # Its downloads and its own address: the library was kept, so they work by GET.
    links = dict(re.findall(r'<a href="([^"]+)" download>(\w+)</a>', html))
    bibtex = client.get(next(url for url, label in links.items() if label == "BibTeX")
                        .replace("&amp;", "&"))  # fmt: skip
    assert bibtex.status_code == 200
    assert len(bibtexparser.parse_string(bibtex.get_data(as_text=True)).entries) == 20
    address = re.search(r'<a href="(/library/\w+)">this list', html).group(1)
    again = client.get(address).get_data(as_text=True)
    assert re.findall(r"/papers/(\d+)", again) == re.findall(r"/papers/(\d+)", html)
    # Past the limit: the page says what the limit is, not a generic error.
    too_large = client.post("/library", data={"file": (io.BytesIO(upload + upload[:2 << 20]),
                            "big.bib")}, content_type="multipart/form-data")  # fmt: skip
    assert too_large.status_code == 413
    assert "The library is larger than 4 MB" in too_large.get_data(as_text=True)
    assert client.get("/library/0123456789abcdef").status_code == 404


def test_similar_papers_on_a_paper_page_can_be_downloaded(engine, client_on):

    client = client_on(engine.settings)
    html = client.get("/papers/1").get_data(as_text=True)
    links = re.findall(r'<a href="([^"]+)" download>(\w+)</a>', html)
    assert [label for _, label in links] == ["BibTeX", "RIS", "CSV", "JSON"]
    csv_file = client.get(dict((label, link) for link, label in links)["CSV"].replace("&amp;", "&"))
    rows = list(csv.DictReader(io.StringIO(csv_file.get_data(as_text=True))))
    assert csv_file.status_code == 200 and len(rows) == 100
    shown = re.findall(r'<a href="/papers/(\d+)">', html.split("Similar papers")[1])
    assert [row["id"] for row in rows[: len(shown)]] == shown


def test_links_are_never_built_from_an_untrusted_host_header(engine, papers, client_on):
    """Feeds' links and a library's feed URL: from PAPERSEARCH_PUBLIC_URL, else from a
    trusted Host, else relative; a Host of evil.example.com appears nowhere."""
    import feedparser

    text, _ = library_bibtex(papers)
    evil = {"Host": "evil.example.com"}

    def links(client, headers) -> list[str]:
        answer = client.post("/api/v1/recommendations/from_bibtex", data=text,
                             content_type="text/plain", headers=headers)  # fmt: skip
        feed_url = answer.json["library"]["feed"]
        atom = client.get("/feeds/" + feed_url.split("/feeds/", 1)[1], headers=headers)
        parsed = feedparser.parse(atom.data)
        found = [feed_url, *(link.href for link in parsed.feed.links)]
        found += [entry.link for entry in parsed.entries]
        search = client.get("/feeds/search.atom?q=graph+neural+networks", headers=headers)
        found += [link.href for link in feedparser.parse(search.data).feed.links]
        return found

    plain = client_on(engine.settings)
    untrusted = links(plain, evil)
    assert untrusted and all("evil" not in link and link.startswith("/") for link in untrusted)
    trusted = links(plain, {"Host": "localhost:5000"})
    assert all(link.startswith("http://localhost:5000/") for link in trusted)
    public = client_on(engine.settings.replace(public_url="https://papers.example.org"))
    configured = links(public, evil)
    assert all(link.startswith("https://papers.example.org/") for link in configured)


def test_the_page_calls_an_unreadable_entry_unreadable(engine, papers, client_on):
    """Not "without a title": the parser could not read it."""
    text, _ = library_bibtex(papers)
    page = client_on(engine.settings).post(
        "/library", data={"bibtex": text + "\n@article{broken, title={Never closed", "new_days": ""}
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "left out (unreadable, or without a title)" in html
    assert "unreadable entry at line" in html


def test_the_command_line_recommends_from_a_library_through_the_same_call(engine, papers,
                                                                          tmp_path):  # fmt: skip
    from click.testing import CliRunner

    from papersearch import main
    from tests.helpers import cli_args

    text, ids = library_bibtex(papers)
    library = tmp_path / "zotero.bib"
    library.write_text(text)
    out = CliRunner().invoke(main, ["similar", "--bibtex", str(library), "-k", "5", "--json",
                                    *cli_args(engine.settings)])  # fmt: skip
    assert out.exit_code == 0, out.output
    answer = json.loads(out.output)
    assert answer["library"]["matched"] == 4 and len(answer["results"]) == 5
    assert not {hit["id"] for hit in answer["results"]} & set(ids.values())
    both = CliRunner().invoke(main, ["similar", "1", "--bibtex", str(library),
                                     *cli_args(engine.settings)])  # fmt: skip
    assert both.exit_code == 2 and "not both" in both.output
