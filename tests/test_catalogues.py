"""The open catalogues: OpenAlex works and PubMed/MEDLINE XML, from small real-format
fixtures (tests/data): every field, the withdrawals, a daily update applied to
yesterday's build, and a parser that expands no entity and fetches nothing."""

from __future__ import annotations

import gzip
import shutil

import pytest

from indexer.pipeline import index_corpus, run
from indexer.readers import Reject, Withdrawal, detect_format, read_corpus
from search.engine.engine import SearchEngine
from search.store import Store
from tests.helpers import REPO

DATA = REPO / "tests" / "data"
BASELINE, UPDATE = DATA / "pubmed" / "baseline.xml", DATA / "pubmed" / "update.xml"
WORKS = DATA / "openalex" / "works.jsonl"


def gzipped(source, target):
    with source.open("rb") as raw, gzip.open(target, "wb") as packed:
        shutil.copyfileobj(raw, packed)
    return target


def by_id(path) -> dict:
    return {getattr(item, "external_id", f"line {line}"): item for line, item in read_corpus(path)}


def test_openalex_works_are_read_with_every_field(tmp_path):
    works = gzipped(WORKS, tmp_path / "part_000.gz")  # the snapshot's file names
    assert detect_format(works) == "openalex"
    items = by_id(works)
    oa = items["W2741809807"]
    assert oa.title.startswith("The state of OA") and oa.doi == "10.7717/peerj.4375"
    assert oa.abstract.startswith("Despite growing interest in Open Access (OA) to scholarly")
    assert oa.abstract.endswith("determines OA status for 67 million articles.")
    assert oa.authors == ("Heather Piwowar", "Jason Priem", "Stefanie Haustein")
    assert (oa.year, oa.date, oa.venue, oa.citations) == (2018, "2018-02-13", "PeerJ", 1147)
    assert oa.categories == ("Scientific Publishing and Open Access",
                             "Bibliometric Analysis and Research Evaluation")  # fmt: skip
    assert oa.url == "https://doi.org/10.7717/peerj.4375"
    deep = items["W2100837269"]
    assert deep.categories == ("Deep learning", "Computer science")  # concepts, weak ones left
    assert deep.citations == 63000 and deep.venue == "Nature"
    bare = items["W3000000001"]
    assert bare.abstract is None and bare.year == 2021 and bare.citations == 0
    assert bare.url == "https://openalex.org/W3000000001"
    assert items["W3000000002"] == Withdrawal("W3000000002", "retracted")
    bad = items["W3000000003"]  # kept, its bad optional fields dropped and noted
    assert (bad.year, bad.doi, bad.citations, bad.authors) == (None, None, None, ())
    assert {w.split(" dropped")[0] for w in bad.warnings} == {
        "abstract_inverted_index",
        "authorships",
        "publication_year",
        "doi",
        "cited_by_count",
    }


def test_medline_articles_are_read_with_every_field():
    assert detect_format(BASELINE) == "pubmed"
    items = by_id(BASELINE)
    star = items["31452104"]
    assert star.title == ("Grandmaster level in StarCraft II using multi-agent reinforcement "
                          "learning.")  # fmt: skip
    assert star.authors == ("Oriol Vinyals", "Igor Babuschkin")  # ValidYN="N" left out
    assert (star.year, star.date, star.venue) == (2019, "2019-10-30", "Nature")
    assert star.doi == "10.1038/s41586-019-1724-z"
    assert star.categories == ("Artificial Intelligence", "Reinforcement, Psychology",
                               "Video Games")  # fmt: skip
    assert star.url == "https://pubmed.ncbi.nlm.nih.gov/31452104/"
    trial = items["28714980"]
    assert trial.title == "Effect of Helicobacter pylori eradication on gastric cancer."
    assert trial.abstract == (
        "BACKGROUND: Eradication of H. pylori may prevent gastric cancer. "
        "METHODS: We randomly assigned 470 patients to receive treatment or placebo. "
        "RESULTS: Metachronous gastric cancer developed in 14 patients (7.2%) in the "
        "treatment group. CONCLUSIONS: Treatment resulted in lower rates of gastric cancer."
    )
    assert trial.authors == ("Il Ju Choi", "HP Eradication Study Group")
    assert (trial.year, trial.date, trial.doi) == (2017, None, None)  # "2017 Jul-Aug"
    assert "&" in items["30000001"].abstract
    assert items["line 111"] == Reject("missing ArticleTitle and Abstract", "PMID 30000003")


def test_a_daily_pubmed_update_adds_revises_and_withdraws(settings, tmp_path, tiny_encoder):
    summary = index_corpus(settings, [gzipped(BASELINE, tmp_path / "pubmed25n0001.xml.gz")],
                           encoder=tiny_encoder)  # fmt: skip
    assert (summary.added, summary.rejected) == (4, 1)
    update = gzipped(UPDATE, tmp_path / "pubmed25n1300.xml.gz")
    summary = run(settings, [update], snapshot=False, encoder=tiny_encoder)  # a delta
    assert (summary.added, summary.updated, summary.removed) == (1, 1, 1)
    assert summary.published
    store = Store.open(settings)
    served = store.papers.external_ids()
    assert set(served.values()) == {"31452104", "28714980", "30000001", "30000004"}
    revised = store.papers.get_by_external_id("30000001")
    assert revised.title.endswith("(revised).") and revised.doi == "10.1371/journal.pcbi.1008000"
    assert revised.authors == ["Andrew W Senior"] and revised.categories == ["Protein Folding"]
    engine = SearchEngine.open(settings, encoder=tiny_encoder)
    assert engine.store.papers.count() == 4
    found = engine.search("citation that the update file deletes", mode="keyword")
    assert "30000002" not in {hit.external_id for hit in found.results}
    assert engine.search("single-cell atlases human brain", mode="keyword").results[0] \
        .external_id == "30000004"  # fmt: skip


def test_retracted_openalex_works_leave_search(settings, tmp_path, tiny_encoder):
    lines = WORKS.read_text().splitlines()
    import json

    first = [json.loads(line) for line in lines]
    first[1]["is_retracted"] = False
    (tmp_path / "a.jsonl").write_text("\n".join(json.dumps(w) for w in first) + "\n")
    summary = index_corpus(settings, [tmp_path / "a.jsonl"], encoder=tiny_encoder)
    assert summary.added == 4  # the retracted one is not stored
    first[1]["is_retracted"] = True  # "Deep learning" is retracted later
    (tmp_path / "b.jsonl").write_text(json.dumps(first[1]) + "\n")
    summary = run(settings, [tmp_path / "b.jsonl"], snapshot=False, encoder=tiny_encoder)
    assert summary.removed == 1
    store = Store.open(settings)
    assert "W2100837269" not in set(store.papers.external_ids().values())
    assert store.papers.get_by_external_id("W2741809807").citations == 1147


@pytest.mark.parametrize("payload", [
    # billion laughs: entities that would expand to gigabytes
    '<!DOCTYPE PubmedArticleSet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;'
    '&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;'
    '&c;&c;&c;&c;">]>',
    # an external entity: a file of this machine
    '<!DOCTYPE PubmedArticleSet [<!ENTITY d SYSTEM "file:///etc/passwd">]>',
])  # fmt: skip
def test_the_xml_parser_expands_no_entity_and_reads_no_file(tmp_path, payload):
    article = ("<PubmedArticle><MedlineCitation><PMID>1</PMID><Article><Journal><Title>J"
               "</Title></Journal><ArticleTitle>Title &d;</ArticleTitle></Article>"
               "</MedlineCitation></PubmedArticle>")  # fmt: skip
    path = tmp_path / "hostile.xml"
    path.write_text(f'<?xml version="1.0"?>\n{payload}\n<PubmedArticleSet>{article}'
                    "</PubmedArticleSet>")  # fmt: skip
    items = [item for _, item in read_corpus(path, "pubmed")]
    assert len(items) == 1
    title = getattr(items[0], "title", "")
    assert "root:" not in title and "aaaa" not in title


def test_a_truncated_pubmed_file_keeps_what_was_read(tmp_path):
    text = BASELINE.read_text()
    cut = tmp_path / "cut.xml"
    cut.write_text(text[: text.index('<PMID Version="1">30000001')])
    items = [item for _, item in read_corpus(cut, "pubmed")]
    assert [getattr(i, "external_id", None) for i in items[:2]] == ["31452104", "28714980"]
    assert isinstance(items[-1], Reject) and items[-1].truncated
