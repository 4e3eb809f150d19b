"""Authors' ids as the sources give them: OpenAlex author ids and ORCIDs, Semantic Scholar
authorIds, MEDLINE ORCID identifiers; each author's in the order of the names, an ORCID
with a wrong check digit dropped, and the ids stored with the paper on both stores."""

from __future__ import annotations

import json

import pytest

from indexer.pipeline import index_corpus
from indexer.readers import read_corpus
from search.authors.keys import author_key, orcid_checks
from search.store import Store
from tests.helpers import write_lines

ORCID = "0000-0002-1825-0097"  # ORCID's own example, a valid check digit


def read(path):
    return [record for _, record in read_corpus(path, "auto")]


@pytest.mark.parametrize(("kind", "value", "key"), [
    ("orcid", f"https://orcid.org/{ORCID}", f"orcid:{ORCID}"),
    ("orcid", "0000-0002-1694-233x", "orcid:0000-0002-1694-233X"),
    ("orcid", "0000-0002-1825-0098", None),  # a mistyped check digit
    ("orcid", "0000-0002-1825-009", None),
    ("openalex", "https://openalex.org/A5023888391", "openalex:A5023888391"),
    ("openalex", "W5023888391", None),  # a work, not an author
    ("s2", "1741101", "s2:1741101"),
    ("s2", 1741101, "s2:1741101"),
    ("s2", "abc", None),
    ("s2", True, None),
    ("orcid", "0000-0002-1825-0097\x00", None),
])  # fmt: skip
def test_author_keys_are_canonical_or_none(kind, value, key):
    assert author_key(kind, value) == key


def test_the_orcid_check_digit():
    assert orcid_checks("0000-0001-5109-3700") and not orcid_checks("0000-0001-5109-3701")


def test_openalex_authorships_give_names_and_ids_in_order(tmp_path):
    work = {
        "id": "https://openalex.org/W1", "title": "T", "abstract": "A",
        "authorships": [
            {"author": {"id": "https://openalex.org/A1", "display_name": "Ada  Lovelace",
                        "orcid": f"https://orcid.org/{ORCID}"}},
            {"author": {"id": None, "display_name": ""}},  # no name: left out, ids too
            {"author": {"id": "https://openalex.org/A3", "display_name": "Alan Turing",
                        "orcid": "0000-0002-1825-0098"}},  # a bad ORCID, dropped
            {"author": {"display_name": "Grace Hopper"}},
        ],
    }  # fmt: skip
    path = write_lines(tmp_path / "w.jsonl", [json.dumps(work)])
    (record,) = read(path)
    assert record.authors == ("Ada Lovelace", "Alan Turing", "Grace Hopper")
    assert record.warnings == ("authorships dropped: not an orcid id",)  # counted
    assert record.author_ids == (("openalex:A1", f"orcid:{ORCID}"), ("openalex:A3",), ())


def test_author_ids_enter_the_content_hash_only_when_known(tmp_path):
    """Records whose sources identify no author hash as before, so an upgrade re-stores
    nothing; ids, once known, make the record a new state."""
    work = {"id": "https://openalex.org/W1", "title": "T", "abstract": "A",
            "authorships": [{"author": {"display_name": "Ada Lovelace"}}]}  # fmt: skip
    (record,) = read(write_lines(tmp_path / "w.jsonl", [json.dumps(work)]))
    assert record.author_ids == ()
    from dataclasses import replace

    assert replace(record, author_ids=((),)).content_hash != record.content_hash


def test_semantic_scholar_author_ids(tmp_path):
    row = {"paper_id": "p1", "title": "T", "abstract": "A",
           "authors": [{"name": "A B", "authorId": "17"}, {"name": "C D", "authorId": None},
                       "E F"]}  # fmt: skip
    (record,) = read(write_lines(tmp_path / "s2.jsonl", [json.dumps(row)]))
    assert record.authors == ("A B", "C D", "E F")
    assert record.author_ids == (("s2:17",), (), ())


def test_medline_orcid_identifiers(tmp_path):
    article = (
        "<PubmedArticle><MedlineCitation><PMID>7</PMID><Article><Journal><Title>J</Title>"
        "</Journal><ArticleTitle>T</ArticleTitle><Abstract><AbstractText>A</AbstractText>"
        "</Abstract><AuthorList>"
        f"<Author><LastName>Lovelace</LastName><ForeName>Ada</ForeName>"
        f'<Identifier Source="ORCID">https://orcid.org/{ORCID}</Identifier></Author>'
        "<Author><LastName>Turing</LastName><ForeName>Alan</ForeName></Author>"
        "</AuthorList></Article></MedlineCitation></PubmedArticle>"
    )
    path = tmp_path / "pubmed.xml"
    path.write_text(f'<?xml version="1.0"?>\n<PubmedArticleSet>{article}</PubmedArticleSet>')
    (record,) = read(path)
    assert record.authors == ("Ada Lovelace", "Alan Turing")
    assert record.author_ids == ((f"orcid:{ORCID}",), ())


def test_author_ids_are_stored_with_the_paper(settings, tmp_path, tiny_encoder):
    works = [{"id": f"https://openalex.org/W{n}", "title": f"Paper {n}", "abstract": "Words.",
              "authorships": [{"author": {"id": f"https://openalex.org/A{n}",
                                          "display_name": f"Author {n}"}}]}
             for n in range(1, 4)]  # fmt: skip
    index_corpus(settings, [write_lines(tmp_path / "w.jsonl", [json.dumps(w) for w in works])],
                 encoder=tiny_encoder)  # fmt: skip
    store = Store.open(settings)
    papers = store.papers.get_many(list(store.papers.external_ids()))
    assert sorted(p.author_ids[0][0] for p in papers.values()) == [
        "openalex:A1", "openalex:A2", "openalex:A3"]  # fmt: skip


def openalex_works() -> list[dict]:
    """Ada (OpenAlex A1, her ORCID on some papers; Semantic Scholar knows her as well),
    Alan (A2), and an impostor A9 who claims Ada's OpenAlex id with another ORCID."""
    other = "0000-0001-5109-3700"

    def authorship(a_id, name, orcid=None):
        return {"author": {"id": f"https://openalex.org/{a_id}", "display_name": name,
                           "orcid": orcid and f"https://orcid.org/{orcid}"}}  # fmt: skip

    works = []
    for n in range(1, 7):
        ada = authorship("A1", "Ada Lovelace", ORCID if n % 2 else None)
        if n == 5:
            ada = authorship("A8", "A. Lovelace", ORCID)  # another OpenAlex id, the same ORCID
        authors = [ada, authorship("A2", "Alan Turing")]
        works.append({"id": f"https://openalex.org/W{n}", "title": f"Engines {n}",
                      "abstract": "Analytical engines.", "publication_year": 1840 + n,
                      "cited_by_count": n, "authorships": authors})  # fmt: skip
    works.append({"id": "https://openalex.org/W7", "title": "Not Ada", "abstract": "Other.",
                  "publication_year": 1900,
                  "authorships": [authorship("A1", "Ada Impostor", other)]})  # fmt: skip
    return works


def test_an_author_page_gathers_the_ids_of_one_person(settings, tmp_path, tiny_encoder):
    from search.engine.engine import SearchEngine

    path = write_lines(tmp_path / "w.jsonl", [json.dumps(w) for w in openalex_works()])
    index_corpus(settings, [path], encoder=tiny_encoder)
    engine = SearchEngine.open(settings, encoder=tiny_encoder)
    for ref in ("openalex:A1", f"orcid:{ORCID}", f"https://orcid.org/{ORCID}", "openalex:A8"):
        page = engine.authors.profile(ref, k=3)
        assert page.papers.total == 6, ref  # W1-W6; W7's ORCID is someone else's
        assert {"openalex:A1", "openalex:A8", f"orcid:{ORCID}"} <= set(page.ids)
        assert page.name == "Ada Lovelace" and not page.grouped_by_name
        assert [h.external_id for h in page.papers.results] == ["W6", "W5", "W4"]  # newest
    cited = engine.authors.profile("openalex:A1", k=2, offset=1, sort="citations")
    assert [h.external_id for h in cited.papers.results] == ["W5", "W4"]
    assert (page.first_year, page.last_year) == (1841, 1846)
    assert page.coauthors[0].name == "Alan Turing" and page.coauthors[0].papers == 6
    assert page.coauthors[0].author_id == "openalex:A2"


def test_a_corpus_of_names_groups_authors_by_name(engine):
    hit = engine.search("graph", k=1).results[0]
    name = hit.authors[0]
    page = engine.authors.profile(name)
    assert page.grouped_by_name and page.author_id.startswith("name:") and page.ids == []
    assert hit.external_id in {h.external_id for h in
                               engine.authors.profile(name, k=100).papers.results}  # fmt: skip
    assert engine.authors.profile(page.author_id).papers.total == page.papers.total


@pytest.mark.parametrize("ref", ["orcid:0000-0002-1825-0098", "", "name:  ", "s2:abc", "x" * 400])
def test_a_bad_author_reference_is_a_clear_error(engine, ref):
    from search.base.errors import InvalidRequest

    with pytest.raises(InvalidRequest):
        engine.authors.profile(ref)


def test_author_pages_the_api_and_the_feed(settings, tmp_path, tiny_encoder, client_on):
    from lxml import html

    path = write_lines(tmp_path / "w.jsonl", [json.dumps(w) for w in openalex_works()])
    index_corpus(settings, [path], encoder=tiny_encoder)
    client = client_on(settings)
    page = client.get(f"/authors/orcid:{ORCID}")
    assert page.status_code == 200
    tree = html.fromstring(page.data)
    assert tree.findtext(".//h1") == "Ada Lovelace"
    assert f"https://orcid.org/{ORCID}" in tree.xpath("//p[@class='author-ids']/a/@href")
    assert "/authors/openalex:A2" in tree.xpath("//p[@class='coauthors']/a/@href")
    assert len(tree.xpath("//ol[@class='results']/li")) == 6
    search = html.fromstring(client.get("/?q=engines").data)  # names link to their pages
    assert "/authors/openalex:A1" in search.xpath("//span[@class='authors']/a/@href")
    answer = client.get("/api/v1/authors/openalex:A8", query_string={"k": 2, "sort": "citations"})
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["name"] == "Ada Lovelace" and body["papers"]["total"] == 6
    assert [h["external_id"] for h in body["papers"]["results"]] == ["W6", "W5"]
    assert body["papers"]["results"][0]["author_ids"] == ["openalex:A1", "openalex:A2"]
    assert body["papers"]["results"][1]["author_ids"] == [f"orcid:{ORCID}", "openalex:A2"]
    bibtex = client.get("/api/v1/authors/openalex:A1", query_string={"format": "bibtex"})
    assert bibtex.status_code == 200 and bibtex.data.count(b"@") == 6
    feed = client.get("/feeds/author.atom", query_string={"author": "openalex:A1"})
    assert feed.status_code == 200 and feed.data.count(b"<entry>") == 6  # all new today
    bad = client.get("/api/v1/authors/orcid:0000-0002-1825-0098")
    assert bad.status_code == 422 and "orcid" in bad.get_json()["error"]["message"]
    assert client.get("/api/v1/authors/openalex:A404").status_code == 404
    assert client.get("/authors/name:%00").status_code == 422  # no letter
    assert client.get("/authors/Grace Nobody").status_code == 404
    filtered = client.get("/api/v1/authors/openalex:A1", query_string={"year": "1844-1846"})
    assert filtered.get_json()["papers"]["total"] == 3  # the list within the filters


def test_an_author_page_of_a_corpus_of_names_says_it_groups_by_name(engine, client_on):
    hit = engine.search("graph", k=1).results[0]
    client = client_on(engine.settings)
    page = client.get(f"/authors/{hit.author_ids[0]}")
    assert page.status_code == 200 and b"Grouped by name" in page.data


def test_the_author_command(settings, tmp_path, tiny_encoder):
    from click.testing import CliRunner

    from papersearch import main
    from tests.helpers import cli_args

    path = write_lines(tmp_path / "w.jsonl", [json.dumps(w) for w in openalex_works()])
    index_corpus(settings, [path], encoder=tiny_encoder)
    shown = CliRunner().invoke(main, ["author", ORCID, "-k", "2", *cli_args(settings)])
    assert shown.exit_code == 0, shown.output
    assert shown.output.startswith("Ada Lovelace (") and "6 papers, 1841–1846" in shown.output
    assert "Alan Turing (6)" in shown.output
    as_json = CliRunner().invoke(main, ["author", "openalex:A1", "--json", *cli_args(settings)])
    assert json.loads(as_json.output)["papers"]["total"] == 6
    bad = CliRunner().invoke(main, ["author", "orcid:1", *cli_args(settings)])
    assert bad.exit_code == 1 and "not an orcid author id" in bad.output


def test_a_name_typed_finds_the_identified_author_of_that_name(settings, tmp_path, tiny_encoder):
    """In a corpus with ids, a name finds the one author so named by their ids; a name
    several identified authors share answers which they are."""
    from search.base.errors import AuthorNotFound
    from search.engine.engine import SearchEngine

    path = write_lines(tmp_path / "w.jsonl", [json.dumps(w) for w in openalex_works()])
    index_corpus(settings, [path], encoder=tiny_encoder)
    engine = SearchEngine.open(settings, encoder=tiny_encoder)
    page = engine.authors.profile("Alan Turing")
    assert page.ids == ["openalex:A2"] and page.papers.total == 6 and not page.grouped_by_name
    with pytest.raises(AuthorNotFound, match="openalex:A1"):
        engine.authors.profile("Ada Lovelace")  # Ada's OpenAlex id, and her ORCID's papers
