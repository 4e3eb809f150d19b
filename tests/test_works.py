"""A preprint and its published version are one work: a corpus holding the same papers
from arXiv and from OpenAlex shows each work once in every mode, sort, filter and page,
on both stores; every id of every version finds the work; its citations are the union
of its versions'; exports give the published version with the preprint's link; and each
build recomputes the works from the records, so a link withdrawn undoes its merge."""

from __future__ import annotations

import json
import random

import pytest

from indexer.pipeline import index_corpus, run
from search.engine.engine import SearchEngine
from search.query.filters import Filters

WORDS = ("graph", "neural", "quantum", "protein", "folding", "lattice", "gauge", "string",
         "sparse", "dense", "spectral", "kernel", "manifold", "entropy", "tensor")  # fmt: skip
N_ARXIV, N_PUBLISHED, N_OTHER = 24, 16, 4
BY_LOCATION, BY_DOI, BY_TITLE = range(0, 6), range(6, 10), range(10, 14)
TOO_LATE, OTHER_DOI = 14, 15  # same title and author: 3 years apart, different DOIs


def title(n: int) -> str:
    rng = random.Random(n)
    return "A study of " + " ".join(rng.sample(WORDS, 5)) + f" number {n}"


def preprint(n: int) -> dict:
    record = {"id": f"2301.{n:05d}", "title": title(n),
              "summary": f"We study {title(n).lower()} with many methods.",
              "authors": [f"Ada Lovelace{n}", "Alan Turing"], "categories": ["cs.LG"],
              "listing_date": "2023-01-10"}  # fmt: skip
    if n in BY_DOI:
        record["doi"] = f"10.5555/pub.{n}"  # the listing names its published version
    if n == OTHER_DOI:
        record["doi"] = "10.5555/another.15"
    return record


def published(n: int) -> dict:
    """The journal's record: its own title styling, the first author's initial, a year
    later, a DOI and a venue; linked by an arXiv location, by DOI, or by nothing."""
    styled = title(n).title() + "." if n in BY_TITLE else title(n)
    work = {
        "id": f"https://openalex.org/W{5000 + n}", "doi": f"https://doi.org/10.5555/pub.{n}",
        "title": styled, "abstract": f"We study {title(n).lower()} in a journal.",
        "authorships": [{"author": {"display_name": f"A. Lovelace{n}"}}],
        "publication_year": 2024 if n != TOO_LATE else 2026, "cited_by_count": 10 + n,
        "primary_location": {"source": {"display_name": "Journal of Studies"}},
        "referenced_works": [],
    }  # fmt: skip
    if n in BY_LOCATION:
        work["locations"] = [{"landing_page_url": f"https://arxiv.org/abs/2301.{n:05d}v2"}]
    return work


def other(n: int) -> dict:
    """Works that cite work 0: one by its arXiv id, one by its DOI, one by both."""
    cites = {0: ["https://arxiv.org/abs/2301.00000"], 1: ["https://doi.org/10.5555/pub.0"],
             2: ["https://arxiv.org/abs/2301.00000", "https://doi.org/10.5555/pub.0"]}  # fmt: skip
    return {"id": f"https://openalex.org/W{9000 + n}", "title": f"Another study {n}",
            "abstract": "Unrelated.", "publication_year": 2025,
            "referenced_works": cites.get(n, [])}  # fmt: skip


def write(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def corpus(tmp_path):
    return [write(tmp_path / "arxiv.jsonl", [preprint(n) for n in range(N_ARXIV)]),
            write(tmp_path / "openalex.jsonl", [published(n) for n in range(N_PUBLISHED)]
                  + [other(n) for n in range(N_OTHER)])]  # fmt: skip


@pytest.fixture
def engine(settings, tmp_path, tiny_encoder) -> SearchEngine:
    summary = index_corpus(settings, corpus(tmp_path), encoder=tiny_encoder)
    assert summary.added == N_ARXIV + N_PUBLISHED + N_OTHER
    return SearchEngine.open(settings, encoder=tiny_encoder)


MERGED = [*BY_LOCATION, *BY_DOI, *BY_TITLE]
WORKS = N_ARXIV + N_PUBLISHED + N_OTHER - len(MERGED)


def every_page(search, k: int = 7) -> list:
    hits, offset = [], 0
    while True:
        page = search(k, offset)
        hits += page.results
        if len(page.results) < k:
            return hits
        offset += k


def test_each_work_appears_once_in_every_mode_sort_filter_and_page(engine):
    hidden = {engine.store.papers.resolve(f"2301.{n:05d}").id for n in MERGED}  # the preprints
    filters = [Filters(), Filters(categories=("cs",)), Filters(year_min=2023)]
    for mode in ("semantic", "keyword", "hybrid"):
        for sort in ("relevance", "date", "citations"):
            for where in filters:
                hits = every_page(lambda k, o, m=mode, s=sort, w=where: engine.search(
                    "study", k, o, mode=m, sort=s, filters=w))  # fmt: skip
                ids = [h.id for h in hits]
                assert len(ids) == len(set(ids)), (mode, sort, where)
                assert not hidden & set(ids), (mode, sort, where)
                if where == Filters():  # every work holds "study": each once
                    assert len(ids) == WORKS, (mode, sort)
    # the categories are the preprints': their published versions pass the filter for them
    found = every_page(lambda k, o: engine.search("study", k, o, filters=filters[1]))
    assert {h.external_id for h in found} >= {f"W{5000 + n}" for n in MERGED}
    everything = engine.search("study", 100, mode="semantic")
    assert everything.total == WORKS and len(everything.results) == WORKS


def test_every_id_of_every_version_finds_the_work(engine, client_on, settings):
    for n in MERGED:
        work = engine.resolve_paper(f"W{5000 + n}")
        assert work.doi == f"10.5555/pub.{n}"  # the published version shows the work
        for ref in (f"2301.{n:05d}", f"arXiv:2301.{n:05d}v1", f"10.5555/pub.{n}",
                    f"https://openalex.org/W{5000 + n}"):  # fmt: skip
            assert engine.resolve_paper(ref).id == work.id, ref
        detail = engine.detail(work)
        (version,) = detail.versions
        assert version.external_id == f"2301.{n:05d}"
        assert version.linked == ("matched by title" if n in BY_TITLE else "linked by id")
    three, four = engine.resolve_paper("W5003").id, engine.resolve_paper("W5004").id
    refs = ["2301.00003", "W5004", "10.5555/pub.3"]  # two versions of one work, in between
    assert [p.id for p in engine.resolve_papers(refs)] == [three, four]  # first seen first
    for n in (TOO_LATE, OTHER_DOI):  # two works each
        assert engine.resolve_paper(f"2301.{n:05d}").id != engine.resolve_paper(f"W{5000 + n}").id
        assert engine.detail(engine.resolve_paper(f"W{5000 + n}")).versions == []
    client = client_on(settings)
    answer = client.get("/api/v1/papers/2301.00003").get_json()
    assert answer["external_id"] == "W5003" and answer["versions"][0]["external_id"] == "2301.00003"
    page = client.get("/papers/arXiv:2301.00003").get_data(as_text=True)
    assert "Also published as" in page and "https://arxiv.org/abs/2301.00003" in page
    assert '<meta name="citation_doi" content="10.5555/pub.3">' in page  # Zotero: published
    assert '<meta name="citation_arxiv_id" content="2301.00003">' in page  # ...its preprint
    results = client.get("/api/v1/search?q=study&k=50&mode=keyword").get_json()["results"]
    shown = next(h for h in results if h["external_id"] == "W5003")
    assert [v["external_id"] for v in shown["versions"]] == ["2301.00003"]


def test_citations_are_the_union_of_the_versions(engine):
    work = engine.resolve_paper("10.5555/pub.0")
    citing = engine.citations.listed(work.id, "citations", k=10)
    assert sorted(h.external_id for h in citing.results) == ["W9000", "W9001", "W9002"]
    assert engine.citations.graph.counts(work.id).cited_by == 3
    assert engine.citations.cited_in_corpus([work.id]).tolist() == [3]
    cited = engine.citations.listed(engine.resolve_paper("W9002").id, "references", k=10)
    assert [h.id for h in cited.results] == [work.id]  # both its references are one work


def test_exports_give_the_published_version_with_the_preprint(engine):
    from search.answers.export import to_bibtex, to_csv, to_ris

    hits = engine.search("study", 50, mode="keyword").results
    shown = [h for h in hits if h.external_id == "W5001"]
    bibtex = to_bibtex(shown)
    assert "doi = {10.5555/pub.1}" in bibtex and "eprint = {2301.00001}" in bibtex
    assert "journal = {Journal of Studies}" in bibtex
    assert "https://arxiv.org/abs/2301.00001" in to_ris(shown)
    assert "2301.00001" in to_csv(shown)


def test_each_build_recomputes_the_works(settings, tmp_path, tiny_encoder, engine):
    """A link the source corrects undoes the merge at the next build; nothing is lost."""
    unlinked = dict(preprint(6), doi="10.5555/erratum.6")  # the listing names another DOI
    run(settings, [write(tmp_path / "day.jsonl", [unlinked])], snapshot=False,
        encoder=tiny_encoder)  # fmt: skip
    engine = SearchEngine.open(settings, encoder=tiny_encoder)
    assert engine.resolve_paper("2301.00006").external_id == "2301.00006"
    assert engine.resolve_paper("W5006").external_id == "W5006"
    everything = engine.search("study", 100, mode="semantic")
    assert everything.total == WORKS + 1


def test_an_author_page_lists_each_work_once(engine):
    profile = engine.authors.profile("Alan Turing", k=50)  # on every preprint
    ids = [h.id for h in profile.papers.results]
    assert profile.papers.total == N_ARXIV == len(set(ids))
    assert {h.external_id for h in profile.papers.results} >= {f"W{5000 + n}" for n in MERGED}


def test_the_paper_command_finds_the_work_by_any_id(engine, settings):
    from click.testing import CliRunner

    from papersearch import main
    from tests.helpers import cli_args

    out = CliRunner().invoke(main, ["paper", "2301.00007", "--json", *cli_args(settings)])
    assert out.exit_code == 0, out.output
    answer = json.loads(out.output)
    assert answer["external_id"] == "W5007" and answer["versions"][0]["external_id"] == "2301.00007"
    out = CliRunner().invoke(main, ["paper", "https://openalex.org/W5007", *cli_args(settings)])
    assert out.exit_code == 0 and "also published as" in out.output and "2301.00007" in out.output
    out = CliRunner().invoke(main, ["paper", "no-such-id", *cli_args(settings)])
    assert out.exit_code != 0 and "No paper" in out.output
