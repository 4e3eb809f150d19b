"""The citation graph: references and cited-by lists resolved from what the sources say,
on both stores, against lists computed independently from the input; a daily update
that adds a cited paper links it up, one that withdraws a paper unlinks it; hostile
reference lists are bounded and counted."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from indexer.pipeline import index_corpus, run
from search.engine.engine import SearchEngine
from search.graph.keys import MAX_REFERENCES
from tests.helpers import cli_args

N_WORKS = 40
WORDS = ("graph", "neural", "quantum", "protein", "folding", "lattice", "gauge", "string",
         "citation", "network", "retrieval", "ranking", "sparse", "dense", "model")  # fmt: skip


def work(number: int, references: list[str], *, doi: bool = True) -> dict:
    rng = random.Random(number)
    return {
        "id": f"https://openalex.org/W{1000 + number}",
        "doi": f"https://doi.org/10.5555/work.{number}" if doi else None,
        "title": " ".join(rng.choice(WORDS) for _ in range(6)) + f" {number}",
        "abstract_inverted_index": {w: [i] for i, w in enumerate(rng.sample(WORDS, 8))},
        "publication_year": 2000 + number % 20,
        "cited_by_count": number * 3,
        "referenced_works": references,
    }


def corpus(seed: int = 7) -> list[dict]:
    """Works citing each other by OpenAlex id and by DOI, with references outside the
    corpus, a self-citation, repeats, a cycle, a list past MAX_REFERENCES and unusable
    ids."""
    rng = random.Random(seed)
    works = []
    for number in range(N_WORKS):
        cited = rng.sample(range(N_WORKS), 5)
        refs = [f"https://openalex.org/W{1000 + c}" if c % 2 else f"https://doi.org/10.5555/work.{c}"
                for c in cited]  # fmt: skip
        refs += [f"https://doi.org/10.9999/outside.{number}.{i}" for i in range(3)]  # elsewhere
        works.append(work(number, refs))
    works[1]["referenced_works"] += [works[1]["id"], works[2]["id"], works[2]["id"]]  # self, repeat
    works[2]["referenced_works"] += [works[1]["id"]]  # a cycle: 1 → 2 → 1
    works[3]["referenced_works"] = [f"https://openalex.org/W{9_000_000 + i}" for i in range(20_000)]
    works[3]["referenced_works"][:2] = [works[4]["id"], works[5]["id"]]
    works[6]["referenced_works"] += ["W12\x00", "", "x" * 400, works[7]["doi"]]
    # cited by stored works, not in the corpus yet: the daily update brings it
    for citing in (8, 9, 10):
        works[citing]["referenced_works"].append("https://doi.org/10.5555/work.late")
    return works


def expected_links(works: list[dict]) -> tuple[dict, dict, dict]:
    """(references, cited by, listed) per OpenAlex id, computed from the input alone."""
    by_key = {}
    for w in works:
        by_key[w["id"].lower()] = w["id"]
        if w.get("doi"):
            by_key[w["doi"].lower()] = w["id"]
    references, cited_by, listed = {}, {w["id"]: set() for w in works}, {}
    for w in works:
        usable = [r for r in w["referenced_works"] if r and len(r) <= 300 and "\x00" not in r]
        listed[w["id"]] = min(len(usable), MAX_REFERENCES)
        found = {by_key[r.lower()] for r in usable[:MAX_REFERENCES] if r.lower() in by_key}
        references[w["id"]] = found - {w["id"]}
        for cited in references[w["id"]]:
            cited_by[cited].add(w["id"])
    return references, cited_by, listed


def write(path, works):
    path.write_text("".join(json.dumps(w) + "\n" for w in works))
    return path


def served_lists(engine: SearchEngine, kind: str) -> dict[str, set[str]]:
    """Every paper's list, read page by page through the engine, by OpenAlex URL."""
    lists = {}
    for paper_id, external in engine.store.papers.external_ids().items():
        found, offset = set(), 0
        while True:
            page = engine.citations.listed(paper_id, kind, k=7, offset=offset)
            found |= {f"https://openalex.org/{h.external_id}" for h in page.results}
            offset += 7
            if offset >= page.total:
                break
        assert len(found) == page.total
        lists[f"https://openalex.org/{external}"] = found
    return lists


def test_references_and_citations_equal_those_computed_from_the_input(
    settings, tmp_path, tiny_encoder
):
    works = corpus()
    huge = work(77, [f"https://openalex.org/W{i}" for i in range(1_000_000)])  # a 30 MB line
    summary = index_corpus(settings, [write(tmp_path / "works.jsonl", [*works, huge])],
                           encoder=tiny_encoder)  # fmt: skip
    assert (summary.added, summary.rejected) == (N_WORKS, 1)  # the line is past its bound
    engine = SearchEngine.open(settings, encoder=tiny_encoder)
    references, cited_by, listed = expected_links(works)
    assert served_lists(engine, "references") == references
    assert served_lists(engine, "citations") == cited_by
    for paper_id, external in engine.store.papers.external_ids().items():
        key = f"https://openalex.org/{external}"
        counts = engine.citations.graph.counts(paper_id)
        assert (counts.listed, counts.references, counts.cited_by) == (
            listed[key], len(references[key]), len(cited_by[key]))  # fmt: skip
        answer = engine.citations.listed(paper_id, "references", k=1)
        assert answer.listed == listed[key] and answer.seeds[0].id == paper_id
    hit = engine.citations.listed(engine.resolve_paper("W1001").id, "references", k=50)
    assert all(h.score == len(cited_by[f"https://openalex.org/{h.external_id}"])
               for h in hit.results)  # fmt: skip
    # the list past MAX_REFERENCES (cut) and the unusable ids (dropped), each counted
    assert summary.dropped_fields == {"referenced_works": 2}


def test_a_daily_update_links_up_a_cited_paper_and_unlinks_a_withdrawn_one(
    settings, tmp_path, tiny_encoder
):
    works = corpus()
    index_corpus(settings, [write(tmp_path / "works.jsonl", works)], encoder=tiny_encoder)
    late = work(99, [works[0]["id"]])
    late["doi"] = "https://doi.org/10.5555/work.late"
    summary = run(settings, [write(tmp_path / "day1.jsonl", [late])], snapshot=False,
                  encoder=tiny_encoder)  # fmt: skip
    assert summary.added == 1 and summary.published
    assert summary.graph_derived_from == summary.build_id - 1  # in proportion to the change
    engine = SearchEngine.open(settings, encoder=tiny_encoder)
    new = engine.resolve_paper("W1099")
    citing = engine.citations.listed(new.id, "citations", k=10)
    assert {h.external_id for h in citing.results} == {"W1008", "W1009", "W1010"}
    assert "W1099" in {h.external_id for h in engine.citations.listed(
        engine.resolve_paper("W1000").id, "citations", k=100).results}  # fmt: skip
    gone = dict(works[2], is_retracted=True)  # work 2: cited by 1, cites 1
    summary = run(settings, [write(tmp_path / "day2.jsonl", [gone])], snapshot=False,
                  encoder=tiny_encoder)  # fmt: skip
    assert summary.graph_derived_from == summary.build_id - 1
    engine = SearchEngine.open(settings, encoder=tiny_encoder)
    for paper_id in engine.store.papers.external_ids():
        for kind in ("references", "citations"):
            listed = engine.citations.listed(paper_id, kind, k=100)
            assert "W1002" not in {h.external_id for h in listed.results}
    one = engine.resolve_paper("W1001").id
    assert engine.citations.graph.counts(one).references == len(
        engine.citations.listed(one, "references", k=100).results)  # fmt: skip


def test_the_lists_through_the_api_and_the_cli(settings, tmp_path, tiny_encoder, client_on):
    works = corpus()
    works[1]["cited_by_count"] = None  # its source gives no worldwide count for this one
    index_corpus(settings, [write(tmp_path / "works.jsonl", works)], encoder=tiny_encoder)
    client = client_on(settings)
    answer = client.get("/api/v1/papers/W1001/references?k=2&sort=date").get_json()
    references, _, listed = expected_links(works)
    assert answer["mode"] == "references" and answer["total"] == len(
        references["https://openalex.org/W1001"])  # fmt: skip
    assert answer["listed"] == listed["https://openalex.org/W1001"] and len(answer["results"]) == 2
    years = [h["year"] for h in answer["results"]]
    assert years == sorted(years, reverse=True)
    cited = client.get("/api/v1/papers/10.5555/work.1/citations").get_json()
    assert cited["mode"] == "citations" and cited["notice"] is None  # OpenAlex gives counts
    counts = [h["citations"] for h in cited["results"]]
    assert counts == sorted(counts, reverse=True)
    csv = client.get("/api/v1/papers/W1001/citations?format=csv")
    assert csv.status_code == 200 and csv.headers["Content-Type"].startswith("text/csv")
    assert client.get("/api/v1/papers/W1001/references?sort=relevance").status_code == 422
    assert client.get("/api/v1/papers/nothing/references").status_code == 404
    from click.testing import CliRunner

    from papersearch import main

    out = CliRunner().invoke(main, ["references", "W1001", "--json", *cli_args(settings)])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["total"] == answer["total"]
    out = CliRunner().invoke(main, ["citations", "10.5555/work.1", *cli_args(settings)])
    assert out.exit_code == 0 and f"{cited['total']} in this corpus" in out.output
    out = CliRunner().invoke(main, ["citations", "W1001", "--sort", "date", *cli_args(settings)])
    assert out.exit_code == 0, out.output  # a source without worldwide counts for it too


@pytest.mark.parametrize("kind", ["references", "citations"])
def test_a_build_without_a_graph_says_so(settings, tmp_path, tiny_encoder, kind):
    from search.base.errors import GraphUnavailable

    index_corpus(settings, [write(tmp_path / "works.jsonl", corpus()[:5])], encoder=tiny_encoder)
    engine = SearchEngine.open(settings, encoder=tiny_encoder)
    engine.citations._graph = None  # as a build from before graphs opens
    with pytest.raises(GraphUnavailable, match="re-index"):
        engine.citations.listed(1, kind)


def test_the_paper_page_and_the_list_pages(settings, tmp_path, tiny_encoder, client_on):
    """The paper page lists the first references and citing papers with their counts and
    the references outside the corpus with DOI links; the list pages page and sort."""
    from lxml import html

    works = corpus()
    index_corpus(settings, [write(tmp_path / "works.jsonl", works)], encoder=tiny_encoder)
    client = client_on(settings)
    references, cited_by, listed = expected_links(works)
    key = "https://openalex.org/W1001"
    page = html.fromstring(client.get("/papers/W1001").data)
    summary = page.xpath("string(//section[h2='References']/p[@class='summary'])")
    assert f"{listed[key]} references, {len(references[key])} in this corpus" in summary
    shown = {a.text_content() for a in page.xpath("//section[h2='References']//h2/a")}
    titles = {w["title"] for w in works if w["id"] in references[key]}
    assert shown and shown <= titles
    outside = page.xpath("//details[@class='outside']//a/@href")
    assert "https://doi.org/10.9999/outside.1.0" in outside
    assert f"{len(cited_by[key])} in this corpus" in page.xpath(
        "string(//section[h2='Cited by']/p[@class='summary'])")  # fmt: skip
    cited = max(cited_by, key=lambda k: len(cited_by[k]))
    paper = client.get(f"/api/v1/papers/{cited.rsplit('/', 1)[1]}").get_json()["id"]
    seen = []
    for number in (1, 2):
        listing = html.fromstring(client.get(f"/papers/{paper}/citations?page={number}").data)
        seen += [a.text_content() for a in listing.xpath("//ol[@class='results']//h2/a")]
    assert len(seen) == min(len(cited_by[cited]), 20) and len(set(seen)) == len(seen)
    dated = html.fromstring(client.get(f"/papers/{paper}/citations?sort=date").data)
    assert dated.xpath("//p[@class='summary']/strong/text()") == ["Newest first"]
    assert client.get(f"/papers/{paper}/citations?page=0").status_code == 422


def s2_paper(corpus_id: int, references: list[int] = ()) -> dict:
    rng = random.Random(corpus_id)
    return {
        "corpusid": corpus_id,
        "externalids": {"CorpusId": str(corpus_id), "DOI": f"10.7777/s2.{corpus_id}"},
        "title": " ".join(rng.choice(WORDS) for _ in range(5)) + f" s2 {corpus_id}",
        "abstract": " ".join(rng.choice(WORDS) for _ in range(30)),
        "year": 2010 + corpus_id % 10,
        "citationcount": corpus_id % 17,
        "references": [{"paperId": None, "externalIds": {"CorpusId": str(r)}} for r in references],
    }


def citation_line(citing, cited) -> dict:
    return {"citingcorpusid": None if citing is None else str(citing),
            "citedcorpusid": None if cited is None else str(cited), "isinfluential": False,
            "contexts": None, "intents": None}  # fmt: skip


def test_a_semantic_scholar_corpus_and_its_citations_file(settings, tmp_path, tiny_encoder):
    """Papers from the datasets' papers file (two with the Graph API's references), edges
    from its citations file: detected, applied to the papers stored, and equal to the
    edges computed from the two files; a delta adds edges, a full snapshot of edges
    replaces them and leaves the papers alone."""
    ids = list(range(100, 130))
    papers = [s2_paper(i) for i in ids]
    papers[0] = s2_paper(100, references=[101, 102, 999])
    rng = random.Random(3)
    lines = [citation_line(rng.choice(ids), rng.choice(ids)) for _ in range(120)]
    lines += [
        citation_line(105, 105),
        citation_line(106, None),
        citation_line(None, 107),
        citation_line(108, 5_000_000),
        citation_line(108, 109),
        citation_line(108, 109),
    ]
    write(tmp_path / "papers.jsonl", papers)
    write(tmp_path / "citations.jsonl", lines)
    summary = index_corpus(settings, [tmp_path / "papers.jsonl", tmp_path / "citations.jsonl"],
                           encoder=tiny_encoder)  # fmt: skip
    assert (summary.added, summary.citations_read, summary.citations_unknown) == (30, 126, 2)

    def expected(edges) -> dict[str, set[str]]:
        found = {str(i): set() for i in ids}
        for a, b in edges:
            if str(a) in found and str(b) in found and a != b:
                found[str(a)].add(str(b))
        return found

    edges = [(int(e["citingcorpusid"]), int(e["citedcorpusid"])) for e in lines
             if e["citingcorpusid"] and e["citedcorpusid"]]  # fmt: skip
    edges += [(100, 101), (100, 102)]

    def served(engine) -> dict[str, set[str]]:
        return {external: {h.external_id for h in engine.citations.listed(
                    paper_id, "references", k=100).results}
                for paper_id, external in engine.store.papers.external_ids().items()}  # fmt: skip

    engine = SearchEngine.open(settings, encoder=tiny_encoder)
    assert served(engine) == expected(edges)
    more = [citation_line(110, 111), citation_line(112, 113)]
    write(tmp_path / "more.jsonl", more)
    summary = run(settings, [tmp_path / "more.jsonl"], snapshot=False, encoder=tiny_encoder)
    assert summary.published and summary.citations_read == 2
    engine = SearchEngine.open(settings, encoder=tiny_encoder)
    assert served(engine) == expected(edges + [(110, 111), (112, 113)])
    summary = run(settings, [tmp_path / "more.jsonl"], snapshot=True, encoder=tiny_encoder)
    assert summary.removed == 0 and summary.published  # the papers stay, the edges are these
    engine = SearchEngine.open(settings, encoder=tiny_encoder)
    assert engine.store.papers.count() == 30
    assert served(engine) == expected([(100, 101), (100, 102), (110, 111), (112, 113)])


def test_medline_reference_lists_link_by_pmid(settings, tmp_path, tiny_encoder):
    """PubMed's ReferenceList: a reference by PMID to an article of the corpus is linked,
    one by DOI and PMID to an article outside is kept and counted, one without an id is
    dropped and counted."""
    from tests.test_catalogues import BASELINE, gzipped

    summary = index_corpus(settings, [gzipped(BASELINE, tmp_path / "pubmed25n0001.xml.gz")],
                           encoder=tiny_encoder)  # fmt: skip
    assert summary.dropped_fields.get("ReferenceList") == 1
    engine = SearchEngine.open(settings, encoder=tiny_encoder)
    paper = engine.resolve_paper("31452104")
    found = engine.citations.listed(paper.id, "references")
    assert [h.external_id for h in found.results] == ["28714980"] and found.listed == 2
    count, shown = engine.citations.outside(paper.id)
    assert count == 1 and shown[0].url == "https://doi.org/10.1038/nature14236"
    cited = engine.citations.listed(engine.resolve_paper("28714980").id, "citations")
    assert [h.external_id for h in cited.results] == ["31452104"]


def test_a_folder_of_pdfs_links_the_dois_and_arxiv_ids_of_its_reference_sections(
    settings, tmp_path, tiny_encoder
):
    """A PDF's references are the DOIs and arXiv ids after its References heading: those
    of papers in the folder are linked; one outside is counted; a DOI on the first page
    (the paper's own) is not a reference."""
    from tests.pdfs import build_pdf, paper_pdf

    folder = tmp_path / "papers"
    folder.mkdir()
    for number in (1, 2):
        (folder / f"cited{number}.pdf").write_bytes(paper_pdf(
            f"A cited paper about lattice gauge theory number {number}",
            "We compute things on a lattice and report them carefully. " * 4,
            metadata={"/doi": f"10.4444/cited.{number}"}))  # fmt: skip
    (folder / "stamped.pdf").write_bytes(paper_pdf(
        "A preprint on string dualities with a margin stamp",
        "Dualities relate theories that look different at first sight. " * 4,
        stamp="arXiv:2101.00042v2 [hep-th] 5 Jan 2021"))  # fmt: skip
    citing = build_pdf([[(17.0, "A citing paper on everything above and more"),
                         (10.0, "Abstract"), (9.0, "It cites the others. " * 4)],
                        [(12.0, "References"),
                         (9.0, "[1] A. Author. Lattice. J. Phys. (2020). doi:10.4444/cited.1."),
                         (9.0, "[2] B. Author. Lattice again. https://doi.org/10.4444/cited.2"),
                         (9.0, "[3] C. Author. Strings. arXiv:2101.00042, 2021."),
                         (9.0, "[4] D. Author. Elsewhere. doi:10.4444/not.here")]])  # fmt: skip
    (folder / "citing.pdf").write_bytes(citing)
    summary = index_corpus(settings, [folder], encoder=tiny_encoder)
    assert summary.added == 4
    engine = SearchEngine.open(settings, encoder=tiny_encoder)
    paper = engine.store.papers.get_by_external_id(
        next(e for e in engine.store.papers.external_ids().values() if e.startswith("sha256:"))
    )
    found = engine.citations.listed(paper.id, "references")
    assert {h.external_id for h in found.results} == {"10.4444/cited.1", "10.4444/cited.2",
                                                      "2101.00042"}  # fmt: skip
    assert found.listed == 4 and engine.citations.outside(paper.id)[0] == 1
    cited = engine.resolve_paper("10.4444/cited.1")
    assert engine.citations.graph.counts(cited.id).references == 0  # its own DOI is no reference
    citing = engine.citations.listed(cited.id, "citations")  # PDFs give no citation counts
    assert citing.notice == "Sorted by citations within this corpus (its source gives no counts)."


def test_a_corrupt_graph_is_refused_by_checksum_and_the_previous_build_serves(
    settings, tmp_path, tiny_encoder, caplog
):
    import logging

    from search.engine.provider import EngineProvider
    from search.store import Store

    works = corpus()
    first = index_corpus(settings, [write(tmp_path / "a.jsonl", works[:30])], encoder=tiny_encoder)
    second = run(settings, [write(tmp_path / "b.jsonl", works)], encoder=tiny_encoder)
    store = Store.open(settings)
    directory = store.builds.files(store.builds.get(second.build_id)).graph
    with open(directory / "references.npy", "r+b") as fh:  # one byte of an edge changed
        fh.seek(-1, 2)
        byte = fh.read(1)
        fh.seek(-1, 2)
        fh.write(bytes([byte[0] ^ 0xFF]))
    with caplog.at_level(logging.ERROR, logger="papersearch"):
        engine = EngineProvider(settings, tiny_encoder).get()
    assert engine.build.id == first.build_id  # the corrupt graph is never opened
    assert f"index build {second.build_id}" in caplog.text and "checksum" in caplog.text
    assert engine.citations.listed(engine.resolve_paper("W1001").id, "references").results


def test_connected_papers_say_why_and_a_paper_without_links_still_has_neighbours(
    settings, tmp_path, tiny_encoder, client_on
):
    """Each connected paper's shared references and co-citations equal those counted from
    the input; the list is best first; a paper with no links is connected by text."""
    works = corpus()
    works.append(work(60, []))  # cites nothing, cited by nothing
    index_corpus(settings, [write(tmp_path / "works.jsonl", works)], encoder=tiny_encoder)
    engine = SearchEngine.open(settings, encoder=tiny_encoder)
    references, cited_by, _ = expected_links(works)
    for number in (1, 2, 17):
        key = f"https://openalex.org/W{1000 + number}"
        found = engine.citations.connected(engine.resolve_paper(f"W{1000 + number}").id, k=100)
        scores = [h.score for h in found.results]
        assert scores == sorted(scores, reverse=True) and found.results
        for hit in found.results:
            other = f"https://openalex.org/{hit.external_id}"
            shared = len(references[key] & references[other])
            together = sum(1 for c in cited_by[key] if other in references[c])
            assert (hit.connection.shared_references, hit.connection.cited_together) == (
                shared, together), hit.external_id  # fmt: skip
        linked = {o for o in references if o != key and (references[key] & references[o] or any(
            o in references[c] for c in cited_by[key]))}  # fmt: skip
        assert linked <= {f"https://openalex.org/{h.external_id}" for h in found.results}
    lonely = engine.citations.connected(engine.resolve_paper("W1060").id, k=5)
    assert len(lonely.results) == 5 and all(h.connection.similar_text for h in lonely.results)
    assert all(h.connection.shared_references == h.connection.cited_together == 0
               for h in lonely.results)  # fmt: skip
    client = client_on(settings)
    answer = client.get("/api/v1/papers/W1001/connected?k=3").get_json()
    assert answer["mode"] == "connected" and len(answer["results"]) == 3
    assert set(answer["results"][0]["connection"]) == {"shared_references", "cited_together",
                                                       "similar_text"}  # fmt: skip
    assert "connection" not in client.get("/api/v1/papers/W1001/similar?k=1").get_json()[
        "results"][0]  # fmt: skip
    page = client.get("/papers/W1001").get_data(as_text=True)
    assert "Connected papers" in page and "shared reference" in page


def test_connected_papers_cap_the_work_for_a_paper_cited_very_often(
    settings, tmp_path, tiny_encoder, monkeypatch
):
    """Past MAX_LINKED citers a paper's citers are sampled, and a citer listing more than
    MAX_FANOUT references is left out; the answer says so."""
    from search.engine import connected

    works = corpus()
    index_corpus(settings, [write(tmp_path / "works.jsonl", works)], encoder=tiny_encoder)
    engine = SearchEngine.open(settings, encoder=tiny_encoder)
    monkeypatch.setattr(connected, "MAX_LINKED", 2)
    monkeypatch.setattr(connected, "MAX_FANOUT", 3)
    _, cited_by, _ = expected_links(works)
    busiest = max(cited_by, key=lambda k: len(cited_by[k]))
    found = engine.citations.connected(engine.resolve_paper(busiest.rsplit("/", 1)[1]).id)
    assert found.notice and "were left out" in found.notice
    assert all(h.connection.cited_together <= 2 for h in found.results)


def test_link_recovery_hides_references_and_eval_reports_it(settings, tmp_path, tiny_encoder):
    """The graph without the hidden edges lacks them both ways and keeps every other; the
    measurement counts ranks right; ``papersearch eval --links`` prints it."""
    from click.testing import CliRunner

    from papersearch import main
    from search.engine.link_recovery import Recovery, measure

    works = corpus()
    index_corpus(settings, [write(tmp_path / "works.jsonl", works)], encoder=tiny_encoder)
    engine = SearchEngine.open(settings, encoder=tiny_encoder)
    graph = engine.citations.graph
    one, two = engine.resolve_paper("W1001").id, engine.resolve_paper("W1002").id
    without = graph.without(np.array([one]), np.array([two]))
    assert two in graph.linked(one, "references") and two not in without.linked(one, "references")
    assert one not in without.linked(two, "cited_by") and without.edges == graph.edges - 1
    for paper in graph.papers.tolist():
        if paper != one:
            assert list(without.linked(paper, "references")) == list(
                graph.linked(paper, "references")
            )
    assert Recovery.of([1, 5, 50, None]) == Recovery(0.5, 0.75, round((1 + 0.2 + 0.02) / 4, 4))
    found = measure(engine, papers=15)
    assert found.papers == 15 and 0 <= found.similar.mrr <= found.similar.hits_100 <= 1
    out = CliRunner().invoke(main, ["eval", "--links", "15", "--json", *cli_args(settings)])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["links"] == found.to_dict()  # the same fixed sample
    out = CliRunner().invoke(main, ["eval", "--links", "15", *cli_args(settings)])
    assert "one reference hidden from each of 15 papers" in out.output


def test_library_recommendations_follow_the_librarys_citations(settings, tmp_path, tiny_encoder):
    """The papers linked to at least two of a library's papers rank with the nearest ones,
    each saying how many of the library's papers it is linked to."""
    from search.engine.library_links import MIN_LINKS

    works = corpus()
    index_corpus(settings, [write(tmp_path / "works.jsonl", works)], encoder=tiny_encoder)
    engine = SearchEngine.open(settings, encoder=tiny_encoder)
    references, cited_by, _ = expected_links(works)
    library = [works[n] for n in (11, 12, 13, 14, 15, 16)]
    bibtex = "\n".join(f"@article{{w{n},\n  title = {{{w['title']}}},\n  doi = "
                       f"{{{w['doi'].removeprefix('https://doi.org/')}}}\n}}"
                       for n, w in enumerate(library))  # fmt: skip
    mine = {w["id"] for w in library}
    linked = {}
    for other in references:
        if other not in mine:
            n = len(references[other] & mine) + len(cited_by[other] & mine)
            if n >= MIN_LINKS:
                linked[other] = n
    assert linked  # the corpus is dense enough for the test to mean something
    result = engine.recommendations.from_bibtex(bibtex, k=100)
    assert result.library.matched == 6
    by_id = {f"https://openalex.org/{h.external_id}": h for h in result.results}
    assert mine.isdisjoint(by_id)
    for key, n in linked.items():
        assert by_id[key].connection.library_links == n
    top = max(linked, key=linked.get)
    ranks = [f"https://openalex.org/{h.external_id}" for h in result.results]
    assert ranks.index(top) < 10  # the most linked is on the first page


def test_a_corpus_without_citations_shows_no_empty_citation_sections(
    settings, tmp_path, tiny_encoder, client_on
):
    """The arXiv listing says nothing of citations: its paper pages show similar papers,
    not empty references, citers and a connected list that would repeat them."""
    from tests.helpers import sample_lines, write_lines

    index_corpus(settings, [write_lines(tmp_path / "a.jsonl", sample_lines(40))],
                 encoder=tiny_encoder)  # fmt: skip
    page = client_on(settings).get("/papers/1").get_data(as_text=True)
    assert "Similar papers" in page
    assert "References" not in page and "Connected papers" not in page
