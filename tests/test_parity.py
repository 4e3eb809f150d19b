"""SQLite and PostgreSQL hold the same corpus and agree: the same filters select the same
papers, withdrawal and restore do the same, and bad input is refused the same way."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from indexer.pipeline import index_corpus, run
from search.base.errors import PapersearchError
from search.engine.engine import SearchEngine
from search.query.filters import Filters
from search.query.keywords import parse_keywords
from tests.corpus import corpus_rows, filter_strategy
from tests.helpers import settings_on, write_lines

SHARD_COUNTS = (1, 3)  # the engines here are built in one shard and in three


@pytest.fixture(scope="module")
def engines(tmp_path_factory, tiny_encoder, postgres, shards):
    """The same 800 papers indexed on each store."""
    if postgres is None:
        pytest.skip("no PostgreSQL server here (bash .ci/run starts one)")
    root = tmp_path_factory.mktemp("parity")
    corpus = write_lines(root / "corpus.jsonl", [json.dumps(row) for row in corpus_rows()])
    engines = {}
    for backend in ("sqlite", "postgresql"):
        settings = settings_on(backend, root / backend, postgres, f"parity{shards}",
                               shards=shards)  # fmt: skip
        index_corpus(settings, [corpus], encoder=tiny_encoder)
        engines[backend] = SearchEngine.open(settings, encoder=tiny_encoder)
    return engines


def external_ids(engine, ids) -> set[str]:
    return {p.external_id for p in engine.store.papers.get_many(ids).values()}


def test_the_same_filters_select_the_same_papers(engines):
    sqlite, postgres = engines["sqlite"], engines["postgresql"]
    papers = list(sqlite.store.papers.get_many(range(1, 801)).values())

    @hypothesis_settings(max_examples=80, deadline=None, database=None,
                         suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(filters=filter_strategy(papers))
    def check(filters):
        left = sqlite.store.papers.matching_ids(filters).tolist()
        right = postgres.store.papers.matching_ids(filters).tolist()
        assert external_ids(sqlite, left) == external_ids(postgres, right)

    check()
    for author in ("Hao Chen", "H. Chen", "Chen, Hao", "chen", "Guohao"):
        filters = Filters.parse(author=author)
        assert external_ids(sqlite, sqlite.store.papers.matching_ids(filters).tolist()) == (
            external_ids(postgres, postgres.store.papers.matching_ids(filters).tolist())
        )


def test_every_mode_ranks_the_same_on_both_stores(engines):
    """The same vectors make the same FAISS index and the same papers the same keyword
    index, whichever database stores them: every mode answers identically, scores too."""
    for query in ("graph neural networks", "protein structure", "image segmentation"):
        for mode in ("semantic", "keyword", "hybrid"):
            answers = [engines[b].search(query, k=50, mode=mode, filters=Filters.parse(
                year="2005-")) for b in ("sqlite", "postgresql")]  # fmt: skip
            assert [(h.external_id, h.score) for h in answers[0].results] == [
                (h.external_id, h.score) for h in answers[1].results
            ]
            assert (answers[0].total, answers[0].matches) == (answers[1].total,
                                                              answers[1].matches)  # fmt: skip
        phrases = (tuple(query.split()),)
        containing = [engines[b].keywords.containing(phrases)
                      for b in ("sqlite", "postgresql")]  # fmt: skip
        assert len(containing[0]) == len(containing[1])
        k = min(len(containing[0]), 100) or 10  # every paper with the phrase, if any
        phrase = [engines[b].search(f'"{query}"', k=k, mode="keyword")
                  for b in ("sqlite", "postgresql")]  # fmt: skip
        if not len(containing[0]):  # none: both say so, and search without the quotes
            assert all(p.notice.startswith("No papers contain") for p in phrase)
            continue
        assert phrase[0].notice is None and phrase[1].notice is None
        assert {h.external_id for h in phrase[0].results} == {
            h.external_id for h in phrase[1].results
        }


@pytest.mark.parametrize(
    "call",
    [
        lambda e: e.search("", k=10),
        lambda e: e.search("x" * 2001),
        lambda e: e.search("graph", k=0),
        lambda e: e.search("graph", offset=5000),
        lambda e: e.search("graph", mode="fuzzy"),
        lambda e: e.search('"" ""', mode="keyword"),
        lambda e: e.search("graph", filters=Filters.parse(year="2021-2019")),
        lambda e: e.search("graph", filters=Filters.parse(author=";".join(map(str, range(21))))),
        lambda e: e.similar(10**12),
        lambda e: e.resolve_paper("no-such-paper"),
        lambda e: e.recommendations.recommend([]),
        lambda e: e.recommendations.recommend([1], [1]),
        lambda e: e.search_by_example(" "),
    ],
)
def test_both_stores_refuse_bad_input_with_the_same_error(engines, call):
    errors = []
    for backend in ("sqlite", "postgresql"):
        with pytest.raises(PapersearchError) as caught:
            call(engines[backend])
        errors.append(
            (type(caught.value), caught.value.code, caught.value.status, str(caught.value))
        )
    assert errors[0] == errors[1]


def test_withdrawal_and_restore_behave_the_same(tmp_path, tiny_encoder, postgres):
    if postgres is None:
        pytest.skip("no PostgreSQL server here (bash .ci/run starts one)")
    rows = corpus_rows(200)
    outcomes = {}
    for backend in ("sqlite", "postgresql"):
        settings = settings_on(backend, tmp_path / backend, postgres, "parity_withdrawal")
        write = lambda name, rs: write_lines(tmp_path / name, [json.dumps(r) for r in rs])  # noqa: E731
        index_corpus(settings, [write("a.jsonl", rows)], encoder=tiny_encoder)
        gone = run(settings, [write("b.jsonl", rows[10:])], snapshot=True, encoder=tiny_encoder)
        engine = SearchEngine.open(settings, encoder=tiny_encoder)
        title = f'"{rows[0]["title"]}"'  # a phrase: both stores find exactly its paper
        phrases = parse_keywords(title).phrases
        containing = engine.keywords.containing(phrases)
        after_withdrawal = (gone.removed, engine.store.papers.count(), len(containing))
        back = run(settings, [write("c.jsonl", rows)], snapshot=True, encoder=tiny_encoder)
        engine = SearchEngine.open(settings, encoder=tiny_encoder)
        restored = engine.store.papers.get_by_external_id(rows[0]["id"])
        found = engine.search(title, k=1, mode="keyword").results
        outcomes[backend] = (after_withdrawal, back.added, back.updated, restored.id,
                             engine.store.papers.count(), [h.id for h in found])  # fmt: skip
    assert outcomes["sqlite"] == outcomes["postgresql"]
    assert outcomes["sqlite"] == ((10, 190, 0), 0, 10, 1, 200, [1])
