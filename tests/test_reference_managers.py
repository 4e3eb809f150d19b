"""What Zotero's connector and Google Scholar read from the pages: Highwire Press
``citation_*`` meta tags on a paper's page and COinS on result lists, parsed back with a
real HTML parser (lxml)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import lxml.html
import pytest

from tests.helpers import sample_lines, settings_on, write_lines

HOSTILE = '"><script>alert(1)</script> Robust & <b>bold</b>'


@pytest.fixture(scope="module")
def app_settings(tmp_path_factory, tiny_encoder, module_backend, postgres):
    """Sample arXiv papers, the first published in a journal with a DOI, one hostile."""
    from indexer.pipeline import index_corpus

    rows = [json.loads(line) for line in sample_lines(60)]
    rows[0].update(journal_ref="Journal of Face Landmarks 12, 3 (2023)", doi="10.1234/jfl.7")
    rows[1].update(title=HOSTILE, authors=['Eve "Quote" <i>Hacker</i>'])
    root = tmp_path_factory.mktemp("zotero")
    corpus = write_lines(root / "corpus.jsonl", [json.dumps(row) for row in rows])
    settings = settings_on(module_backend, root / "data", postgres, "zotero")
    index_corpus(settings, [corpus], encoder=tiny_encoder)
    return settings


def meta_tags(page: bytes) -> list[tuple[str, str]]:
    tree = lxml.html.fromstring(page)
    return [(m.get("name"), m.get("content")) for m in tree.xpath("//head/meta")
            if (m.get("name") or "").startswith("citation_")]  # fmt: skip


def test_a_paper_page_carries_the_highwire_tags(client):
    api = client.get("/api/v1/papers/2212.09525").get_json()
    tags = meta_tags(client.get(f"/papers/{api['id']}").data)
    named = dict(tags)
    assert named["citation_title"] == api["title"]
    assert [v for k, v in tags if k == "citation_author"] == api["authors"]
    assert named["citation_journal_title"] == api["venue"] and api["venue"]
    assert named["citation_doi"] == "10.1234/jfl.7"
    assert named["citation_arxiv_id"] == "2212.09525"
    assert named["citation_pdf_url"] == "https://arxiv.org/pdf/2212.09525"
    assert named["citation_publication_date"].startswith(str(api["year"]))
    assert named["citation_abstract"] == " ".join(api["abstract"].split())


def test_hostile_text_stays_inside_the_tags(client):
    found = client.get("/api/v1/search?q=robust+bold&mode=keyword").get_json()["results"]
    hostile = next(hit for hit in found if hit["title"] == HOSTILE)
    page = client.get(f"/papers/{hostile['id']}").data
    assert dict(meta_tags(page))["citation_title"] == HOSTILE
    assert dict(meta_tags(page))["citation_author"] == 'Eve "Quote" <i>Hacker</i>'
    scripts = lxml.html.fromstring(page).xpath("//script")
    assert [script.get("src") for script in scripts] == ["/static/app.js"]  # only the site's


def test_result_pages_carry_coins_for_every_result(client):
    api = client.get("/api/v1/search?q=face+landmarks&k=10").get_json()["results"]
    tree = lxml.html.fromstring(client.get("/?q=face+landmarks").data)
    spans = tree.xpath('//li[@class="result"]/span[@class="Z3988"]')
    assert len(spans) == len(api) == 10
    for span, hit in zip(spans, api, strict=True):
        fields = parse_qs(span.get("title"))
        assert fields["ctx_ver"] == ["Z39.88-2004"]
        assert fields["rft.atitle"] == [" ".join(hit["title"].split())]
        assert fields.get("rft.au", []) == hit["authors"]
        assert fields["rft.genre"] == ["article" if hit["venue"] else "preprint"]
        assert hit["url"] in fields["rft_id"]
