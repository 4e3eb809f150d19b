"""sort=citations: the same matches most cited first, where the corpus has counts (an S2
corpus here), in the API, the pages, the CLI and the feeds; hidden where it has none."""

from __future__ import annotations

import json
import re

import pytest

from tests.helpers import sample_lines, write_lines

SHARD_COUNTS = (1, 3)  # the engines here are built in one shard and in three

N = 120


def s2_rows() -> list[dict]:
    """The sample papers in Semantic Scholar's layout; every seventh has no count."""
    rows = []
    for i, line in enumerate(sample_lines(N)):
        paper = json.loads(line)
        row = {"corpusId": 1000 + i, "title": paper["title"], "abstract": paper.get("abstract"),
               "authors": [{"name": "Ada Lovelace"}], "year": 2000 + i % 20}  # fmt: skip
        if i % 7:
            row["citationCount"] = (i * 37) % 101  # ties included
        rows.append(row)
    return rows


@pytest.fixture(scope="module")
def cited(tmp_path_factory, tiny_encoder, module_backend, postgres, shards):
    """Settings of a data directory holding the S2 corpus, indexed once a module."""
    from indexer.pipeline import index_corpus
    from tests.helpers import settings_on

    home = tmp_path_factory.mktemp("cited")
    settings = settings_on(module_backend, home / "data", postgres, f"cited{shards}",
                           shards=shards)  # fmt: skip
    corpus = write_lines(home / "s2.jsonl", [json.dumps(row) for row in s2_rows()])
    index_corpus(settings, [corpus], encoder=tiny_encoder)
    return settings


@pytest.fixture(scope="module")
def counts(cited) -> dict[str, int | None]:
    return {str(1000 + i): row.get("citationCount") for i, row in enumerate(s2_rows())}


def most_cited_first(values: list[int | None]) -> bool:
    keys = [-1 if value is None else value for value in values]
    return keys == sorted(keys, reverse=True)


@pytest.mark.parametrize("mode", ["semantic", "keyword", "hybrid"])
def test_sort_by_citations_orders_the_same_matches_by_count(cited, counts, tiny_encoder, mode):
    from search.engine.engine import SearchEngine

    engine = SearchEngine.open(cited, encoder=tiny_encoder)
    query = "neural networks"
    ranked = engine.search(query, k=100, mode=mode)
    cited_first = engine.search(query, k=100, mode=mode, sort="citations")
    assert cited_first.sort == "citations"
    ids = [hit.external_id for hit in cited_first.results]
    assert sorted(ids) == sorted(hit.external_id for hit in ranked.results)  # the same matches
    assert [hit.citations for hit in cited_first.results] == [counts[i] for i in ids]
    assert most_cited_first([hit.citations for hit in cited_first.results])
    assert cited_first.results[0].citations == max(c for c in map(counts.get, ids) if c)
    # ties keep their relevance order
    position = {hit.external_id: rank for rank, hit in enumerate(ranked.results)}
    for a, b in zip(cited_first.results, cited_first.results[1:], strict=False):
        if a.citations == b.citations:
            assert position[a.external_id] < position[b.external_id]
    page2 = engine.search(query, k=10, offset=10, mode=mode, sort="citations")
    assert [hit.external_id for hit in page2.results] == ids[10:20]


def test_citations_are_offered_shown_and_sorted_on_every_surface(
    cited, client_on, counts, tiny_model_dirs
):
    from click.testing import CliRunner

    from papersearch import main
    from tests.helpers import cli_args

    client = client_on(cited)
    page = client.get("/?q=neural+networks").get_data(as_text=True)
    assert '<option value="citations"' in page and "Most cited first" in page
    assert "cited by " in page
    page = client.get("/?q=neural+networks&sort=citations").get_data(as_text=True)
    assert "most cited first" in page
    api = client.get("/api/v1/search?q=neural+networks&k=20&sort=citations").get_json()
    values = [hit["citations"] for hit in api["results"]]
    assert api["sort"] == "citations" and most_cited_first(values) and values[0] is not None
    health = client.get("/api/v1/health").get_json()
    assert health["corpus"]["with_citations"] == sum(c is not None for c in counts.values())
    feed = client.get("/feeds/search.atom?q=neural+networks&sort=citations")
    assert feed.status_code == 200 and b"sort=citations" in feed.data  # links to its page
    plain = client.get("/feeds/search.atom?q=neural+networks").get_data(as_text=True)
    assert "sort=" not in plain  # a feed subscribed to before sorts keeps its id
    out = CliRunner().invoke(main, ["search", "neural networks", "-k", "5", "--sort",
                                    "citations", "--json", *cli_args(cited)])  # fmt: skip
    assert out.exit_code == 0, out.output
    assert most_cited_first([hit["citations"] for hit in json.loads(out.output)["results"]])
    text = CliRunner().invoke(main, ["search", "neural networks", "-k", "5", "--sort",
                                     "citations", *cli_args(cited)])  # fmt: skip
    shown = [int(n.replace(",", "")) for n in re.findall(r"cited by ([\d,]+)", text.output)]
    assert shown and most_cited_first(shown)  # the counts the order is by, shown
